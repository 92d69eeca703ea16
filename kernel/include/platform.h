/* The hooks every platform (each arch's boot code, and the host build) provides to the
 * portable kernel code and the SLM runtime. Nothing else in kernel/runtime/ touches hardware. */
#ifndef AUTON_PLATFORM_H
#define AUTON_PLATFORM_H

#include <stdint.h>

/* Write one byte to the console (serial UART, or stdout on the host). */
void plat_putc(int c);

/* Read one byte from the console, blocking; -1 when the input has ended (host EOF). */
int plat_getc(void);

/* Monotonic time in microseconds since an arbitrary origin. */
uint64_t plat_time_us(void);

/* End the machine (QEMU, or the host process) with an exit code: 0 success, non-zero failure. */
__attribute__((noreturn)) void plat_exit(int code);

/* Name of the architecture, e.g. "riscv64". */
const char *plat_arch_name(void);

#endif
