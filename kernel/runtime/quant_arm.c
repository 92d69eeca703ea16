/* The aarch64 block kernels: NEON (smull + pairwise adds) and SDOT (ARMv8.2 dotprod, used when
 * ID_AA64ISAR0_EL1.DP says the CPU has it). Both keep two accumulators of four lanes and
 * compute quant.h's canonical order: lane j is the exact sum of values 4j .. 4j+3, which is
 * what sdot computes per 32-bit lane; multiply and add stay separate (no FMA). */
#if defined(__aarch64__)

#include <arm_neon.h>

#include "quant_isa.h"

#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

static int cpu_has_neon(void)
{
    return 1; /* AdvSIMD is part of the ARMv8-A base the kernel is built for */
}

static int cpu_has_sdot(void)
{
    uint64_t isar0;
    __asm__ volatile("mrs %0, ID_AA64ISAR0_EL1" : "=r"(isar0));
    return ((isar0 >> 44) & 0xf) >= 1;
}

/* ((v0+v2)+(v1+v3)) of v = lo + hi. */
static float hsum8_neon(float32x4_t lo, float32x4_t hi)
{
    float32x4_t v = vaddq_f32(lo, hi);
    float32x2_t p = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(p, 0) + vget_lane_f32(p, 1);
}

/* lane j: sum of w_i * x_i over i in 4j .. 4j+3 of 16 values, as floats. */
static float32x4_t lanes_neon(int8x16_t w, int8x16_t x)
{
    int32x4_t a = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x)));
    int32x4_t b = vpaddlq_s16(vmull_s8(vget_high_s8(w), vget_high_s8(x)));
    return vcvtq_f32_s32(vpaddq_s32(a, b));
}

DOTPROD static float32x4_t lanes_sdot(int8x16_t w, int8x16_t x)
{
    return vcvtq_f32_s32(vdotq_s32(vdupq_n_s32(0), w, x));
}

static int8x16_t q4_low(uint8x16_t q)
{
    return vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), vdupq_n_s8(8));
}

static int8x16_t q4_high(uint8x16_t q)
{
    return vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
}

/* One body per product (LANES) and weight type; the block loop is the same for all four. */
#define DOT_BODY(LANES, W0, W1)                                                                                        \
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);                                                        \
    for (uint32_t b = 0; b < nb; b++, xq += QK) {                                                                      \
        float32x4_t d = vdupq_n_f32(fp16_to_fp32(w[b].d) * xd[b]);                                                     \
        lo = vaddq_f32(lo, vmulq_f32(LANES(W0, vld1q_s8(xq)), d));                                                     \
        hi = vaddq_f32(hi, vmulq_f32(LANES(W1, vld1q_s8(xq + 16)), d));                                                \
    }                                                                                                                  \
    return hsum8_neon(lo, hi)

static float dot_q8_0_neon(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(lanes_neon, vld1q_s8(w[b].qs), vld1q_s8(w[b].qs + 16));
}

static float dot_q4_0_neon(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(lanes_neon, q4_low(vld1q_u8(w[b].qs)), q4_high(vld1q_u8(w[b].qs)));
}

DOTPROD static float dot_q8_0_sdot(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(lanes_sdot, vld1q_s8(w[b].qs), vld1q_s8(w[b].qs + 16));
}

DOTPROD static float dot_q4_0_sdot(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(lanes_sdot, q4_low(vld1q_u8(w[b].qs)), q4_high(vld1q_u8(w[b].qs)));
}

QT_ROWS_OF(rows_q8_0_neon, dot_q8_0_neon, block_q8_0)
QT_ROWS_OF(rows_q4_0_neon, dot_q4_0_neon, block_q4_0)
QT_ROWS_OF(rows_q8_0_sdot, dot_q8_0_sdot, block_q8_0)
QT_ROWS_OF(rows_q4_0_sdot, dot_q4_0_sdot, block_q4_0)

/* The F16 kernels: quant.c's lanes s0, s1; halves convert exactly with fcvtl. */
static float dot_f16_neon(const uint16_t *a, const float *b, uint32_t n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(a + i));
        s0 = vaddq_f32(s0, vmulq_f32(vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(b + i)));
        s1 = vaddq_f32(s1, vmulq_f32(vcvt_high_f32_f16(h), vld1q_f32(b + i + 4)));
    }
    float32x4_t c = vaddq_f32(s0, s1);
    float r = (vgetq_lane_f32(c, 0) + vgetq_lane_f32(c, 1)) + (vgetq_lane_f32(c, 2) + vgetq_lane_f32(c, 3));
    return qt_dot_f16_tail(r, a, b, i, n);
}

static void axpy_f16_neon(float *y, float a, const uint16_t *x, uint32_t n)
{
    float32x4_t va = vdupq_n_f32(a);
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t h = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i)));
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_f32(va, h)));
    }
    qt_axpy_f16_tail(y, a, x, i, n);
}

const qt_kernels qt_neon = {"neon", cpu_has_neon, NULL,         rows_q8_0_neon, rows_q4_0_neon,
                            NULL,   NULL,         dot_f16_neon, axpy_f16_neon};
const qt_kernels qt_sdot = {"sdot", cpu_has_sdot, NULL,         rows_q8_0_sdot, rows_q4_0_sdot,
                            NULL,   NULL,         dot_f16_neon, axpy_f16_neon};

#endif
