/* The x86_64 block kernels: SSSE3 (pmaddubsw on 128 bits, two accumulators of four lanes) and
 * AVX2 with F16C (one accumulator of eight lanes; the KV cache's halves converted by vcvtph2ps).
 * Both compute quant.h's canonical order: the signed products go through pmaddubsw as
 * |w| * sign(x, w), exact because every activation is in [-127, 127], then pmaddwd with ones
 * makes lane j the sum of values 4j .. 4j+3; multiply and add stay separate (no FMA). */
#if defined(__x86_64__)

#include <cpuid.h>
#include <immintrin.h>

#include "quant_isa.h"
#include "rt.h"

#define SSSE3 __attribute__((target("ssse3")))
#define AVX2  __attribute__((target("avx2,f16c")))

static int cpu_has_ssse3(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3);
}

/* AVX2 and F16C, and the OS saving the YMM state (XCR0 bits 1 and 2, readable once OSXSAVE). */
static int cpu_has_avx2(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_F16C))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6)
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2);
}

/* ((v0+v2)+(v1+v3)) of v = lo + hi: qt_hsum8 of the eight lanes lo:hi. */
SSSE3 static float hsum8_128(__m128 lo, __m128 hi)
{
    __m128 v = _mm_add_ps(lo, hi);
    __m128 p = _mm_add_ps(v, _mm_movehl_ps(v, v));
    return _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, 1)));
}

/* lane j of the result: sum of w_i * x_i for i in 4j .. 4j+3 (16 values). */
SSSE3 static __m128 lanes_128(__m128i w, __m128i x)
{
    __m128i prod = _mm_maddubs_epi16(_mm_sign_epi8(w, w), _mm_sign_epi8(x, w));
    return _mm_cvtepi32_ps(_mm_madd_epi16(prod, _mm_set1_epi16(1)));
}

#define INLINE __attribute__((always_inline)) inline

/* A qt_rows_fn over group(out, w, row_bytes, R, v, ...) for R rows at once: groups of
 * QT_ROW_GROUP rows, then single rows. */
#define ROWS_OF_GROUP(attr, name, group, ...)                                                                          \
    attr static void name(float *out, const uint8_t *w, size_t rb, uint32_t nrows, const qt_vec *v)                    \
    {                                                                                                                  \
        uint32_t r = 0;                                                                                                \
        for (; r + QT_ROW_GROUP <= nrows; r += QT_ROW_GROUP)                                                           \
            group(out + r, w + r * rb, rb, QT_ROW_GROUP, v, ##__VA_ARGS__);                                            \
        for (; r < nrows; r++)                                                                                         \
            group(out + r, w + r * rb, rb, 1, v, ##__VA_ARGS__);                                                       \
    }

/* Block b of the row at w as two halves of 16 signed values (values 0..15, 16..31). */
SSSE3 static INLINE void block_128(const uint8_t *w, uint32_t b, int q4, __m128i *v0, __m128i *v1, uint16_t *d)
{
    if (q4) {
        const block_q4_0 *blk = (const block_q4_0 *)w + b;
        const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
        __m128i q = _mm_loadu_si128((const __m128i *)blk->qs);
        *v0 = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
        *v1 = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
        *d = blk->d;
    } else {
        const block_q8_0 *blk = (const block_q8_0 *)w + b;
        *v0 = _mm_loadu_si128((const __m128i *)blk->qs);
        *v1 = _mm_loadu_si128((const __m128i *)(blk->qs + 16));
        *d = blk->d;
    }
}

/* R rows at once (independent accumulators hide the add latency), Q8_0 or Q4_0 weights. */
SSSE3 static INLINE void group_ssse3(float *out, const uint8_t *w, size_t rb, const int R, const qt_vec *v, int q4)
{
    __m128 lo[QT_ROW_GROUP], hi[QT_ROW_GROUP];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        lo[r] = hi[r] = _mm_setzero_ps();
    const int8_t *xq = v->s.xq;
    for (uint32_t b = 0; b < v->n / QK; b++, xq += QK) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)xq), x1 = _mm_loadu_si128((const __m128i *)(xq + 16));
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m128i w0, w1;
            uint16_t h;
            block_128(w + r * rb, b, q4, &w0, &w1, &h);
            __m128 d = _mm_set1_ps(fp16_to_fp32(h) * v->s.xd[b]);
            lo[r] = _mm_add_ps(lo[r], _mm_mul_ps(lanes_128(w0, x0), d));
            hi[r] = _mm_add_ps(hi[r], _mm_mul_ps(lanes_128(w1, x1), d));
        }
    }
    for (int r = 0; r < R; r++)
        out[r] = hsum8_128(lo[r], hi[r]);
}

