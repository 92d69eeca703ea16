/* A small vsnprintf for freestanding code: the runtime's error messages, and the kernel's
 * console printf (kernel/lib wraps it). Conversions: %d %i %u %x %X %p %s %c %% and %.Nf
 * (fixed-point, N <= 9, default 6), with flags '-' '0', a width, a precision (also for %s
 * and %.*s) and the length modifiers l, ll, z. Always NUL-terminates when n > 0 and returns
 * the length the full output would have had (like C99 snprintf). */
#ifndef AUTON_FMT_H
#define AUTON_FMT_H

#include <stdarg.h>
#include <stddef.h>

size_t slm_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
size_t slm_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
