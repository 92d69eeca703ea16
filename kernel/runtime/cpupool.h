/* The kernel's fork-join (an slm_fork_fn) over the CPUs its boot code started: no OS, only
 * atomics. The boot CPU is worker 0 and forks; every other CPU calls cpupool_serve once it runs,
 * which takes the next worker index and never returns. After a job a worker polls for the next
 * one for a while (jobs come every few microseconds while the model runs), then sleeps in
 * cpupool_arch_sleep until the boot CPU's next fork calls cpupool_arch_wake. The split itself is
 * the runtime's (contiguous shares of rows and heads), so results do not depend on the count. */
#ifndef AUTON_CPUPOOL_H
#define AUTON_CPUPOOL_H

#include "slm.h"

#include <stdint.h>

typedef struct {
    uint32_t state;    /* CPUs that joined, CPUPOOL_CLOSED once cpupool_close fixed the count */
    uint32_t n;        /* workers, the boot CPU included (1 until cpupool_close) */
    uint32_t gen;      /* bumped once per job */
    uint32_t done;     /* workers other than the boot CPU finished with the current job */
    uint32_t sleepers; /* workers in cpupool_arch_sleep (or about to be) */
    slm_job_fn job;
    void *arg;
} cpupool;

/* A started CPU's work loop; never returns. A CPU that arrives after cpupool_close only sleeps. */
__attribute__((noreturn)) void cpupool_serve(cpupool *p);

/* Wait up to wait_us for `expect` CPUs to have joined, then fix the worker count: 1 + those that
 * did. Returns the count. */
uint32_t cpupool_close(cpupool *p, uint32_t expect, uint64_t wait_us);

/* The slm_fork_fn (pool = the cpupool). */
void cpupool_fork(void *pool, slm_job_fn job, void *arg);

/* The arch's part: sleep until cpupool_arch_wake or some other event (returning early is fine),
 * and wake every CPU that may be sleeping. */
void cpupool_arch_sleep(void);
void cpupool_arch_wake(void);

#endif
