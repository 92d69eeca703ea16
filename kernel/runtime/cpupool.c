#include "cpupool.h"

#include "../include/platform.h"

#define CPUPOOL_CLOSED 0x80000000u
#define SPIN_US        20000 /* how long a worker polls for the next job before it sleeps */

#define LOAD(x)      __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ADD(x, v, o) __atomic_fetch_add(&(x), (v), o)

static uint32_t join(cpupool *p)
{
    uint32_t s = LOAD(p->state);
    while (!(s & CPUPOOL_CLOSED))
        if (__atomic_compare_exchange_n(&p->state, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return s + 1;
    return 0;
}

void cpupool_serve(cpupool *p)
{
    uint32_t index = join(p);
    if (!index)
        for (;;) /* too late: the count is fixed */
            cpupool_arch_sleep();
    uint32_t seen = 0; /* gen before the first fork, which comes after cpupool_close */
    for (;;) {
        uint32_t g;
        for (uint64_t since = plat_time_us(); (g = LOAD(p->gen)) == seen;) {
            if (plat_time_us() - since < SPIN_US)
                continue;
            /* Announce the sleep before the last look, so a fork either is seen here or sees
             * the sleeper and wakes it (both sides sequentially consistent). */
            ADD(p->sleepers, 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&p->gen, __ATOMIC_SEQ_CST) == seen)
                cpupool_arch_sleep();
            ADD(p->sleepers, -1, __ATOMIC_SEQ_CST);
            since = plat_time_us();
        }
        seen = g;
        p->job(p->arg, index, p->n);
        ADD(p->done, 1, __ATOMIC_RELEASE);
    }
}

uint32_t cpupool_close(cpupool *p, uint32_t expect, uint64_t wait_us)
{
    uint64_t start = plat_time_us();
    while ((LOAD(p->state) & ~CPUPOOL_CLOSED) < expect && plat_time_us() - start < wait_us)
        ;
    uint32_t joined = __atomic_fetch_or(&p->state, CPUPOOL_CLOSED, __ATOMIC_ACQ_REL) & ~CPUPOOL_CLOSED;
    p->n = 1 + joined;
    return p->n;
}

void cpupool_fork(void *pool, slm_job_fn job, void *arg)
{
    cpupool *p = pool;
    uint32_t others = p->n - 1;
    p->job = job;
    p->arg = arg;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    ADD(p->gen, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST))
        cpupool_arch_wake();
    job(arg, 0, p->n);
    while (LOAD(p->done) != others)
        ;
}
