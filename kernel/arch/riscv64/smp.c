/* riscv64: start the other harts the device tree's /cpus lists with SBI HSM, each on its own
 * stack, and give them to the runtime as workers (runtime/cpupool.c). A sleeping worker waits in
 * wfi for a supervisor software interrupt, which the boot hart sends with the SBI IPI call (the
 * interrupt is enabled in sie but sstatus.SIE stays clear: wfi returns, no trap is taken). */
#include "cpupool.h"
#include "fdt.h"
#include "fmt.h"
#include "hw.h"
#include "kernel.h"
#include "smp.h"
#include "vector.h"

#define MAX_HARTS       8
#define HART_STACK_SIZE (64 * 1024)
#define SBI_EXT_HSM     0x48534D
#define SBI_HART_START  0
#define SBI_EXT_IPI     0x735049
#define SBI_SEND_IPI    0
#define SIP_SSIP        (1u << 1)

static uint8_t hart_stacks[MAX_HARTS - 1][HART_STACK_SIZE] __attribute__((aligned(16)));
static cpupool pool;
static uint64_t ipi_base, ipi_mask; /* the started harts, as sbi_send_ipi's hart mask */

struct harts {
    uint64_t id[MAX_HARTS];
    int n;
};

static long sbi_call(uint64_t ext, uint64_t fid, uint64_t a0, uint64_t a1, uint64_t a2)
{
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r2 __asm__("a2") = a2;
    register uint64_t r6 __asm__("a6") = fid;
    register uint64_t r7 __asm__("a7") = ext;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    return (long)r0; /* the SBI error code */
}

/* Each enabled cpu node under /cpus: its hart id (reg). */
static int hart_visit(const struct fdt_node *node, void *ctx)
{
    struct harts *h = ctx;
    uint64_t id;
    if (h->n < MAX_HARTS && fdt_cpu_id(node, &id) == 0)
        h->id[h->n++] = id;
    return 0;
}

void arch_secondary(uint64_t hartid);

void arch_secondary(uint64_t hartid)
{
    (void)hartid;
    vector_on();
    cpupool_serve(&pool);
}

void cpupool_arch_sleep(void)
{
    __asm__ volatile("csrs sie, %0\n"
                     "wfi\n"
                     "csrc sip, %0"
                     :
                     : "r"(SIP_SSIP)
                     : "memory");
}

void cpupool_arch_wake(void)
{
    sbi_call(SBI_EXT_IPI, SBI_SEND_IPI, ipi_mask, ipi_base, 0);
}

void smp_start(uint64_t boot_hart, const void *dtb)
{
    extern char secondary_entry[];
    struct harts h = {.n = 0};
    int started = 0;
    if (fdt_walk(dtb, 64u << 20, hart_visit, &h) != 0)
        h.n = 0;
    ipi_base = UINT64_MAX;
    for (int i = 0; i < h.n; i++)
        if (h.id[i] != boot_hart && h.id[i] < ipi_base)
            ipi_base = h.id[i];
    for (int i = 0; i < h.n && started < MAX_HARTS - 1; i++) {
        if (h.id[i] == boot_hart || h.id[i] - ipi_base >= 64)
            continue;
        uintptr_t stack_top = (uintptr_t)hart_stacks[started] + HART_STACK_SIZE;
        if (sbi_call(SBI_EXT_HSM, SBI_HART_START, h.id[i], (uintptr_t)secondary_entry, stack_top) == 0) {
            ipi_mask |= 1ull << (h.id[i] - ipi_base);
            started++;
        }
    }
    hw_cpu_online("harts:", cpupool_close(&pool, (uint32_t)started, CPUPOOL_JOIN_WAIT_US), h.n ? h.n : 1, "sbi hsm");
}