ROWS_OF_GROUP(SSSE3, rows_q8_0_ssse3, group_ssse3, 0)

ROWS_OF_GROUP(SSSE3, rows_q4_0_ssse3, group_ssse3, 1)

AVX2 static float hsum8_256(__m256 a)
{
    return hsum8_128(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
}

AVX2 static __m256 lanes_256(__m256i w, __m256i x)
{
    __m256i prod = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, _mm256_set1_epi16(1)));
}

/* Block b of the row at w as 32 signed values, and its scale (converted exactly by F16C). */
AVX2 static INLINE __m256i block_256(const uint8_t *w, uint32_t b, int q4, float *d)
{
    if (q4) {
        const block_q4_0 *blk = (const block_q4_0 *)w + b;
        __m128i q = _mm_loadu_si128((const __m128i *)blk->qs);
        __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q); /* values 0..15, then 16..31 */
        *d = _cvtsh_ss(blk->d);
        return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
    }
    const block_q8_0 *blk = (const block_q8_0 *)w + b;
    *d = _cvtsh_ss(blk->d);
    return _mm256_loadu_si256((const __m256i *)blk->qs);
}

AVX2 static INLINE void group_avx2(float *out, const uint8_t *w, size_t rb, const int R, const qt_vec *v, int q4)
{
    __m256 acc[QT_ROW_GROUP];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        acc[r] = _mm256_setzero_ps();
    const int8_t *xq = v->s.xq;
    for (uint32_t b = 0; b < v->n / QK; b++, xq += QK) {
        __m256i x = _mm256_loadu_si256((const __m256i *)xq);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            float dw;
            __m256i q = block_256(w + r * rb, b, q4, &dw);
            __m256 d = _mm256_set1_ps(dw * v->s.xd[b]);
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(lanes_256(q, x), d));
        }
    }
    for (int r = 0; r < R; r++)
        out[r] = hsum8_256(acc[r]);
}

ROWS_OF_GROUP(AVX2, rows_q8_0_avx2, group_avx2, 0)

ROWS_OF_GROUP(AVX2, rows_q4_0_avx2, group_avx2, 1)

/* A tile of R rows by T vectors (R <= 2, T <= 4): each weight block is loaded and unpacked once
 * for the T vectors. Q4_0 multiplies the unsigned nibbles and subtracts 8 times each lane's
 * activation sum, which gives the same exact integers as the signed values. */
#define TILE_R 2
#define TILE_T 4
AVX2 static INLINE void tile_avx2(float *out, size_t ld, const uint8_t *w, size_t rb, const int R, const qt_vec *v,
                                  const int T, int q4)
{
    __m256 acc[TILE_R][TILE_T];
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
            acc[r][t] = _mm256_setzero_ps();
    for (uint32_t b = 0; b < v->n / QK; b++) {
        __m256i x[TILE_T], xs8[TILE_T];
        __m256 xd[TILE_T];
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            x[t] = _mm256_loadu_si256((const __m256i *)(v[t].s.xq + b * QK));
            xd[t] = _mm256_set1_ps(v[t].s.xd[b]);
            if (q4)
                xs8[t] = _mm256_slli_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x[t]), ones), 3);
        }
#pragma GCC unroll 2
        for (int r = 0; r < R; r++) {
            float dw;
            __m256i q, aq;
            if (q4) {
                const block_q4_0 *blk = (const block_q4_0 *)(w + r * rb) + b;
                __m128i h = _mm_loadu_si128((const __m128i *)blk->qs);
                q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(h, 4), h), _mm256_set1_epi8(0x0f));
                aq = q;
                dw = _cvtsh_ss(blk->d);
            } else {
                const block_q8_0 *blk = (const block_q8_0 *)(w + r * rb) + b;
                q = _mm256_loadu_si256((const __m256i *)blk->qs);
                aq = _mm256_sign_epi8(q, q);
                dw = _cvtsh_ss(blk->d);
            }
            __m256 dr = _mm256_set1_ps(dw);
#pragma GCC unroll 4
            for (int t = 0; t < T; t++) {
                __m256i p = q4 ? _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(aq, x[t]), ones), xs8[t])
                               : _mm256_madd_epi16(_mm256_maddubs_epi16(aq, _mm256_sign_epi8(x[t], q)), ones);
                acc[r][t] = _mm256_add_ps(acc[r][t], _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dr, xd[t])));
            }
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
            out[t * ld + r] = hsum8_256(acc[r][t]);
}

