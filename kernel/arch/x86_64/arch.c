/* x86_64 on QEMU's pc machine: COM1 (16550 at port 0x3f8), the TSC calibrated against PIT
 * channel 2 for plat_time_us, QEMU's isa-debug-exit device (port 0xf4) for the exit code, an
 * IDT that turns CPU exceptions into a report, PIT channel 0 ticks to sleep while the console
 * has no input, the multiboot info for RAM and the command line, and discovery: PCI through
 * the configuration ports 0xCF8/0xCFC, CPUID, the multiboot memory map; then the other CPUs
 * (smp.c). */
#include "fmt.h"
#include "hw.h"
#include "kernel.h"
#include "platform.h"
#include "smp.h"
#include "uart16550.h"

#define COM1                0x3f8
#define DEBUG_EXIT_PORT     0xf4 /* QEMU exits with status (value << 1) | 1 */
#define PIT_HZ              1193182
#define PIT_CH0             0x40
#define PIT_CH2             0x42
#define PIT_CMD             0x43
#define PORT_B              0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: channel 2 output */
#define PIC1                0x20 /* master 8259: command port, data port + 1 */
#define PIC2                0xa0 /* slave 8259 */
#define IRQ_BASE            32   /* IRQ 0-15 -> vectors 32-47, clear of the CPU exceptions */
#define IDLE_HZ             1000 /* console polls per second while idle */
#define MULTIBOOT_MAGIC     0x2BADB002
#define MB_FLAG_MEM         (1u << 0)
#define MB_FLAG_CMDLINE     (1u << 2)
#define MB_FLAG_MMAP        (1u << 6)
#define MB_MEMORY_AVAILABLE 1
#define IDENTITY_MAPPED     (4ull << 30) /* entry.S maps the first 4 GiB */
#define PCI_CONFIG_ADDRESS  0xcf8
#define PCI_CONFIG_DATA     0xcfc

struct multiboot_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};

