/* The block kernels one ISA path provides (quant.h describes the canonical order they all
 * follow). quant.c holds the portable path and picks one at run time; quant_x86.c and
 * quant_arm.c hold the SIMD paths, each compiled for its instructions with target attributes
 * and used only when the CPU (and, on x86_64, the OS's saved state) has them. */
#ifndef AUTON_QUANT_ISA_H
#define AUTON_QUANT_ISA_H

#include "quant.h"

typedef struct {
    const char *name;
    int (*available)(void);
    /* one row against the Q8_0 activation: nb blocks of weights, xq/xd as in qt_scratch */
    float (*dot_q8_0)(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb);
    float (*dot_q4_0)(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb);
    float (*dot_f16)(const uint16_t *a, const float *b, uint32_t n);
    void (*axpy_f16)(float *y, float a, const uint16_t *x, uint32_t n);
} qt_kernels;

extern const qt_kernels qt_portable;
#if defined(__x86_64__)
extern const qt_kernels qt_ssse3, qt_avx2;
#elif defined(__aarch64__)
extern const qt_kernels qt_neon, qt_sdot;
#endif

/* The canonical 8-lane reduction of the Q8_0/Q4_0 dot products. */
static inline float qt_hsum8(const float a[8])
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
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
