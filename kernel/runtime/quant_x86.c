/* The x86_64 block kernels: SSSE3 (128 bits, two accumulators of four lanes) and AVX2 with F16C
 * (one accumulator of eight lanes; scales and the KV cache's halves converted by vcvtph2ps). Both
 * compute quant.h's canonical order over groups of eight blocks: the signed products go through
 * pmaddubsw as |w| * sign(x, w), exact because every activation is in [-127, 127], pmaddwd and
 * phaddd reduce each block to its exact integer sum, one lane per block, and those are scaled
 * and added onto the lanes; multiply and add stay separate (no FMA). */
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

static INLINE uint16_t block_scale(const uint8_t *w, uint32_t b, int q4)
{
    return q4 ? ((const block_q4_0 *)w)[b].d : ((const block_q8_0 *)w)[b].d;
}

/* The block group [b, b + m) of a row: its weight scales times the activation's, m <= 8 lanes
 * (the rest 0), as quant.h's d = fp16(w.d) * x.d. */
static INLINE void group_scales(float d[8], const uint8_t *w, uint32_t b, uint32_t m, const float *xd, int q4)
{
    for (uint32_t k = 0; k < 8; k++)
        d[k] = k < m ? fp16_to_fp32(block_scale(w, b + k, q4)) * xd[b + k] : 0.0f;
}

/* Block b of the row at w as two halves of 16 signed values (values 0..15, 16..31). */
SSSE3 static INLINE void block_128(const uint8_t *w, uint32_t b, int q4, __m128i *v0, __m128i *v1)
{
    if (q4) {
        const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
        __m128i q = _mm_loadu_si128((const __m128i *)((const block_q4_0 *)w)[b].qs);
        *v0 = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
        *v1 = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
    } else {
        const int8_t *q = ((const block_q8_0 *)w)[b].qs;
        *v0 = _mm_loadu_si128((const __m128i *)q);
        *v1 = _mm_loadu_si128((const __m128i *)(q + 16));
    }
}

/* Four int32 parts of w . x over 16 values (exact: every activation is in [-127, 127]). */
SSSE3 static INLINE __m128i part_128(__m128i w, __m128i x)
{
    return _mm_madd_epi16(_mm_maddubs_epi16(_mm_sign_epi8(w, w), _mm_sign_epi8(x, w)), _mm_set1_epi16(1));
}

/* Block b's four parts, or 0 past the row's m blocks of this group. */
SSSE3 static INLINE __m128i block_parts_128(const uint8_t *w, uint32_t b, int live, const int8_t *xq, int q4)
{
    if (!live)
        return _mm_setzero_si128();
    __m128i w0, w1;
    block_128(w, b, q4, &w0, &w1);
    const int8_t *x = xq + b * QK;
    return _mm_add_epi32(part_128(w0, _mm_loadu_si128((const __m128i *)x)),
                         part_128(w1, _mm_loadu_si128((const __m128i *)(x + 16))));
}

/* [sum p0, sum p1, sum p2, sum p3]: four blocks' exact integer dot products. */
SSSE3 static INLINE __m128i sums4_128(__m128i p0, __m128i p1, __m128i p2, __m128i p3)
{
    return _mm_hadd_epi32(_mm_hadd_epi32(p0, p1), _mm_hadd_epi32(p2, p3));
}

SSSE3 static INLINE void group_ssse3(float *out, const uint8_t *w, size_t rb, const int R, const qt_vec *v, int q4)
{
    uint32_t nb = v->n / QK;
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const uint8_t *row = w + r * rb;
        __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
        for (uint32_t b = 0; b < nb; b += 8) {
            uint32_t m = RT_MIN(8u, nb - b);
            __m128i p[8];
            for (uint32_t k = 0; k < 8; k++)
                p[k] = block_parts_128(row, b + k, k < m, v->s.xq, q4);
            float d[8];
            group_scales(d, row, b, m, v->s.xd, q4);
            __m128 s0 = _mm_cvtepi32_ps(sums4_128(p[0], p[1], p[2], p[3]));
            __m128 s1 = _mm_cvtepi32_ps(sums4_128(p[4], p[5], p[6], p[7]));
            lo = _mm_add_ps(lo, _mm_mul_ps(s0, _mm_loadu_ps(d)));
            hi = _mm_add_ps(hi, _mm_mul_ps(s1, _mm_loadu_ps(d + 4)));
        }
        out[r] = hsum8_128(lo, hi);
    }
}

