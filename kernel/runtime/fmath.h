/* Freestanding math for the runtime: no libm. Each float function evaluates in double and
 * rounds once, so results are within one ulp of the true value (almost always the correctly
 * rounded one, as glibc gives), on every arch alike. */
#ifndef AUTON_FMATH_H
#define AUTON_FMATH_H

float fm_expf(float x);
float fm_sqrtf(float x);
float fm_sinf(float x);
float fm_cosf(float x);
void fm_sincosf(float x, float *s, float *c);
/* e^x on four floats at once, for SiLU and softmax: float arithmetic only (range reduction by
 * ln 2 in two parts, a degree-7 polynomial, the power of two in two exact steps), written with
 * generic vectors so every arch computes the same bits; within 1 ulp of the true value, 0 below
 * -104 (subnormals kept above), inf above 88.73, NaN stays NaN. */
typedef float fm_v4f __attribute__((vector_size(16)));
typedef int fm_v4i __attribute__((vector_size(16)));

/* m ? a : b per lane, for a comparison's mask m (all ones or all zeros). */
static inline fm_v4f fm_sel4(fm_v4i m, fm_v4f a, fm_v4f b)
{
    return (fm_v4f)((m & (fm_v4i)a) | (~m & (fm_v4i)b));
}

static inline fm_v4f fm_splat4(float v)
{
    return (fm_v4f){v, v, v, v};
}

/* Inline: the callers' loops overlap the polynomial's chains of several calls. */
static inline fm_v4f fm_expf4(fm_v4f x)
{
    const fm_v4f magic = fm_splat4(12582912.0f);         /* 1.5 * 2^23 */
    fm_v4f xc = fm_sel4(x > 88.8f, fm_splat4(88.8f), x); /* NaN fails both tests */
    xc = fm_sel4(xc < -104.0f, fm_splat4(-104.0f), xc);
    fm_v4f k = (xc * 1.44269504f + magic) - magic;            /* round(x / ln 2), half to even */
    fm_v4f r = (xc - k * 0.693359375f) - k * -2.12194440e-4f; /* ln 2 = 0.693359375 - 2.12e-4 */
    fm_v4f p = fm_splat4(1.9875691500e-4f);                   /* e^r = 1 + r + r^2 (1/2 + r/6 + ...) */
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = (p * (r * r) + r) + 1.0f;
    fm_v4i ki = __builtin_convertvector(k, fm_v4i), k1 = ki >> 1, k2 = ki - k1;
    fm_v4f s1 = (fm_v4f)((k1 + 127) << 23), s2 = (fm_v4f)((k2 + 127) << 23); /* 2^k1 * 2^k2 = 2^k */
    fm_v4f y = (p * s1) * s2;
    y = fm_sel4(x > 88.72283f, fm_splat4(__builtin_inff()), y);
    y = fm_sel4(x < -103.97f, fm_splat4(0.0f), y);
    return fm_sel4(x != x, x, y);
}

/* x ** y for x > 0 (what RoPE's frequency base needs); NaN for x <= 0. */
float fm_powf(float x, float y);

#endif