struct multiboot_mmap_entry {
    uint32_t size; /* of the rest of the entry */
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

struct idt_entry {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
} __attribute__((packed));

extern const char isr_stubs[];                /* entry.S: 32 stubs, 16 bytes each */
extern const char timer_irq[];                /* entry.S: acknowledges IRQ 0 */
extern const char wake_irq[], spurious_irq[]; /* entry.S: the other CPUs' local APIC vectors */

void arch_start(uint32_t magic, uint32_t info);
void x86_trap(uint64_t vector, const uint64_t *frame);

static uint64_t tsc_hz;

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

uint8_t uart16550_reg_read(unsigned reg)
{
    return inb((uint16_t)(COM1 + reg));
}

void uart16550_reg_write(unsigned reg, uint8_t value)
{
    outb((uint16_t)(COM1 + reg), value);
}

void plat_putc(int c)
{
    uart16550_putc(c);
}

/* Sleep until the next PIT tick (IDLE_HZ per second). Interrupts are on only inside this
 * sti; hlt pair (sti takes effect after hlt has started, so no tick is lost in between).
 * Polling a UART in a busy loop would keep a host core at 100 % under QEMU. */
static void idle(void)
{
    __asm__ volatile("sti; hlt; cli");
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
    return ticks_to_us(rdtsc(), tsc_hz);
}

void plat_exit(int code)
{
    outb(DEBUG_EXIT_PORT, (uint8_t)code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

const char *plat_arch_name(void)
{
    return "x86_64";
}

/* TSC ticks during a 50 ms one-shot countdown of PIT channel 2 (mode 0: its output goes high
 * when the count reaches zero). Under QEMU the TSC follows the host's clock. */
static uint64_t calibrate_tsc(void)
{
    const uint16_t count = PIT_HZ / 20;
    outb(PORT_B, (uint8_t)((inb(PORT_B) & ~0x02) | 0x01));
    outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
    outb(PIT_CH2, count & 0xff);
    outb(PIT_CH2, count >> 8);
    uint64_t t0 = rdtsc();
    while (!(inb(PORT_B) & 0x20))
        ;
    uint64_t hz = (rdtsc() - t0) * 20;
    return hz ? hz : 1;
}

static struct idt_entry idt_gate(const void *handler)
{
    uint64_t a = (uint64_t)(uintptr_t)handler;
    return (struct idt_entry){
        .offset_low = (uint16_t)a,
        .selector = 0x08,
        .type_attr = 0x8e, /* present, ring 0, 64-bit interrupt gate */
        .offset_mid = (uint16_t)(a >> 16),
        .offset_high = (uint32_t)(a >> 32),
    };
}

static struct idt_entry idt[SMP_SPURIOUS_VECTOR + 1];
static struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} idtr = {sizeof idt - 1, 0};

void x86_idt_load(void)
{
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* CPU exceptions (vectors 0-31), the PIT's IRQ 0 (vector 32) and the local APIC's vectors of
 * the other CPUs; the rest stay absent (masked at the PIC, never sent). */
static void idt_init(void)
{
    for (int v = 0; v < IRQ_BASE; v++)
        idt[v] = idt_gate(isr_stubs + 16 * v);
    idt[IRQ_BASE] = idt_gate(timer_irq);
    idt[SMP_WAKE_VECTOR] = idt_gate(wake_irq);
    idt[SMP_SPURIOUS_VECTOR] = idt_gate(spurious_irq);
    idtr.base = (uint64_t)(uintptr_t)idt;
    x86_idt_load();
}

/* The 8259 PICs remapped to IRQ_BASE with only IRQ 0 unmasked, and PIT channel 0 ticking at
 * IDLE_HZ (rate generator). Interrupts stay disabled (cli) except in idle(). */
static void idle_ticks_init(void)
{
    outb(PIC1, 0x11); /* ICW1: initialize, ICW4 follows */
    outb(PIC2, 0x11);
    outb(PIC1 + 1, IRQ_BASE); /* ICW2: vector offsets */
    outb(PIC2 + 1, IRQ_BASE + 8);
    outb(PIC1 + 1, 4); /* ICW3: the slave hangs off IRQ 2 */
    outb(PIC2 + 1, 2);
    outb(PIC1 + 1, 1); /* ICW4: 8086 mode */
    outb(PIC2 + 1, 1);
    outb(PIC1 + 1, 0xfe); /* mask everything but IRQ 0 */
    outb(PIC2 + 1, 0xff);
    const uint16_t divisor = PIT_HZ / IDLE_HZ;
    outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
    outb(PIT_CH0, divisor & 0xff);
    outb(PIT_CH0, divisor >> 8);
}

/* The CPU pushes an error code for these vectors (DF, TS, NP, SS, GP, PF, AC, CP, VC, SX). */
static int has_error_code(uint64_t v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

void x86_trap(uint64_t vector, const uint64_t *frame)
{
    uint64_t err = has_error_code(vector) ? frame[0] : 0;
    uint64_t rip = has_error_code(vector) ? frame[1] : frame[0];
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    kpanic_trap("x86_64 exception (vector | error code << 32, rip, cr2)", vector | err << 32, rip, cr2);
}

/* Configuration mechanism #1: the first 256 bytes of each function's space. */
static int pci_select(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    if (bus > 255 || dev > 31 || fn > 7 || off > 0xfc)
        return -1;
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
    return 0;
}

uint32_t plat_pci_read32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    (void)h;
    return pci_select(bus, dev, fn, off) == 0 ? inl(PCI_CONFIG_DATA) : 0xffffffff;
}

void plat_pci_write32(const struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    (void)h;
    if (pci_select(bus, dev, fn, off) == 0)
        outl(PCI_CONFIG_DATA, v);
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* Vendor, brand string and features (CPUID leaves 0, 1, 0x80000002-4). */
static void cpu_ids(void)
{
    static const struct {
        uint8_t reg, bit; /* reg 2: ecx, 3: edx of leaf 1 */
        const char *name;
    } features[] = {
        {3, 0, "fpu"},       {3, 4, "tsc"},     {3, 5, "msr"},    {3, 9, "apic"},    {3, 15, "cmov"},
        {3, 23, "mmx"},      {3, 25, "sse"},    {3, 26, "sse2"},  {3, 28, "ht"},     {2, 0, "sse3"},
        {2, 1, "pclmulqdq"}, {2, 9, "ssse3"},   {2, 12, "fma"},   {2, 13, "cx16"},   {2, 19, "sse4_1"},
        {2, 20, "sse4_2"},   {2, 21, "x2apic"}, {2, 22, "movbe"}, {2, 23, "popcnt"}, {2, 25, "aes"},
        {2, 26, "xsave"},    {2, 28, "avx"},    {2, 29, "f16c"},  {2, 30, "rdrand"}, {2, 31, "hypervisor"},
    };
    uint32_t r[4], max;
    cpuid(0, r);
    max = r[0];
    memcpy(hw_cpu.vendor, &r[1], 4);
    memcpy(hw_cpu.vendor + 4, &r[3], 4);
    memcpy(hw_cpu.vendor + 8, &r[2], 4);
    hw_cpu.vendor[12] = '\0';
    hw_cpu.count = 1;
    size_t n = slm_snprintf(hw_cpu.isa, sizeof hw_cpu.isa, "x86-64");
    if (max >= 1) {
        cpuid(1, r);
        if ((r[3] >> 28) & 1 && ((r[1] >> 16) & 0xff) > 1)
            hw_cpu.count = (int)((r[1] >> 16) & 0xff); /* logical processors in the package */
        for (size_t i = 0; i < sizeof features / sizeof features[0] && n < sizeof hw_cpu.isa; i++)
            if ((r[features[i].reg] >> features[i].bit) & 1)
                n += slm_snprintf(hw_cpu.isa + n, sizeof hw_cpu.isa - n, " %s", features[i].name);
        slm_snprintf(hw_cpu.extra, sizeof hw_cpu.extra, "family:    %u model %u stepping %u",
                     ((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff), ((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0),
                     r[0] & 0xf);
    }
    cpuid(0x80000000, r);
    if (r[0] >= 0x80000004) {
        char brand[49];
        for (uint32_t i = 0; i < 3; i++) {
            cpuid(0x80000002 + i, r);
            memcpy(brand + 16 * i, r, 16);
        }
        brand[48] = '\0';
        const char *b = brand;
        while (*b == ' ')
            b++;
        slm_snprintf(hw_cpu.model, sizeof hw_cpu.model, "%s", b);
    }
    hw_cpu.timer_hz = tsc_hz;
}

/* The available RAM region that holds the kernel, from the BIOS memory map (or mem_upper). */
static int ram_region(const struct multiboot_info *mb, struct boot_info *bi)
{
    uint64_t k = (uintptr_t)_kernel_start;
    if (mb->flags & MB_FLAG_MMAP) {
        uintptr_t p = mb->mmap_addr, end = p + mb->mmap_length;
        while (p + sizeof(struct multiboot_mmap_entry) <= end) {
            const struct multiboot_mmap_entry *e = (const void *)p;
            if (e->type == MB_MEMORY_AVAILABLE)
                hw_add_bank(e->addr, e->len);
            if (e->type == MB_MEMORY_AVAILABLE && k >= e->addr && k - e->addr < e->len) {
                bi->ram_start = (uintptr_t)e->addr;
                bi->ram_end = (uintptr_t)(e->addr + e->len);
            }
            p += e->size + sizeof(e->size);
        }
    } else if (mb->flags & MB_FLAG_MEM) {
        bi->ram_start = 1 << 20;
        bi->ram_end = (1 << 20) + (uintptr_t)mb->mem_upper * 1024;
        hw_add_bank(bi->ram_start, bi->ram_end - bi->ram_start);
    }
    if (bi->ram_end > IDENTITY_MAPPED)
        bi->ram_end = IDENTITY_MAPPED;
    return bi->ram_end > bi->ram_start ? 0 : -1;
}

void arch_start(uint32_t magic, uint32_t info)
{
    static struct boot_info bi = {.machine = "QEMU pc, multiboot, long mode"};
    const struct multiboot_info *mb = (const void *)(uintptr_t)info;
    uart16550_init();
    idt_init();
    tsc_hz = calibrate_tsc();
    idle_ticks_init();
    if (magic != MULTIBOOT_MAGIC || ram_region(mb, &bi) != 0) {
        kprintf("auton: error: no usable multiboot memory map (magic 0x%x)\n", magic);
        kexit(EXIT_BOOT);
    }
    if (mb->flags & MB_FLAG_CMDLINE) {
        const char *c = (const char *)(uintptr_t)mb->cmdline;
        size_t n = 0;
        while (n + 1 < sizeof bi.cmdline && c[n])
            n++;
        memcpy(bi.cmdline, c, n);
        bi.cmdline[n] = '\0';
    }
    static const struct pci_host ports = {.bus_start = 0, .bus_end = 255};
    pci_enumerate(&ports);
    cpu_ids();
    smp_start();
    kmain(&bi);
}
