/* The kernel's fork-join (an slm_fork_fn) over the CPUs its boot code started: no OS, only
 * atomics. The boot CPU forks; every other CPU calls cpupool_serve once it runs, and never
 * returns from it. A job is cut into CPUPOOL_SHARES shares per CPU, which the CPUs claim one at
 * a time (the boot CPU too), so a CPU the host has descheduled (QEMU runs each on a host thread)
 * holds up at most the share it took. After a job a worker polls for the next one for a while
 * (jobs come every few microseconds while the model runs), then sleeps in cpupool_arch_sleep
 * until a fork calls cpupool_arch_wake. The split itself is the runtime's (contiguous shares of
 * rows and heads, each computed as on one CPU), so results do not depend on who ran a share. */
#ifndef AUTON_CPUPOOL_H
#define AUTON_CPUPOOL_H

#include "slm.h"

#include <stdint.h>

#define CPUPOOL_SHARES 4
/* How long the boot CPU waits for the others to join, as Linux waits for a secondary: a vCPU
 * thread the host has starved can take over 1 s. */
#define CPUPOOL_JOIN_WAIT_US 5000000

typedef struct {
    uint32_t state;    /* CPUs that joined, and CPUPOOL_CLOSED once cpupool_close fixed the count */
    uint32_t shares;   /* per job: CPUPOOL_SHARES x the CPUs (fixed by cpupool_close) */
    uint64_t next;     /* the job's generation (high half) and its next unclaimed share (low) */
    uint32_t done;     /* shares of the current job finished */
    uint32_t sleepers; /* workers in cpupool_arch_sleep (or about to be) */
    slm_job_fn job;
    void *arg;
} cpupool;

/* A started CPU's work loop; never returns. A CPU that arrives after cpupool_close only sleeps. */
__attribute__((noreturn)) void cpupool_serve(cpupool *p);

/* Wait up to wait_us for `expect` CPUs to have joined, then fix the count: the boot CPU and
 * those that did. With more than one, the pool becomes the runtime's default fork-join
 * (slm_set_default_workers, p->shares workers). Returns the CPUs. */
uint32_t cpupool_close(cpupool *p, uint32_t expect, uint64_t wait_us);

/* The slm_fork_fn (pool = the cpupool). */
void cpupool_fork(void *pool, slm_job_fn job, void *arg);

/* The arch's part: sleep until cpupool_arch_wake or some other event (returning early is fine),
 * and wake every CPU that may be sleeping. */
void cpupool_arch_sleep(void);
void cpupool_arch_wake(void);

#endif
