#include "rt.h"

#define ARENA_ALIGN 64

void slm_arena_init(slm_arena *a, void *base, size_t size)
{
    uintptr_t p = (uintptr_t)base, q = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    size_t skip = (size_t)(q - p);
    a->base = (uint8_t *)q;
    a->size = size > skip ? (size - skip) & ~(size_t)(ARENA_ALIGN - 1) : 0;
    a->used = a->peak = a->temp = 0;
}

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static size_t free_bytes(const slm_arena *a)
{
    return a->size - a->used - a->temp;
}

static void note_peak(slm_arena *a)
{
    if (a->used + a->temp > a->peak)
        a->peak = a->used + a->temp;
}

void *arena_alloc(slm_arena *a, size_t size)
{
    if (size > free_bytes(a) || round_up(size) > free_bytes(a))
        return NULL;
    void *p = a->base + a->used;
    a->used += round_up(size);
    note_peak(a);
    return p;
}

void *arena_alloc_temp(slm_arena *a, size_t size)
{
    if (size > free_bytes(a) || round_up(size) > free_bytes(a))
        return NULL;
    a->temp += round_up(size);
    note_peak(a);
    return a->base + a->size - a->temp;
}

void arena_release_temp(slm_arena *a)
{
    a->temp = 0;
}

int arena_oom(const slm_arena *a, size_t size, const char *what, char *err, size_t errlen)
{
    return rt_fail(err, errlen, SLM_E_NOMEM, "out of memory: %s needs %zu bytes, the arena has %zu of %zu free", what,
                   size, free_bytes(a), a->size);
}
