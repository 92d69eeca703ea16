#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SPINS 4000 /* polls before a worker sleeps (a job comes every few microseconds while decoding) */

struct pool {
    uint32_t n;
    atomic_uint gen;  /* bumped once per job */
    atomic_uint done; /* workers (other than the caller) finished with the current job */
    slm_job_fn job;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t sleepers;
};

typedef struct {
    pool *p;
    uint32_t index;
} worker_arg;

static void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker(void *a)
{
    worker_arg *w = a;
    pool *p = w->p;
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && spins++ < SPINS)
            relax();
        if (atomic_load_explicit(&p->gen, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->mu);
            p->sleepers++;
            while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen)
                pthread_cond_wait(&p->cv, &p->mu);
            p->sleepers--;
            pthread_mutex_unlock(&p->mu);
        }
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        p->job(p->arg, w->index, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
    return NULL;
}

pool *pool_start(uint32_t n)
{
    pool *p = calloc(1, sizeof *p);
    worker_arg *args = calloc(n, sizeof *args);
    if (!p || !args)
        return NULL;
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (uint32_t i = 1; i < n; i++) {
        pthread_t t;
        args[i] = (worker_arg){p, i};
        if (pthread_create(&t, NULL, worker, &args[i]) != 0)
            return NULL;
        pthread_detach(t);
    }
    return p;
}

void pool_fork(void *pv, slm_job_fn job, void *arg)
{
    pool *p = pv;
    p->job = job;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_mutex_lock(&p->mu);
    if (p->sleepers)
        pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    job(arg, 0, p->n);
    for (int spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) != p->n - 1;)
        if (++spins > SPINS)
            sched_yield();
        else
            relax();
}
