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

/* Run the unclaimed shares of generation `gen` (job and arg read for it). A share is claimed
 * only while `next` still names this generation, so a CPU that read an older job's function
 * claims nothing of a newer one. */
static void run_shares(cpupool *p, uint32_t gen, slm_job_fn job, void *arg)
{
    uint64_t cur = LOAD(p->next);
    while ((uint32_t)(cur >> 32) == gen && (uint32_t)cur < p->shares) {
        if (!__atomic_compare_exchange_n(&p->next, &cur, cur + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        job(arg, (uint32_t)cur, p->shares);
        ADD(p->done, 1, __ATOMIC_RELEASE);
        cur = LOAD(p->next);
    }
}

void cpupool_serve(cpupool *p)
{
    if (!join(p))
        for (;;) /* too late: the count is fixed */
            cpupool_arch_sleep();
    uint32_t seen = 0; /* the generation before the first fork, which comes after cpupool_close */
    for (;;) {
        uint32_t g;
        for (uint64_t since = plat_time_us(); (g = (uint32_t)(LOAD(p->next) >> 32)) == seen;) {
            if (plat_time_us() - since < SPIN_US)
                continue;
            /* Announce the sleep before the last look, so a fork either is seen here or sees
             * the sleeper and wakes it (both sides sequentially consistent). */
            ADD(p->sleepers, 1, __ATOMIC_SEQ_CST);
            if ((uint32_t)(__atomic_load_n(&p->next, __ATOMIC_SEQ_CST) >> 32) == seen)
                cpupool_arch_sleep();
            ADD(p->sleepers, -1, __ATOMIC_SEQ_CST);
            since = plat_time_us();
        }
        seen = g;
        run_shares(p, g, p->job, p->arg);
    }
}

uint32_t cpupool_close(cpupool *p, uint32_t expect, uint64_t wait_us)
{
    uint64_t start = plat_time_us();
    while ((LOAD(p->state) & ~CPUPOOL_CLOSED) < expect && plat_time_us() - start < wait_us)
        ;
    uint32_t cpus = 1 + (__atomic_fetch_or(&p->state, CPUPOOL_CLOSED, __ATOMIC_ACQ_REL) & ~CPUPOOL_CLOSED);
    p->shares = CPUPOOL_SHARES * cpus;
    if (cpus > 1)
        slm_set_default_workers(p->shares, cpupool_fork, p);
    return cpus;
}

void cpupool_fork(void *pool, slm_job_fn job, void *arg)
{
    cpupool *p = pool;
    /* Every share of the last job is done, so no CPU reads job and arg until `next` moves on. */
    uint32_t gen = (uint32_t)(p->next >> 32) + 1;
    p->job = job;
    p->arg = arg;
    __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->next, (uint64_t)gen << 32, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST))
        cpupool_arch_wake();
    run_shares(p, gen, job, arg);
    while (LOAD(p->done) != p->shares)
        ;
}
