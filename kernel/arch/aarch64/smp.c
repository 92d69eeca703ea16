/* aarch64: start the other CPUs the device tree's /cpus lists (reg = MPIDR affinity) with PSCI
 * CPU_ON through the conduit /psci names (hvc, or smc), each on its own stack at
 * secondary_entry (entry.S), and give them to the runtime as workers (runtime/cpupool.c). A
 * sleeping worker waits in wfi for a GIC software-generated interrupt, which the boot CPU sends
 * (wfe would not do: QEMU runs it as a yield, a busy loop). */
#include "cpupool.h"
#include "fdt.h"
#include "fmt.h"
#include "gic.h"
#include "hw.h"
#include "kernel.h"
#include "smp.h"

#define MAX_CPUS           8 /* the GICv2's limit */
#define CPU_STACK_SIZE     (64 * 1024)
#define PSCI_0_2_CPU_ON_64 0xC4000003u
#define MPIDR_AFFINITY     0xff00ffffffull /* Aff3, Aff2, Aff1, Aff0 */

static uint8_t cpu_stacks[MAX_CPUS - 1][CPU_STACK_SIZE] __attribute__((aligned(16)));
static cpupool pool;

struct cpus {
    uint64_t mpidr[MAX_CPUS];
    int n;
    uint32_t cpu_on; /* the CPU_ON function id, 0 without a usable /psci */
    int smc;         /* the conduit: smc, or hvc */
};

/* The enabled cpu nodes under /cpus, and the /psci node. */
static int cpu_visit(const struct fdt_node *node, void *ctx)
{
    struct cpus *c = ctx;
    char str[12];
    uint32_t len;
    uint64_t id;
    if (node->depth == 1 && fdt_name_is(node, "psci")) {
        const uint8_t *compat = fdt_prop(node, "compatible", &len), *fn;
        uint32_t fn_len;
        if (compat && (fdt_list_has(compat, len, "arm,psci-0.2") || fdt_list_has(compat, len, "arm,psci-1.0")))
            c->cpu_on = PSCI_0_2_CPU_ON_64;
        else if ((fn = fdt_prop(node, "cpu_on", &fn_len)) && fn_len == 4) /* PSCI 0.1: the id is given */
            c->cpu_on = (uint32_t)fdt_cells(fn, 1);
        fdt_prop_str(node, "method", str, sizeof str);
        c->smc = strncmp(str, "smc", 4) == 0;
        if (!c->smc && strncmp(str, "hvc", 4) != 0)
            c->cpu_on = 0;
        return 0;
    }
    if (c->n < MAX_CPUS && fdt_cpu_id(node, &id) == 0)
        c->mpidr[c->n++] = id;
    return 0;
}

/* PSCI CPU_ON(target, entry, context): 0 on success, a negative PSCI error otherwise. */
static long psci_cpu_on(const struct cpus *c, uint64_t target, uintptr_t entry, uint64_t context)
{
    register uint64_t x0 __asm__("x0") = c->cpu_on;
    register uint64_t x1 __asm__("x1") = target;
    register uint64_t x2 __asm__("x2") = entry;
    register uint64_t x3 __asm__("x3") = context;
    if (c->smc)
        __asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    else
        __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
    return (long)(int32_t)x0;
}

void arch_secondary(void);

void arch_secondary(void)
{
    gic_cpu_init(GIC_WAKE_SGI);
    cpupool_serve(&pool);
}

void cpupool_arch_sleep(void)
{
    __asm__ volatile("wfi" ::: "memory");
    gic_ack();
}

void cpupool_arch_wake(void)
{
    gic_wake_others();
}

void smp_start(const void *dtb)
{
    extern char secondary_entry[];
    struct cpus c = {.n = 0};
    uint64_t self;
    uint32_t started = 0;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(self));
    if (fdt_walk(dtb, 64u << 20, cpu_visit, &c) != 0)
        c.n = 0;
    for (int i = 0; c.cpu_on && i < c.n && started < MAX_CPUS - 1; i++) {
        if (c.mpidr[i] == (self & MPIDR_AFFINITY))
            continue;
        uintptr_t stack_top = (uintptr_t)cpu_stacks[started] + CPU_STACK_SIZE;
        if (psci_cpu_on(&c, c.mpidr[i], (uintptr_t)secondary_entry, stack_top) == 0)
            started++;
    }
    hw_cpu_online("cpus:", cpupool_close(&pool, started, CPUPOOL_JOIN_WAIT_US), c.n ? c.n : 1, "psci");
}
