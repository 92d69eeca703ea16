#include "fmt.h"
#include "rt.h"

int rt_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        slm_vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

size_t rt_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int rt_streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

uint32_t rt_hash(const void *a, size_t na, const void *b, size_t nb)
{
    uint32_t h = RT_HASH_INIT;
    for (size_t i = 0; i < na; i++)
        h = rt_hash_step(h, ((const uint8_t *)a)[i]);
    for (size_t i = 0; i < nb; i++)
        h = rt_hash_step(h, ((const uint8_t *)b)[i]);
    return h;
}

static void sift_down(uint32_t *ix, size_t root, size_t n, rt_less_fn less, const void *ctx)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && less(ctx, ix[c], ix[c + 1]))
            c++;
        if (!less(ctx, ix[root], ix[c]))
            return;
        uint32_t t = ix[root];
        ix[root] = ix[c];
        ix[c] = t;
        root = c;
    }
}

void rt_sort(uint32_t *ix, size_t n, rt_less_fn less, const void *ctx)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(ix, i, n, less, ctx);
    for (size_t end = n; end-- > 1;) {
        uint32_t t = ix[0];
        ix[0] = ix[end];
        ix[end] = t;
        sift_down(ix, 0, end, less, ctx);
    }
}
