/* Internal helpers shared by the runtime's modules (not part of the public API). */
#ifndef AUTON_RT_H
#define AUTON_RT_H

#include <stddef.h>
#include <stdint.h>

#include "slm.h"

#define RT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* gcc may turn these into calls to memcpy/memset/memcmp: the kernel provides them. */
#define rt_memcpy __builtin_memcpy
#define rt_memset __builtin_memset
#define rt_memcmp __builtin_memcmp

/* Write a one-line message (printf-style, see fmt.h) into err and return `code`. */
int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

size_t rt_strlen(const char *s);
int rt_streq(const char *a, const char *b); /* 1 when the two strings are equal */

/* Arena allocation, 64-byte aligned. arena_alloc takes from the bottom (kept for the model's
 * lifetime), arena_alloc_temp from the top (released all at once by arena_release_temp).
 * Both return NULL when the arena is full; arena_oom formats the message. */
void *arena_alloc(slm_arena *a, size_t size);
void *arena_alloc_temp(slm_arena *a, size_t size);
void arena_release_temp(slm_arena *a);
int arena_oom(const slm_arena *a, size_t size, const char *what, char *err, size_t errlen);

/* FNV-1a over two byte ranges (as if concatenated), for the runtime's hash tables; the same
 * hash built a byte at a time from RT_HASH_INIT with rt_hash_step. */
#define RT_HASH_INIT 2166136261u
static inline uint32_t rt_hash_step(uint32_t h, uint8_t c)
{
    return (h ^ c) * 16777619u;
}
uint32_t rt_hash(const void *a, size_t na, const void *b, size_t nb);

/* Bit casts between floats and their encodings. */
static inline uint32_t rt_f32_bits(float f)
{
    uint32_t b;
    __builtin_memcpy(&b, &f, sizeof b);
    return b;
}
static inline float rt_f32_from(uint32_t b)
{
    float f;
    __builtin_memcpy(&f, &b, sizeof f);
    return f;
}
static inline uint64_t rt_f64_bits(double d)
{
    uint64_t b;
    __builtin_memcpy(&b, &d, sizeof b);
    return b;
}
static inline double rt_f64_from(uint64_t b)
{
    double d;
    __builtin_memcpy(&d, &b, sizeof d);
    return d;
}

/* Read little-endian integers from possibly unaligned bytes. */
static inline uint16_t rt_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t rt_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t rt_le64(const uint8_t *p)
{
    return (uint64_t)rt_le32(p) | ((uint64_t)rt_le32(p + 4) << 32);
}

/* Heap sort of n indices by a strict-weak "less" over them (not stable: break ties in less). */
typedef int (*rt_less_fn)(const void *ctx, uint32_t a, uint32_t b);
void rt_sort(uint32_t *ix, size_t n, rt_less_fn less, const void *ctx);

#endif