ROWS_OF_GROUP(SSSE3, rows_q8_0_ssse3, group_ssse3, 0)

ROWS_OF_GROUP(SSSE3, rows_q4_0_ssse3, group_ssse3, 1)

AVX2 static float hsum8_256(__m256 a)
{
    return hsum8_128(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
}

/* Block b of the row at w as 32 values (0 when not live): Q8_0's signed values, Q4_0's unsigned
 * nibbles (the -8 comes off each block's sum: s = nib . x - 8 * sum(x), exact). */
AVX2 static INLINE __m256i block_256(const uint8_t *w, uint32_t b, int live, int q4)
{
    if (!live)
        return _mm256_setzero_si256();
    if (q4) { /* the 16 bytes in both halves, the upper half shifted: values 0..15, then 16..31 */
        __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)((const block_q4_0 *)w)[b].qs));
        return _mm256_and_si256(_mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                                _mm256_set1_epi8(0x0f));
    }
    return _mm256_loadu_si256((const __m256i *)((const block_q8_0 *)w)[b].qs);
}

/* Sixteen int16 pair sums of w . x over 32 values (pmaddubsw), given |w| for Q8_0 (exact:
 * activations are in [-127, 127]); Q4_0's nibbles are unsigned already. */
AVX2 static INLINE __m256i prod_256(__m256i w, __m256i aw, __m256i x, int q4)
{
    return q4 ? _mm256_maddubs_epi16(w, x) : _mm256_maddubs_epi16(aw, _mm256_sign_epi8(x, w));
}

/* 8 * the activation's sums of blocks [b, b + m), 0 past m: Q4_0's offset. */
AVX2 static INLINE __m256i offsets_256(const int32_t *xs, uint32_t b, uint32_t m)
{
    if (m == 8)
        return _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(xs + b)), 3);
    int32_t o[8];
    for (uint32_t k = 0; k < 8; k++)
        o[k] = k < m ? 8 * xs[b + k] : 0;
    return _mm256_loadu_si256((const __m256i *)o);
}

/* The group's activation values for block b + k, 0 past its m blocks. */
AVX2 static INLINE __m256i act_256(const int8_t *xq, uint32_t b, uint32_t k, uint32_t m)
{
    return k < m ? _mm256_loadu_si256((const __m256i *)(xq + (b + k) * QK)) : _mm256_setzero_si256();
}

/* The weight scales of blocks [b, b + m), 0 past m, converted exactly by F16C. */
AVX2 static INLINE __m256 wscales_256(const uint8_t *w, uint32_t b, uint32_t m, int q4)
{
    short h[8]; /* built in registers by _mm_set_epi16 (no store-to-load stall) */
    for (uint32_t k = 0; k < 8; k++)
        h[k] = (short)(k < m ? block_scale(w, b + k, q4) : 0);
    __m128i v = _mm_set_epi16(h[7], h[6], h[5], h[4], h[3], h[2], h[1], h[0]);
    return _mm256_cvtph_ps(v);
}

/* The activation's scales of blocks [b, b + m), 0 past m. */
AVX2 static INLINE __m256 xscales_256(const float *xd, uint32_t b, uint32_t m)
{
    if (m == 8)
        return _mm256_loadu_ps(xd + b);
    float d[8];
    for (uint32_t k = 0; k < 8; k++)
        d[k] = k < m ? xd[b + k] : 0.0f;
    return _mm256_loadu_ps(d);
}

/* Two blocks' products as [a's, c's]: the two halves of each added, 16-bit lanes for Q4_0 (its
 * products are small: |a + c| <= 4 * 15 * 127) and 32-bit parts of pmaddwd for Q8_0. */
AVX2 static INLINE __m256i pair_256(__m256i a, __m256i c, int q4)
{
    const __m256i one = _mm256_set1_epi16(1);
    if (!q4) {
        a = _mm256_madd_epi16(a, one);
        c = _mm256_madd_epi16(c, one);
    }
    __m256i lo = _mm256_blend_epi32(a, c, 0xf0), hi = _mm256_permute2x128_si256(a, c, 0x21);
    return q4 ? _mm256_madd_epi16(_mm256_add_epi16(lo, hi), one) : _mm256_add_epi32(lo, hi);
}

