/* aarch64 on QEMU virt: PL011 UART at 0x09000000, the generic timer's virtual counter for
 * plat_time_us, semihosting SYS_EXIT (QEMU -semihosting) for the exit code, and the virtual
 * timer through the GICv2 to sleep while the console has no input. */
#include "fmt.h"
#include "gic.h"
#include "hw.h"
#include "kernel.h"
#include "pl011.h"
#include "platform.h"
#include "smp.h"

#define UART0                        0x09000000UL
#define RAM_BASE                     0x40000000UL /* where QEMU puts the DTB for an ELF kernel */
#define SEMIHOSTING_SYS_EXIT         0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define IDLE_HZ                      1000 /* console polls per second while idle */

void arch_start(uintptr_t x0);
void aarch64_trap(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far);

void plat_putc(int c)
{
    pl011_putc(c);
}

static uint64_t timer_hz(void)
{
    uint64_t hz;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
    return hz;
}

/* Sleep until the virtual timer fires 1/IDLE_HZ s from now (re-arming it drops the interrupt).
 * Polling a UART in a busy loop would keep a host core at 100 % under QEMU. */
static void idle(void)
{
    __asm__ volatile("msr cntv_tval_el0, %0\n"
                     "msr cntv_ctl_el0, %1\n"
                     "isb\n"
                     "wfi"
                     :
                     : "r"(timer_hz() / IDLE_HZ), "r"(1ull));
}

int plat_getc(void)
{
    int c;
    while ((c = pl011_poll()) < 0)
        idle();
    return c;
}

uint64_t plat_time_us(void)
{
    uint64_t t;
    __asm__ volatile("isb\nmrs %0, cntvct_el0" : "=r"(t));
    return ticks_to_us(t, timer_hz());
}

void plat_exit(int code)
{
    static volatile int exiting;
    if (!exiting) { /* without -semihosting the HLT traps, and the trap handler ends up here again */
        exiting = 1;
        uint64_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint64_t)(int64_t)code};
        register uint64_t x0 __asm__("x0") = SEMIHOSTING_SYS_EXIT;
        register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
        __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
    }
    for (;;)
        __asm__ volatile("wfe");
}

const char *plat_arch_name(void)
{
    return "aarch64";
}

/* MIDR_EL1's implementer and (for Arm) part number, as Linux's cputype.h names them. */
static const struct {
    uint32_t implementer, part; /* part 0xfff: any */
    const char *name;
} cpu_names[] = {
    {0x41, 0xd03, "Cortex-A53"},  {0x41, 0xd04, "Cortex-A35"},  {0x41, 0xd05, "Cortex-A55"},
    {0x41, 0xd07, "Cortex-A57"},  {0x41, 0xd08, "Cortex-A72"},  {0x41, 0xd09, "Cortex-A73"},
    {0x41, 0xd0a, "Cortex-A75"},  {0x41, 0xd0b, "Cortex-A76"},  {0x41, 0xd0c, "Neoverse-N1"},
    {0x41, 0xd0d, "Cortex-A77"},  {0x41, 0xd40, "Neoverse-V1"}, {0x41, 0xd41, "Cortex-A78"},
    {0x41, 0xd44, "Cortex-X1"},   {0x41, 0xd46, "Cortex-A510"}, {0x41, 0xd47, "Cortex-A710"},
    {0x41, 0xd49, "Neoverse-N2"}, {0x41, 0xd4f, "Neoverse-V2"}, {0x41, 0xfff, "Arm"},
    {0x42, 0xfff, "Broadcom"},    {0x43, 0xfff, "Cavium"},      {0x46, 0xfff, "Fujitsu"},
    {0x48, 0xfff, "HiSilicon"},   {0x4e, 0xfff, "NVIDIA"},      {0x51, 0xfff, "Qualcomm"},
    {0x61, 0xfff, "Apple"},       {0xc0, 0xfff, "Ampere"},
};

static const char *cpu_name(uint32_t implementer, uint32_t part)
{
    for (size_t i = 0; i < sizeof cpu_names / sizeof cpu_names[0]; i++)
        if (cpu_names[i].implementer == implementer && (cpu_names[i].part == part || cpu_names[i].part == 0xfff))
            return cpu_names[i].name;
    return NULL;
}

/* Vendor, model and features from MIDR_EL1, ID_AA64PFR0_EL1 and ID_AA64ISAR0_EL1. */
static void cpu_ids(void)
{
    uint64_t midr, pfr0, isar0;
    __asm__ volatile("mrs %0, midr_el1\nmrs %1, id_aa64pfr0_el1\nmrs %2, id_aa64isar0_el1"
                     : "=r"(midr), "=r"(pfr0), "=r"(isar0));
    uint32_t implementer = (uint32_t)(midr >> 24) & 0xff, part = (uint32_t)(midr >> 4) & 0xfff;
    const char *vendor = cpu_name(implementer, 0xfff), *model = cpu_name(implementer, part);
    if (vendor)
        slm_snprintf(hw_cpu.vendor, sizeof hw_cpu.vendor, "%s", vendor);
    if (model && model != vendor)
        slm_snprintf(hw_cpu.model, sizeof hw_cpu.model, "%s", model);
    size_t n = slm_snprintf(hw_cpu.isa, sizeof hw_cpu.isa, "armv8-a%s%s", ((pfr0 >> 16) & 0xf) != 0xf ? " fp" : "",
                            ((pfr0 >> 20) & 0xf) != 0xf ? " asimd" : "");
    static const struct {
        int shift;
        const char *name;
    } features[] = {{4, "aes"}, {8, "sha1"}, {12, "sha2"}, {16, "crc32"}, {20, "atomics"}, {28, "rdm"}, {32, "sha3"}};
    for (size_t i = 0; i < sizeof features / sizeof features[0] && n < sizeof hw_cpu.isa; i++)
        if ((isar0 >> features[i].shift) & 0xf)
            n += slm_snprintf(hw_cpu.isa + n, sizeof hw_cpu.isa - n, " %s", features[i].name);
    slm_snprintf(hw_cpu.extra, sizeof hw_cpu.extra, "midr:      0x%08llx (implementer 0x%02x part 0x%03x r%up%u)",
                 (unsigned long long)midr, implementer, part, (unsigned)(midr >> 20) & 0xf, (unsigned)midr & 0xf);
    hw_cpu.timer_hz = timer_hz();
}

void aarch64_trap(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far)
{
    static const char *const kinds[4] = {
        "aarch64 synchronous exception (esr, elr, far)",
        "aarch64 IRQ (esr, elr, far)",
        "aarch64 FIQ (esr, elr, far)",
        "aarch64 SError (esr, elr, far)",
    };
    kpanic_trap(kinds[vector & 3], esr, elr, far);
}

void arch_start(uintptr_t x0)
{
    static struct boot_info bi = {.machine = "QEMU virt, EL1"};
    uint64_t unused_timebase;
    pl011_init(UART0);
    gic_dist_init();
    gic_cpu_init(GIC_VTIMER_PPI);
    const void *dtb = (const void *)(x0 ? x0 : RAM_BASE);
    if (fdt_boot_info(dtb, &bi, &unused_timebase) != 0) {
        kprintf("auton: error: no usable device tree at %p\n", dtb);
        kexit(EXIT_BOOT);
    }
    if (hw_dt_discover(dtb, 64u << 20) != 0)
        kprintf("auton: error: the device tree could not be walked; the inventory is empty\n");
    cpu_ids();
    smp_start(dtb);
    kmain(&bi);
}
