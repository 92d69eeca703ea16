/* aarch64 on QEMU virt: PL011 UART at 0x09000000, the generic timer's virtual counter for
 * plat_time_us, semihosting SYS_EXIT (QEMU -semihosting) for the exit code. */
#include "kernel.h"
#include "pl011.h"
#include "platform.h"

#define UART0 0x09000000UL
#define RAM_BASE 0x40000000UL /* where QEMU puts the DTB for an ELF kernel */
#define SEMIHOSTING_SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

void arch_start(uintptr_t x0);
void aarch64_trap(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far);

void plat_putc(int c)
{
    pl011_putc(c);
}

int plat_getc(void)
{
    return pl011_getc();
}

uint64_t plat_time_us(void)
{
    uint64_t t, hz;
    __asm__ volatile("isb\nmrs %0, cntvct_el0" : "=r"(t));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
    return t / hz * 1000000 + t % hz * 1000000 / hz;
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
    const void *dtb = (const void *)(x0 ? x0 : RAM_BASE);
    if (fdt_boot_info(dtb, &bi, &unused_timebase) != 0) {
        kprintf("auton: error: no usable device tree at %p\n", dtb);
        kexit(EXIT_BOOT);
    }
    kmain(&bi);
}
