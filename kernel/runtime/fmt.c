#include "fmt.h"

#include <stdint.h>

typedef struct {
    char *buf;
    size_t cap; /* bytes available for characters (n - 1) */
    size_t len; /* characters produced so far, written or not */
} out_t;

static void put(out_t *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(out_t *o, const char *s, size_t n, int width, int left, char pad)
{
    size_t w = width > 0 ? (size_t)width : 0;
    if (!left)
        for (size_t i = n; i < w; i++)
            put(o, pad);
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
    if (left)
        for (size_t i = n; i < w; i++)
            put(o, ' ');
}

/* Digits of v in `base` into the end of tmp[24]; returns the start. */
static char *utoa(char *end, unsigned long long v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

static void put_int(out_t *o, unsigned long long mag, int neg, unsigned base, int upper, int width, int left, char pad)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = utoa(end, mag, base, upper);
    if (neg) {
        if (pad == '0') { /* sign before the zeros */
            put(o, '-');
            width = width > 0 ? width - 1 : 0;
        } else {
            *--p = '-';
        }
    }
    put_padded(o, p, (size_t)(end - p), width, left, pad);
}

static void put_fixed(out_t *o, double v, int prec, int width, int left, char pad)
{
    char tmp[48];
    size_t n = 0;
    if (v != v) {
        put_padded(o, "nan", 3, width, left, ' ');
        return;
    }
    if (v < 0) {
        tmp[n++] = '-';
        v = -v;
    }
    if (v > 1e18) {
        tmp[n++] = 'i';
        tmp[n++] = 'n';
        tmp[n++] = 'f';
        put_padded(o, tmp, n, width, left, ' ');
        return;
    }
    if (prec > 9)
        prec = 9;
    unsigned long long scale = 1;
    for (int i = 0; i < prec; i++)
        scale *= 10;
    double t = v * (double)scale;
    unsigned long long fixed = (unsigned long long)t; /* round half to even, as libc does */
    double frac = t - (double)fixed;
    if (frac > 0.5 || (frac == 0.5 && (fixed & 1)))
        fixed++;
    unsigned long long ip = fixed / scale, fp = fixed % scale;
    char digits[24];
    char *end = digits + sizeof digits;
    for (char *p = utoa(end, ip, 10, 0); p < end; p++)
        tmp[n++] = *p;
    if (prec > 0) {
        tmp[n++] = '.';
        char *p = utoa(end, fp, 10, 0);
        for (int i = (int)(end - p); i < prec; i++)
            tmp[n++] = '0';
        for (; p < end; p++)
            tmp[n++] = *p;
    }
    if (pad == '0' && tmp[0] == '-') {
        put(o, '-');
        put_padded(o, tmp + 1, n - 1, width - 1, left, pad);
    } else {
        put_padded(o, tmp, n, width, left, pad);
    }
}

size_t slm_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    out_t o = {buf, n ? n - 1 : 0, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f++;
        int left = 0, width = 0, prec = -1, lng = 0;
        char pad = ' ';
        for (;; f++) {
            if (*f == '-')
                left = 1;
            else if (*f == '0')
                pad = '0';
            else
                break;
        }
        if (*f == '*') {
            width = va_arg(ap, int);
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                width = width * 10 + (*f++ - '0');
        }
        if (*f == '.') {
            f++;
            prec = 0;
            if (*f == '*') {
                prec = va_arg(ap, int);
                f++;
            } else {
                while (*f >= '0' && *f <= '9')
                    prec = prec * 10 + (*f++ - '0');
            }
        }
        if (left)
            pad = ' ';
        for (; *f == 'l' || *f == 'z'; f++)
            lng = *f == 'z' ? 3 : lng + 1;
        switch (*f) {
        case 'd':
        case 'i': {
            long long v = lng == 0   ? va_arg(ap, int)
                          : lng == 1 ? va_arg(ap, long)
                          : lng == 3 ? (long long)va_arg(ap, ptrdiff_t)
                                     : va_arg(ap, long long);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            put_int(&o, mag, v < 0, 10, 0, width, left, pad);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = lng == 0   ? va_arg(ap, unsigned)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                   : lng == 3 ? va_arg(ap, size_t)
                                              : va_arg(ap, unsigned long long);
            put_int(&o, v, 0, *f == 'u' ? 10 : 16, *f == 'X', width, left, pad);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_int(&o, (uintptr_t)va_arg(ap, void *), 0, 16, 0, 0, 0, ' ');
            break;
        case 'f':
            put_fixed(&o, va_arg(ap, double), prec < 0 ? 6 : prec, width, left, pad);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t len = 0;
            while ((prec < 0 || len < (size_t)prec) && s[len])
                len++;
            put_padded(&o, s, len, width, left, ' ');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            put_padded(&o, &c, 1, width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case '\0':
            f--; /* a lone '%' at the end */
            break;
        default: /* unknown conversion: print it verbatim */
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    if (n)
        buf[o.len < o.cap ? o.len : o.cap] = '\0';
    return o.len;
}

size_t slm_snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t r = slm_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
