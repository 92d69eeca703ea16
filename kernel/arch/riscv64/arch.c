/* riscv64 on QEMU virt: 16550 UART at 0x10000000, the "sifive_test" finisher at 0x100000 for
 * the exit code, the time CSR (timebase from the device tree) for plat_time_us. */
#include "kernel.h"
#include "platform.h"
#include "uart16550.h"

#define UART0 0x10000000UL
#define SIFIVE_TEST 0x100000UL
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333 /* the exit code goes in bits 31:16 */

static uint64_t timebase_hz = 10000000; /* QEMU virt's default, replaced by the DTB's value */

uint8_t uart16550_reg_read(unsigned reg)
{
    return *(volatile uint8_t *)(UART0 + reg);
}

void uart16550_reg_write(unsigned reg, uint8_t value)
{
    *(volatile uint8_t *)(UART0 + reg) = value;
}

void plat_putc(int c)
{
    uart16550_putc(c);
}

int plat_getc(void)
{
    return uart16550_getc();
}

uint64_t plat_time_us(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t / timebase_hz * 1000000 + t % timebase_hz * 1000000 / timebase_hz;
}

void plat_exit(int code)
{
    uint32_t cmd = code == 0 ? FINISHER_PASS : ((uint32_t)(code & 0xffff) << 16) | FINISHER_FAIL;
    *(volatile uint32_t *)SIFIVE_TEST = cmd;
    for (;;)
        __asm__ volatile("wfi");
}

const char *plat_arch_name(void)
{
    return "riscv64";
}

void arch_start(uint64_t hartid, uintptr_t dtb);

void arch_start(uint64_t hartid, uintptr_t dtb)
{
    static struct boot_info bi = {.machine = "QEMU virt, OpenSBI, S-mode"};
    (void)hartid;
    uart16550_init();
    if (fdt_boot_info((const void *)dtb, &bi, &timebase_hz) != 0) {
        kprintf("auton: error: no usable device tree at %p\n", (void *)dtb);
        kexit(EXIT_BOOT);
    }
    kmain(&bi);
}
