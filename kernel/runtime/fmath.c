#include "fmath.h"

#include "rt.h"

static const double LN2_HI = 6.93147180369123816490e-01; /* high bits: k * LN2_HI is exact */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double INV_LN2 = 1.44269504088896338700e+00;

/* Round to the nearest integer, halves away from zero (|x| < 2^62). */
static double nearest(double x)
{
    long long k = (long long)(x + (x >= 0 ? 0.5 : -0.5));
    return (double)k;
}

/* 2^k as a double, for -1022 <= k <= 1023. */
static double pow2i(int k)
{
    return rt_f64_from((uint64_t)(k + 1023) << 52);
}

/* e^x in double: x = k ln2 + r, |r| <= ln2/2, e^r by its Taylor series to r^13 (error < 1e-17). */
static double exp_d(double x)
{
    if (x != x)
        return x;
    if (x > 709.78)
        return 1e308 * 10.0; /* +inf */
    if (x < -745.2)
        return 0.0;
    double k = nearest(x * INV_LN2);
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double p = 1.0 / 6227020800.0;
    static const double inv_fact[] = {
        1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0,
        1.0 / 120.0,       1.0 / 24.0,       1.0 / 6.0,       1.0 / 2.0,      1.0,           1.0};
    for (unsigned i = 0; i < sizeof inv_fact / sizeof inv_fact[0]; i++)
        p = p * r + inv_fact[i];
    int ki = (int)k;
    if (ki > 1023)
        return p * pow2i(1023) * 2.0;
    if (ki < -1022)
        return p * pow2i(ki + 200) * pow2i(-200);
    return p * pow2i(ki);
}

/* ln x for finite x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh((m-1)/(m+1)). */
static double log_d(double x)
{
    int e = 0;
    uint64_t b = rt_f64_bits(x);
    if ((b >> 52) == 0) {         /* subnormal */
        x *= 18014398509481984.0; /* 2^54 */
        b = rt_f64_bits(x);
        e = -54;
    }
    e += (int)(b >> 52) - 1023;
    double m = rt_f64_from((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL); /* [1, 2) */
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1.0) / (m + 1.0), s2 = s * s;
    double t = 0.0;
    for (int n = 21; n >= 3; n -= 2)
        t = (t + 1.0 / n) * s2;
    double lnm = 2.0 * s * (1.0 + t);
    return e * LN2_HI + (lnm + e * LN2_LO);
}

/* pi/2 in three 33-bit parts: k * PIO2_n is exact for |k| < 2^20. */
static const double PIO2_1 = 1.57079632673412561417e+00;
static const double PIO2_2 = 6.07710050630396597660e-11;
static const double PIO2_3 = 2.02226624871116645580e-21;
static const double PIO2_3T = 8.47842766036889956997e-32;
static const double TWO_OVER_PI = 6.36619772367581382433e-01;

static void sincos_d(double x, double *s, double *c)
{
    if (x != x || x - x != 0.0) { /* NaN or infinite */
        *s = *c = x - x;
        return;
    }
    if (x > 1e15 || x < -1e15) { /* beyond any RoPE angle; keep the answer finite */
        *s = 0.0;
        *c = 1.0;
        return;
    }
    double k = nearest(x * TWO_OVER_PI);
    double r = ((x - k * PIO2_1) - k * PIO2_2) - k * (PIO2_3 + PIO2_3T);
    double r2 = r * r;
    double ps = 0.0, pc = 0.0;
    /* sin r = r (1 - r^2/3! + r^4/5! ...), cos r = 1 - r^2/2! + r^4/4! ... (to r^15 and r^16) */
    for (int n = 15; n >= 3; n -= 2)
        ps = (1.0 - ps) * r2 / (double)(n * (n - 1));
    for (int n = 16; n >= 2; n -= 2)
        pc = (1.0 - pc) * r2 / (double)(n * (n - 1));
    double sr = r * (1.0 - ps), cr = 1.0 - pc;
    long long q = (long long)(k - 4.0 * (double)(long long)(k * 0.25));
    q &= 3;
    switch (q) {
    case 0:
        *s = sr;
        *c = cr;
        break;
    case 1:
        *s = cr;
        *c = -sr;
        break;
    case 2:
        *s = -sr;
        *c = -cr;
        break;
    default:
        *s = -cr;
        *c = sr;
        break;
    }
}

float fm_expf(float x)
{
    return (float)exp_d((double)x);
}

float fm_sqrtf(float x)
{
    return __builtin_sqrtf(x); /* one instruction with -fno-math-errno */
}

void fm_sincosf(float x, float *s, float *c)
{
    double sd, cd;
    sincos_d((double)x, &sd, &cd);
    *s = (float)sd;
    *c = (float)cd;
}

float fm_sinf(float x)
{
    float s, c;
    fm_sincosf(x, &s, &c);
    return s;
}

float fm_cosf(float x)
{
    float s, c;
    fm_sincosf(x, &s, &c);
    return c;
}

float fm_powf(float x, float y)
{
    if (y == 0.0f || x == 1.0f)
        return 1.0f;
    if (!(x > 0.0f) || x - x != 0.0f)
        return (x - x) / (x - x); /* NaN */
    return (float)exp_d((double)y * log_d((double)x));
}
