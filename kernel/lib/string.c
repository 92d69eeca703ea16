/* memcpy and friends for the freestanding kernel. The compiler emits calls to memcpy, memset,
 * memmove and memcmp on its own (struct copies, zeroing), so these must exist; this file is
 * built with -fno-builtin -fno-tree-loop-distribute-patterns so GCC does not turn the loops
 * below back into calls to themselves. Word-at-a-time when both pointers share alignment. */
#include "kernel.h"

typedef uintptr_t __attribute__((may_alias)) word;
#define WSIZE      sizeof(word)
#define ALIGNED(p) (((uintptr_t)(p) & (WSIZE - 1)) == 0)

void *memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (((uintptr_t)d & (WSIZE - 1)) == ((uintptr_t)s & (WSIZE - 1))) {
        while (n && !ALIGNED(d)) {
            *d++ = *s++;
            n--;
        }
        for (; n >= 4 * WSIZE; n -= 4 * WSIZE, d += 4 * WSIZE, s += 4 * WSIZE) {
            word *wd = (word *)d;
            const word *ws = (const word *)s;
            wd[0] = ws[0];
            wd[1] = ws[1];
            wd[2] = ws[2];
            wd[3] = ws[3];
        }
        for (; n >= WSIZE; n -= WSIZE, d += WSIZE, s += WSIZE)
            *(word *)d = *(const word *)s;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--) /* overlapping with dst above src: copy backwards */
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    word w = (uint8_t)c;
    w |= w << 8;
    w |= w << 16;
    w |= (w << 16) << 16; /* no-op on 32-bit words */
    while (n && !ALIGNED(d)) {
        *d++ = (uint8_t)c;
        n--;
    }
    for (; n >= WSIZE; n -= WSIZE, d += WSIZE)
        *(word *)d = w;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (uint8_t)*a < (uint8_t)*b ? -1 : 1;
        if (!*a)
            return 0;
    }
    return 0;
}