/* Four blocks' products p[0..3] -> [s0, s1, ., . | s2, s3, ., .] once hadd-ed with another four. */
AVX2 static INLINE __m256i quad_256(const __m256i p[4], int q4)
{
    return _mm256_hadd_epi32(pair_256(p[0], p[2], q4), pair_256(p[1], p[3], q4));
}

#define TILE_T 4
/* Bytes ahead of a weight read that the AVX2 kernels prefetch (the rows stream from memory). */
#define PF_DIST 8192

/* T vectors (T <= 4) against one row over the group of blocks [b, b + m): each half group of 4
 * weight blocks is unpacked once for all of them; each block's eight parts are reduced to its
 * exact integer sum, blocks in lane order, and scaled onto acc[t]. */
AVX2 static INLINE void group_step_avx2(__m256 acc[], const uint8_t *row, const qt_vec *v, const int T, uint32_t b,
                                        uint32_t m, int q4)
{
    __m256i y[2][TILE_T];
    for (uint32_t h = 0; h < 2; h++) {
        __m256i wv[4], aw[4];
#pragma GCC unroll 4
        for (uint32_t k = 0; k < 4; k++) {
            wv[k] = block_256(row, b + 4 * h + k, 4 * h + k < m, q4);
            aw[k] = q4 ? wv[k] : _mm256_sign_epi8(wv[k], wv[k]);
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            __m256i p[4];
#pragma GCC unroll 4
            for (uint32_t k = 0; k < 4; k++)
                p[k] = prod_256(wv[k], aw[k], act_256(v[t].s.xq, b, 4 * h + k, m), q4);
            y[h][t] = quad_256(p, q4);
        }
    }
    __m256 dw = wscales_256(row, b, m, q4);
    const uint32_t bb = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    for (uint32_t off = 0; off < 8 * bb; off += 64)
        _mm_prefetch((const char *)row + b * bb + off + PF_DIST, _MM_HINT_T0);
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        /* [s0, s1, s4, s5 | s2, s3, s6, s7] -> blocks in order */
        __m256i sums = _mm256_permute4x64_epi64(_mm256_hadd_epi32(y[0][t], y[1][t]), 0xd8);
        if (q4)
            sums = _mm256_sub_epi32(sums, offsets_256(v[t].s.xs, b, m));
        __m256 d = _mm256_mul_ps(dw, xscales_256(v[t].s.xd, b, m));
        acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_cvtepi32_ps(sums), d));
    }
}

AVX2 static INLINE void tile_avx2(float *out, size_t ld, const uint8_t *row, const qt_vec *v, const int T, int q4)
{
    __m256 acc[TILE_T];
    uint32_t nb = v->n / QK, b = 0;
#pragma GCC unroll 4
    for (int t = 0; t < T; t++)
        acc[t] = _mm256_setzero_ps();
    for (; b + 8 <= nb; b += 8) /* full groups: the checks for a short group fold away */
        group_step_avx2(acc, row, v, T, b, 8, q4);
    if (b < nb)
        group_step_avx2(acc, row, v, T, b, nb - b, q4);
#pragma GCC unroll 4
    for (int t = 0; t < T; t++)
        out[t * ld] = hsum8_256(acc[t]);
}

AVX2 static INLINE void group_avx2(float *out, const uint8_t *w, size_t rb, const int R, const qt_vec *v, int q4)
{
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        tile_avx2(out + r, 0, w + r * rb, v, 1, q4);
}

ROWS_OF_GROUP(AVX2, rows_q8_0_avx2, group_avx2, 0)

ROWS_OF_GROUP(AVX2, rows_q4_0_avx2, group_avx2, 1)

