/* x86_64: start the application processors the ACPI MADT lists with INIT-SIPI-SIPI through the
 * boot CPU's local APIC, into entry.S's trampoline (copied to SMP_TRAMPOLINE: real mode ->
 * protected mode -> the boot CPU's long mode, page tables and SSE/AVX state, a stack of
 * ap_stacks), and give them to the runtime as workers (runtime/cpupool.c). A sleeping worker
 * waits in `sti; hlt` for the boot CPU's fixed-vector IPI (SMP_WAKE_VECTOR), whose handler
 * only signals end of interrupt; an IPI sent before the hlt stays pending in the local APIC
 * and ends the hlt at once, since sti lets interrupts in only after the next instruction. */
#include "acpi.h"
#include "cpupool.h"
#include "fmt.h"
#include "hw.h"
#include "kernel.h"
#include "platform.h"
#include "smp.h"

#define LAPIC_DEFAULT    0xfee00000u
#define LAPIC_ID         0x020
#define LAPIC_EOI        0x0b0
#define LAPIC_SVR        0x0f0
#define LAPIC_ICR_LOW    0x300
#define LAPIC_ICR_HIGH   0x310
#define SVR_ENABLE       (1u << 8)
#define ICR_INIT         (5u << 8)
#define ICR_STARTUP      (6u << 8)
#define ICR_PENDING      (1u << 12) /* delivery status: the last IPI is not sent yet */
#define ICR_ASSERT       (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define PDE_PWT_PCD      0x18 /* write-through, cache disabled: uncached MMIO */
#define INIT_WAIT_US     10000
#define SIPI_WAIT_US     200

uint8_t ap_stacks[SMP_MAX_CPUS - 1][SMP_STACK_SIZE] __attribute__((aligned(16)));
volatile uint32_t *lapic_eoi;
static uintptr_t lapic;
static cpupool pool;

extern uint64_t page_dirs[4 * 512]; /* entry.S: the 2 MiB pages of the first 4 GiB */
extern const char ap_trampoline[], ap_trampoline_end[];

static uint32_t lapic_read(uint32_t reg)
{
    return *(volatile uint32_t *)(lapic + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(lapic + reg) = v;
}

/* Send an IPI once the previous one has left; dest is an APIC id (ignored with a shorthand). */
static void send_ipi(uint32_t dest, uint32_t command)
{
    while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
        ;
    lapic_write(LAPIC_ICR_HIGH, dest << 24);
    lapic_write(LAPIC_ICR_LOW, command);
}

static void wait_us(uint64_t us)
{
    uint64_t start = plat_time_us();
    while (plat_time_us() - start < us)
        ;
}

/* Map the local APIC's 2 MiB page uncached; the identity map covers it (below 4 GiB). */
static void map_lapic(uint64_t base)
{
    lapic = (uintptr_t)base;
    lapic_eoi = (volatile uint32_t *)(lapic + LAPIC_EOI);
    page_dirs[base >> 21] |= PDE_PWT_PCD;
    __asm__ volatile("invlpg (%0)" : : "r"(lapic) : "memory");
}

void arch_secondary(void);

void arch_secondary(void)
{
    x86_idt_load();
    lapic_write(LAPIC_SVR, SVR_ENABLE | SMP_SPURIOUS_VECTOR); /* INIT left the APIC disabled */
    cpupool_serve(&pool);
}

void cpupool_arch_sleep(void)
{
    __asm__ volatile("sti; hlt; cli" ::: "memory");
}

void cpupool_arch_wake(void)
{
    send_ipi(0, ICR_ALL_BUT_SELF | ICR_ASSERT | SMP_WAKE_VECTOR);
}

void smp_start(void)
{
    struct acpi_cpus c = {.lapic_base = LAPIC_DEFAULT, .n = 0};
    uint8_t target[SMP_MAX_CPUS - 1];
    uint32_t started = 0;
    if (acpi_madt_cpus(&c) != 0 || c.lapic_base + 4096 > (4ull << 30))
        c.n = 0;
    if (c.n)
        hw_cpu.count = c.n;
    if (c.n > 1) {
        map_lapic(c.lapic_base);
        uint8_t self = (uint8_t)(lapic_read(LAPIC_ID) >> 24);
        for (int i = 0; i < c.n && started < SMP_MAX_CPUS - 1; i++)
            if (c.apic_id[i] != self)
                target[started++] = c.apic_id[i];
        memcpy((void *)SMP_TRAMPOLINE, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
        for (uint32_t i = 0; i < started; i++)
            send_ipi(target[i], ICR_INIT | ICR_ASSERT);
        wait_us(INIT_WAIT_US);
        for (int round = 0; round < 2; round++) {
            for (uint32_t i = 0; i < started; i++)
                send_ipi(target[i], ICR_STARTUP | ICR_ASSERT | SMP_TRAMPOLINE >> 12);
            wait_us(SIPI_WAIT_US);
        }
    }
    hw_cpu_online("cpus:", cpupool_close(&pool, started, CPUPOOL_JOIN_WAIT_US), c.n ? c.n : 1, "sipi");
}
