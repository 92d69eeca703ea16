/* The portable kernel (main.c, lib/) and the interface each arch's boot code fills in.
 *
 * Boot flow on every arch: entry.S (stack, FP/SIMD on, arch mode setup) -> arch_start() in
 * arch/<arch>/arch.c (console, timer, trap vector, boot info from the DTB or multiboot) ->
 * kmain() in main.c (arena, model, prompt loop). Nothing here allocates: the only dynamic
 * memory is the SLM arena that kmain carves out of the RAM the firmware reports. */
#ifndef AUTON_KERNEL_H
#define AUTON_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_CMDLINE_MAX 1024

/* What the boot code learned from the firmware, copied out of the DTB / multiboot info before
 * kmain runs (those blobs may lie in the RAM that becomes the arena). */
struct boot_info {
    uintptr_t ram_start, ram_end;   /* the RAM region that holds the kernel image */
    char cmdline[BOOT_CMDLINE_MAX]; /* QEMU -append, "" if none */
    const char *machine;            /* e.g. "QEMU virt (OpenSBI, S-mode)" */
};

/* Exit codes the kernel ends QEMU with (tools/kernel.py decodes them per arch). */
enum {
    EXIT_OK = 0,    /* poweroff command */
    EXIT_MODEL = 1, /* the embedded model failed to load (malformed, too big for RAM) */
    EXIT_BOOT = 2,  /* the firmware gave no usable memory map */
    EXIT_TRAP = 3,  /* an unexpected CPU exception */
};

/* Linker-script symbols: the image spans [_kernel_start, _kernel_end). */
extern char _kernel_start[], _kernel_end[];

/* model.S: the GGUF file linked into the image, and its sha256 (hex) computed at build time. */
extern const uint8_t auton_model_start[], auton_model_end[];
extern const char auton_model_sha256[];

/* A free-running counter's ticks at `hz` to microseconds, without overflowing the product. */
static inline uint64_t ticks_to_us(uint64_t ticks, uint64_t hz)
{
    return ticks / hz * 1000000 + ticks % hz * 1000000 / hz;
}

__attribute__((noreturn)) void kmain(const struct boot_info *bi);

/* Print "auton: exit code=N" and end QEMU with that code (plat_exit). */
__attribute__((noreturn)) void kexit(int code);

/* An unexpected CPU exception: print what the arch knows and end QEMU with EXIT_TRAP. */
__attribute__((noreturn)) void kpanic_trap(const char *what, uint64_t cause, uint64_t pc, uint64_t addr);

/* Console output (\n becomes \r\n for terminals); kprintf takes the runtime's format syntax
 * (runtime/fmt.h). */
void kputs(const char *s);
void kwrite(const char *s, size_t len);
__attribute__((format(printf, 1, 2))) int kprintf(const char *fmt, ...);
/* Also copy what the console prints (with \n, not \r\n) into buf[0..size) while *len counts
 * every byte (more than size: the copy is cut); kcapture(NULL, 0, NULL) stops. */
void kcapture(char *buf, size_t size, size_t *len);

/* Read one line from the console with echo and backspace editing; the line ends at CR or LF
 * and is NUL-terminated. Returns its length, or -1 when the input has ended. */
int kreadline(char *buf, size_t size);

/* Fill `bi` (RAM bank holding the kernel image, /chosen bootargs) from a device tree blob, and
 * *timebase_hz from /cpus timebase-frequency when present. Returns 0, or -1 if the blob is not
 * a valid FDT or names no RAM bank that holds the kernel. */
int fdt_boot_info(const void *blob, struct boot_info *bi, uint64_t *timebase_hz);

/* For an fdt_walk visitor (lib/fdt_boot.c): is `node` an enabled cpu node directly under /cpus?
 * Then *id is its reg (riscv64: the hart id; aarch64: the MPIDR affinity) and it returns 0. */
struct fdt_node;
int fdt_cpu_id(const struct fdt_node *node, uint64_t *id);

/* The libc functions the freestanding build provides (lib/string.c): the compiler emits calls
 * to the mem* ones by itself. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* An ASCII letter or digit. */
static inline int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* An ASCII letter lowercased; any other byte as it is. */
static inline char to_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#endif