AVX2 static INLINE void batch_avx2(float *out, size_t ld, const uint8_t *w, size_t rb, uint32_t nrows, const qt_vec *v,
                                   uint32_t n, int q4)
{
    uint32_t t = 0;
    for (; t + TILE_T <= n; t += TILE_T) {
        uint32_t r = 0;
        for (; r + TILE_R <= nrows; r += TILE_R)
            tile_avx2(out + t * ld + r, ld, w + r * rb, rb, TILE_R, v + t, TILE_T, q4);
        for (; r < nrows; r++)
            tile_avx2(out + t * ld + r, ld, w + r * rb, rb, 1, v + t, TILE_T, q4);
    }
    for (; t < n; t++)
        for (uint32_t r = 0; r < nrows; r++)
            tile_avx2(out + t * ld + r, ld, w + r * rb, rb, 1, v + t, 1, q4);
}

AVX2 static void batch_q8_0_avx2(float *out, size_t ld, const uint8_t *w, size_t rb, uint32_t nrows, const qt_vec *v,
                                 uint32_t n)
{
    batch_avx2(out, ld, w, rb, nrows, v, n, 0);
}

AVX2 static void batch_q4_0_avx2(float *out, size_t ld, const uint8_t *w, size_t rb, uint32_t nrows, const qt_vec *v,
                                 uint32_t n)
{
    batch_avx2(out, ld, w, rb, nrows, v, n, 1);
}

/* F32 rows in quant.c's order: its lanes s0:s1 and s2:s3 as two 256-bit accumulators per row. */
AVX2 static INLINE void group_f32_avx2(float *out, const uint8_t *w, size_t rb, const int R, const qt_vec *v)
{
    __m256 a[QT_ROW_GROUP], c[QT_ROW_GROUP];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        a[r] = c[r] = _mm256_setzero_ps();
    uint32_t i = 0, n = v->n;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(v->x + i), x1 = _mm256_loadu_ps(v->x + i + 8);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const float *row = (const float *)(w + r * rb);
            a[r] = _mm256_add_ps(a[r], _mm256_mul_ps(_mm256_loadu_ps(row + i), x0));
            c[r] = _mm256_add_ps(c[r], _mm256_mul_ps(_mm256_loadu_ps(row + i + 8), x1));
        }
    }
    for (int r = 0; r < R; r++) {
        __m128 s01 = _mm_add_ps(_mm256_castps256_ps128(a[r]), _mm256_extractf128_ps(a[r], 1));
        __m128 s23 = _mm_add_ps(_mm256_castps256_ps128(c[r]), _mm256_extractf128_ps(c[r], 1));
        __m128 t = _mm_add_ps(s01, s23);
        __m128 p = _mm_add_ps(t, _mm_shuffle_ps(t, t, _MM_SHUFFLE(2, 3, 0, 1))); /* t0+t1, ., t2+t3, . */
        float s = _mm_cvtss_f32(_mm_add_ss(p, _mm_movehl_ps(p, p)));
        out[r] = qt_dot_f32_tail(s, (const float *)(w + r * rb), v->x, i, n);
    }
}

ROWS_OF_GROUP(AVX2, rows_f32_avx2, group_f32_avx2)

/* The F16 kernels: quant.c's lanes s0:s1 as one 256-bit accumulator; halves convert exactly. */
AVX2 static float dot_f16_avx2(const uint16_t *a, const float *b, uint32_t n)
{
    __m256 s = _mm256_setzero_ps();
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 h = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i)));
        s = _mm256_add_ps(s, _mm256_mul_ps(h, _mm256_loadu_ps(b + i)));
    }
    __m128 c = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    __m128 p = _mm_add_ps(c, _mm_shuffle_ps(c, c, _MM_SHUFFLE(2, 3, 0, 1))); /* c0+c1, ., c2+c3, . */
    float r = _mm_cvtss_f32(_mm_add_ss(p, _mm_movehl_ps(p, p)));
    return qt_dot_f16_tail(r, a, b, i, n);
}

AVX2 static void axpy_f16_avx2(float *y, float a, const uint16_t *x, uint32_t n)
{
    __m256 va = _mm256_set1_ps(a);
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 h = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, h)));
    }
    qt_axpy_f16_tail(y, a, x, i, n);
}

const qt_kernels qt_ssse3 = {"ssse3", cpu_has_ssse3, NULL, rows_q8_0_ssse3, rows_q4_0_ssse3, NULL, NULL, NULL, NULL};
const qt_kernels qt_avx2 = {"avx2",          cpu_has_avx2,    rows_f32_avx2, rows_q8_0_avx2, rows_q4_0_avx2,
                            batch_q8_0_avx2, batch_q4_0_avx2, dot_f16_avx2,  axpy_f16_avx2};

#endif
