/* riscv64 on QEMU virt: 16550 UART at 0x10000000, the "sifive_test" finisher at 0x100000 for
 * the exit code, the time CSR (timebase from the device tree) for plat_time_us, and the SBI
 * timer to sleep while the console has no input. */
#include "fmt.h"
#include "hw.h"
#include "kernel.h"
#include "platform.h"
#include "smp.h"
#include "uart16550.h"
#include "vector.h"

#define UART0             0x10000000UL
#define SIFIVE_TEST       0x100000UL
#define FINISHER_PASS     0x5555
#define FINISHER_FAIL     0x3333 /* the exit code goes in bits 31:16 */
#define SBI_EXT_TIME      0x54494D45
#define SBI_EXT_BASE      0x10
#define SBI_GET_MVENDORID 4 /* then marchid, mimpid */
#define SIE_STIE          (1u << 5)
#define IDLE_HZ           1000 /* console polls per second while idle */

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

static uint64_t rdtime(void)
{
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

static uint64_t sbi_base(uint64_t fid)
{
    register uint64_t a0 __asm__("a0") = 0;
    register uint64_t a1 __asm__("a1") = 0;
    register uint64_t a6 __asm__("a6") = fid;
    register uint64_t a7 __asm__("a7") = SBI_EXT_BASE;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    return a0 == 0 ? a1 : 0; /* a0: the SBI error code */
}

static void sbi_set_timer(uint64_t when)
{
    register uint64_t a0 __asm__("a0") = when;
    register uint64_t a6 __asm__("a6") = 0;
    register uint64_t a7 __asm__("a7") = SBI_EXT_TIME;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a6), "r"(a7) : "a1", "memory");
}

/* Sleep until the timer fires 1/IDLE_HZ s from now. The timer interrupt is enabled in sie but
 * sstatus.SIE stays clear, so wfi returns when it is pending and no trap is taken; re-arming
 * clears it. Polling a UART in a busy loop would keep a host core at 100 % under QEMU. */
static void idle(void)
{
    sbi_set_timer(rdtime() + timebase_hz / IDLE_HZ);
    __asm__ volatile("csrs sie, %0\n"
                     "wfi"
                     :
                     : "r"(SIE_STIE));
}

int plat_getc(void)
{
    int c;
    while ((c = uart16550_poll()) < 0)
        idle();
    return c;
}

uint64_t plat_time_us(void)
{
    return ticks_to_us(rdtime(), timebase_hz);
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

int plat_map_device(uint64_t base, uint64_t size)
{
    (void)base, (void)size; /* S-mode runs with paging off: physical addresses as they are */
    return 0;
}

/* The machine ids OpenSBI reports (M-mode CSRs), after what the device tree said. */
static void cpu_ids(void)
{
    uint64_t vendor = sbi_base(SBI_GET_MVENDORID), arch = sbi_base(SBI_GET_MVENDORID + 1);
    uint64_t imp = sbi_base(SBI_GET_MVENDORID + 2);
    size_t n = strlen(hw_cpu.extra);
    slm_snprintf(hw_cpu.extra + n, sizeof hw_cpu.extra - n,
                 "%sids:       mvendorid 0x%llx marchid 0x%llx mimpid 0x%llx", n ? "\n" : "",
                 (unsigned long long)vendor, (unsigned long long)arch, (unsigned long long)imp);
    if (vendor)
        slm_snprintf(hw_cpu.vendor, sizeof hw_cpu.vendor, "mvendorid 0x%llx", (unsigned long long)vendor);
    if (!hw_cpu.timer_hz)
        hw_cpu.timer_hz = timebase_hz;
}

void arch_start(uint64_t hartid, uintptr_t dtb);

void arch_start(uint64_t hartid, uintptr_t dtb)
{
    static struct boot_info bi = {.machine = "QEMU virt, OpenSBI, S-mode"};
    uart16550_init();
    if (fdt_boot_info((const void *)dtb, &bi, &timebase_hz) != 0) {
        kprintf("auton: error: no usable device tree at %p\n", (void *)dtb);
        kexit(EXIT_BOOT);
    }
    if (hw_dt_discover((const void *)dtb, 64u << 20) != 0)
        kprintf("auton: error: the device tree could not be walked; the inventory is empty\n");
    cpu_ids();
    vector_probe(); /* before the other harts start, and before the runtime runs */
    smp_start(hartid, (const void *)dtb);
    kmain(&bi);
}
