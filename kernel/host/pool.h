/* A fork-join pool of threads for slm_set_workers (slm-run --threads N): N - 1 threads plus the
 * caller. Workers spin briefly for the next job, then sleep on a condition variable. */
#ifndef AUTON_POOL_H
#define AUTON_POOL_H

#include "slm.h"

typedef struct pool pool;

/* Start n - 1 threads (n >= 1); NULL when a thread cannot be started. */
pool *pool_start(uint32_t n);
/* An slm_fork_fn: job(arg, w, n) for every worker w < n, the caller being worker 0. */
void pool_fork(void *p, slm_job_fn job, void *arg);

#endif
