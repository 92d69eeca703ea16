/* The aarch64 block kernels: NEON (smull + pairwise adds) and SDOT (ARMv8.2 dotprod, used when
 * ID_AA64ISAR0_EL1.DP says the CPU has it). Both keep two accumulators of four lanes and
 * compute quant.h's canonical order; multiply and add stay separate (no FMA). */
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

/* Four int32 parts of w . x over 16 values. */
static int32x4_t part_neon(int8x16_t w, int8x16_t x)
{
    int32x4_t a = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x)));
    return vpadalq_s16(a, vmull_high_s8(w, x));
}

DOTPROD static int32x4_t part_sdot(int8x16_t w, int8x16_t x)
{
    return vdotq_s32(vdupq_n_s32(0), w, x);
}

/* Block b of the row at w as two halves of 16 signed values (values 0..15, 16..31). */
static void block_neon(const uint8_t *w, uint32_t b, int q4, int8x16_t *v0, int8x16_t *v1)
{
    if (q4) {
        uint8x16_t q = vld1q_u8(((const block_q4_0 *)w)[b].qs);
        *v0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), vdupq_n_s8(8));
        *v1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
    } else {
        const int8_t *q = ((const block_q8_0 *)w)[b].qs;
        *v0 = vld1q_s8(q);
        *v1 = vld1q_s8(q + 16);
    }
}

/* The weight scales of blocks [b, b + m) (0 past m) times the activation's. */
static float32x4_t scales_neon(const uint8_t *w, uint32_t b, uint32_t m, const float *xd, int q4)
{
    uint16_t h[4];
    float x[4];
    for (uint32_t k = 0; k < 4; k++) {
        h[k] = k >= m ? 0 : q4 ? ((const block_q4_0 *)w)[b + k].d : ((const block_q8_0 *)w)[b + k].d;
        x[k] = k < m ? xd[b + k] : 0.0f;
    }
    return vmulq_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h))), vld1q_f32(x));
}

/* quant.h's order over groups of eight blocks: each block's exact integer sum in a lane (the
 * parts reduced by pairwise adds), scaled and added onto lanes b % 8 (lo: 0..3, hi: 4..7). */
#define DOT_BODY(PART, Q4)                                                                                             \
    float32x4_t acc[2] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};                                                       \
    const uint8_t *row = (const uint8_t *)w;                                                                           \
    for (uint32_t b = 0; b < nb; b += 4) {                                                                             \
        uint32_t m = RT_MIN(4u, nb - b);                                                                               \
        int32x4_t p[4];                                                                                                \
        for (uint32_t k = 0; k < 4; k++) {                                                                             \
            p[k] = vdupq_n_s32(0);                                                                                     \
            if (k < m) {                                                                                               \
                int8x16_t w0, w1;                                                                                      \
                block_neon(row, b + k, Q4, &w0, &w1);                                                                  \
                const int8_t *x = xq + (b + k) * QK;                                                                   \
                p[k] = vaddq_s32(PART(w0, vld1q_s8(x)), PART(w1, vld1q_s8(x + 16)));                                   \
            }                                                                                                          \
        }                                                                                                              \
        int32x4_t sums = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));                                   \
        float32x4_t *a = &acc[(b / 4) % 2];                                                                            \
        *a = vaddq_f32(*a, vmulq_f32(vcvtq_f32_s32(sums), scales_neon(row, b, m, xd, Q4)));                            \
    }                                                                                                                  \
    return hsum8_neon(acc[0], acc[1])

static float dot_q8_0_neon(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(part_neon, 0);
}

static float dot_q4_0_neon(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(part_neon, 1);
}

DOTPROD static float dot_q8_0_sdot(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(part_sdot, 0);
}

DOTPROD static float dot_q4_0_sdot(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    DOT_BODY(part_sdot, 1);
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

const qt_kernels qt_neon = {"neon",        cpu_has_neon, NULL, rows_q8_0_neon, rows_q4_0_neon, NULL, NULL, dot_f16_neon,
                            axpy_f16_neon, NULL,         NULL};
const qt_kernels qt_sdot = {"sdot",        cpu_has_sdot, NULL, rows_q8_0_sdot, rows_q4_0_sdot, NULL, NULL, dot_f16_neon,
                            axpy_f16_neon, NULL,         NULL};

#endif
