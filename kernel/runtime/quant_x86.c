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

SSSE3 static float dot_q8_0_ssse3(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        __m128 d = _mm_set1_ps(fp16_to_fp32(w[b].d) * xd[b]);
        __m128i w0 = _mm_loadu_si128((const __m128i *)w[b].qs), w1 = _mm_loadu_si128((const __m128i *)(w[b].qs + 16));
        __m128i x0 = _mm_loadu_si128((const __m128i *)xq), x1 = _mm_loadu_si128((const __m128i *)(xq + 16));
        lo = _mm_add_ps(lo, _mm_mul_ps(lanes_128(w0, x0), d));
        hi = _mm_add_ps(hi, _mm_mul_ps(lanes_128(w1, x1), d));
    }
    return hsum8_128(lo, hi);
}

SSSE3 static float dot_q4_0_ssse3(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
    const __m128i mask = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        __m128 d = _mm_set1_ps(fp16_to_fp32(w[b].d) * xd[b]);
        __m128i q = _mm_loadu_si128((const __m128i *)w[b].qs);
        __m128i w0 = _mm_sub_epi8(_mm_and_si128(q, mask), eight);
        __m128i w1 = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), mask), eight);
        __m128i x0 = _mm_loadu_si128((const __m128i *)xq), x1 = _mm_loadu_si128((const __m128i *)(xq + 16));
        lo = _mm_add_ps(lo, _mm_mul_ps(lanes_128(w0, x0), d));
        hi = _mm_add_ps(hi, _mm_mul_ps(lanes_128(w1, x1), d));
    }
    return hsum8_128(lo, hi);
}

AVX2 static float hsum8_256(__m256 a)
{
    return hsum8_128(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
}

AVX2 static __m256 lanes_256(__m256i w, __m256i x)
{
    __m256i prod = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(prod, _mm256_set1_epi16(1)));
}

AVX2 static float dot_q8_0_avx2(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        __m256 d = _mm256_set1_ps(fp16_to_fp32(w[b].d) * xd[b]);
        __m256i q = _mm256_loadu_si256((const __m256i *)w[b].qs), x = _mm256_loadu_si256((const __m256i *)xq);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(lanes_256(q, x), d));
    }
    return hsum8_256(acc);
}

AVX2 static float dot_q4_0_avx2(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    __m256 acc = _mm256_setzero_ps();
    const __m256i mask = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        __m256 d = _mm256_set1_ps(fp16_to_fp32(w[b].d) * xd[b]);
        __m128i q = _mm_loadu_si128((const __m128i *)w[b].qs);
        __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q); /* values 0..15, then 16..31 */
        __m256i v = _mm256_sub_epi8(_mm256_and_si256(both, mask), eight);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(lanes_256(v, _mm256_loadu_si256((const __m256i *)xq)), d));
    }
    return hsum8_256(acc);
}

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

const qt_kernels qt_ssse3 = {"ssse3", cpu_has_ssse3, dot_q8_0_ssse3, dot_q4_0_ssse3, NULL, NULL};
const qt_kernels qt_avx2 = {"avx2", cpu_has_avx2, dot_q8_0_avx2, dot_q4_0_avx2, dot_f16_avx2, axpy_f16_avx2};

#endif
