/* The block kernels one ISA path provides (quant.h describes the canonical order they all
 * follow). quant.c holds the portable path and picks one at run time; quant_x86.c and
 * quant_arm.c hold the SIMD paths, each compiled for its instructions with target attributes
 * and used only when the CPU (and, on x86_64, the OS's saved state) has them. */
#ifndef AUTON_QUANT_ISA_H
#define AUTON_QUANT_ISA_H

#include "quant.h"

/* out[i] = row i . v for nrows rows of row_bytes each at w (v prepared for their type). */
typedef void qt_rows_fn(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v);

/* out[t * ld + i] = row i . v[t] for nrows rows and n > 1 vectors (a batched prefill's tile). */
typedef void qt_batch_fn(float *out, size_t ld, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v,
                         uint32_t n);

typedef struct {
    const char *name;
    int (*available)(void);
    qt_rows_fn *rows_f32, *rows_q8_0, *rows_q4_0;
    qt_batch_fn *batch_q8_0, *batch_q4_0; /* optional: NULL runs rows_* once per vector */
    float (*dot_f16)(const uint16_t *a, const float *b, uint32_t n);
    void (*axpy_f16)(float *y, float a, const uint16_t *x, uint32_t n);
    /* optional: NULL runs dot_f16 / axpy_f16 once per cached row (quant.h's qt_scores_f16,
     * qt_mix_f16) */
    void (*scores_f16)(float *out, const uint16_t *k, size_t stride, const float *q, uint32_t n, uint32_t npos,
                       float scale);
    void (*mix_f16)(float *y, const float *a, const uint16_t *v, size_t stride, uint32_t n, uint32_t npos);
} qt_kernels;

extern const qt_kernels qt_portable, qt_swar; /* swar: quant_swar.c, on every arch */
#if defined(__x86_64__)
extern const qt_kernels qt_ssse3, qt_avx2;
#elif defined(__aarch64__)
extern const qt_kernels qt_neon, qt_sdot;
#elif defined(__riscv)
extern const qt_kernels qt_rvv; /* quant_rvv.c: the V extension */
#endif

/* The path in use (quant_pick.c): the one qt_set_isa chose, its NULL kernels the portable ones;
 * the first call without a choice chooses "best". */
const qt_kernels *qt_active(void);

/* Rows qt_rows hands a kernel at once (they interleave independent rows to hide latency). */
#define QT_ROW_GROUP 4

/* A qt_rows_fn that runs BODY(R, ...) on groups of QT_ROW_GROUP rows, then on the rest one by
 * one (R a constant in each; BODY sees out, w, row_bytes, v and nb, the blocks per row). */
#define QT_ROWS_GROUPED(name, BODY, ...)                                                                               \
    static void name(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v)                  \
    {                                                                                                                  \
        uint32_t nb = v->n / QK;                                                                                       \
        for (; nrows >= QT_ROW_GROUP; nrows -= QT_ROW_GROUP, w += QT_ROW_GROUP * row_bytes, out += QT_ROW_GROUP)       \
            BODY(QT_ROW_GROUP, __VA_ARGS__);                                                                           \
        for (; nrows > 0; nrows--, w += row_bytes, out++)                                                              \
            BODY(1, __VA_ARGS__);                                                                                      \
    }

/* The swar arithmetic that quant_swar.c and quant_rvv.c share (quant_swar.c explains it): a
 * word's byte pairs k, k + 4 (shifted down by 8k), a pair's signed offset, a byte in every lane. */
#define QT_PAIRS     0x000000ff000000ffull
#define QT_PAIR_BIAS 0x0000008000000080ull
#define QT_BYTES(b)  (0x0101010101010101ull * (b))

/* A qt_rows_fn over a one-row Q8_0/Q4_0 kernel dot(w, xq, xd, nb). */
#define QT_ROWS_OF(name, dot, block_type)                                                                              \
    static void name(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v)                  \
    {                                                                                                                  \
        for (uint32_t r = 0; r < nrows; r++)                                                                           \
            out[r] = dot((const block_type *)(w + r * row_bytes), v->s.xq, v->s.xd, v->n / QK);                        \
    }

/* The canonical 8-lane reduction of the Q8_0/Q4_0 dot products. */
static inline float qt_hsum8(const float a[8])
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* The F32 kernel's tail past its last run of 16 values, in order. */
static inline float qt_dot_f32_tail(float s, const float *a, const float *b, uint32_t i, uint32_t n)
{
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The F16 kernels' tails past the last full vector, in order (every path shares them). */
static inline float qt_dot_f16_tail(float s, const uint16_t *a, const float *b, uint32_t i, uint32_t n)
{
    for (; i < n; i++)
        s += fp16_to_fp32(a[i]) * b[i];
    return s;
}

static inline void qt_axpy_f16_tail(float *y, float a, const uint16_t *x, uint32_t i, uint32_t n)
{
    for (; i < n; i++)
        y[i] += a * fp16_to_fp32(x[i]);
}

#endif