AVX2 static INLINE void batch_avx2(float *out, size_t ld, const uint8_t *w, size_t rb, uint32_t nrows, const qt_vec *v,
                                   uint32_t n, int q4)
{
    uint32_t t = 0;
    for (; t + TILE_T <= n; t += TILE_T)
        for (uint32_t r = 0; r < nrows; r++)
            tile_avx2(out + t * ld + r, ld, w + r * rb, v + t, TILE_T, q4);
    for (; t < n; t++)
        for (uint32_t r = 0; r < nrows; r++)
            tile_avx2(out + t * ld + r, ld, w + r * rb, v + t, 1, q4);
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
            _mm_prefetch((const char *)(row + i) + PF_DIST, _MM_HINT_T0);
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
AVX2 static INLINE __m256 f16_step_256(__m256 s, const uint16_t *a, const float *b)
{
    return _mm256_add_ps(s, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)a)), _mm256_loadu_ps(b)));
}

/* ((c0+c1)+(c2+c3)) of c = the accumulator's halves added. */
AVX2 static INLINE float f16_hsum_256(__m256 s)
{
    __m128 c = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    __m128 p = _mm_add_ps(c, _mm_shuffle_ps(c, c, _MM_SHUFFLE(2, 3, 0, 1))); /* c0+c1, ., c2+c3, . */
    return _mm_cvtss_f32(_mm_add_ss(p, _mm_movehl_ps(p, p)));
}

AVX2 static float dot_f16_avx2(const uint16_t *a, const float *b, uint32_t n)
{
    __m256 s = _mm256_setzero_ps();
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        s = f16_step_256(s, a + i, b + i);
    return qt_dot_f16_tail(f16_hsum_256(s), a, b, i, n);
}

/* Four cached rows at once (independent chains), each as dot_f16_avx2. */
AVX2 static void scores_f16_avx2(float *out, const uint16_t *k, size_t stride, const float *q, uint32_t n,
                                 uint32_t npos, float scale)
{
    uint32_t p = 0;
    for (; p + 4 <= npos; p += 4) {
        __m256 s[4];
        uint32_t i = 0;
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            s[j] = _mm256_setzero_ps();
        for (; i + 8 <= n; i += 8)
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                s[j] = f16_step_256(s[j], k + (p + j) * stride + i, q + i);
        for (int j = 0; j < 4; j++)
            out[p + j] = qt_dot_f16_tail(f16_hsum_256(s[j]), k + (p + j) * stride, q, i, n) * scale;
    }
    for (; p < npos; p++)
        out[p] = dot_f16_avx2(k + p * stride, q, n) * scale;
}

/* R * 8 values of y in registers over all npos rows: per value, quant.c's axpy steps in order. */
AVX2 static INLINE void mix_chunk_avx2(float *y, const float *a, const uint16_t *v, size_t stride, const int R,
                                       uint32_t npos)
{
    __m256 acc[8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        acc[r] = _mm256_setzero_ps();
    for (uint32_t p = 0; p < npos; p++) {
        __m256 va = _mm256_set1_ps(a[p]);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m256 h = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + p * stride + 8 * r)));
            acc[r] = _mm256_add_ps(acc[r], _mm256_mul_ps(va, h));
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        _mm256_storeu_ps(y + 8 * r, acc[r]);
}

AVX2 static void mix_f16_avx2(float *y, const float *a, const uint16_t *v, size_t stride, uint32_t n, uint32_t npos)
{
    uint32_t i = 0;
    for (; i + 64 <= n; i += 64)
        mix_chunk_avx2(y + i, a, v + i, stride, 8, npos);
    for (; i + 8 <= n; i += 8)
        mix_chunk_avx2(y + i, a, v + i, stride, 1, npos);
    if (i == n)
        return;
    rt_memset(y + i, 0, (n - i) * sizeof(float));
    for (uint32_t p = 0; p < npos; p++)
        qt_axpy_f16_tail(y, a[p], v + p * stride, i, n);
}

const qt_kernels qt_ssse3 = {"ssse3", cpu_has_ssse3, NULL, rows_q8_0_ssse3, rows_q4_0_ssse3, NULL, NULL, NULL,
                             NULL,    NULL,          NULL};
const qt_kernels qt_avx2 = {"avx2",         cpu_has_avx2,    rows_f32_avx2,   rows_q8_0_avx2,
                            rows_q4_0_avx2, batch_q8_0_avx2, batch_q4_0_avx2, dot_f16_avx2,
                            NULL,           scores_f16_avx2, mix_f16_avx2};

#endif
