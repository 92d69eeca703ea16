/* test-runtime: checks of the runtime's freestanding pieces against the host's libc/libm and
 * the compiler's _Float16. Prints one line per check; exits 1 if any fails. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmath.h"
#include "fmt.h"
#include "quant.h"
#include "unicode.h"

static int failures;

static void report(const char *name, int ok, const char *detail)
{
    printf("%-24s %s  %s\n", name, ok ? "ok  " : "FAIL", detail);
    failures += !ok;
}

static uint32_t bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static float from(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* Distance in units in the last place between two finite floats of the same sign region. */
static int64_t ulps(float a, float b)
{
    int64_t ia = (int32_t)bits(a), ib = (int32_t)bits(b);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return ia > ib ? ia - ib : ib - ia;
}

static void check_fp16(void)
{
    char d[128];
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        _Float16 ref;
        uint16_t hv = (uint16_t)h;
        memcpy(&ref, &hv, 2);
        float want = (float)ref, got = fp16_to_fp32(hv);
        if (isnan(want) ? !isnan(got) : bits(want) != bits(got))
            bad++;
    }
    snprintf(d, sizeof d, "all 65536 halves, %d differ from _Float16", bad);
    report("fp16 -> fp32", bad == 0, d);

    bad = 0;
    uint64_t n = 0;
    for (uint64_t b = 0; b < (1ULL << 32); b += 997, n++) { /* every sign, exponent and rounding case */
        float f = from((uint32_t)b);
        _Float16 ref = (_Float16)f;
        uint16_t want;
        memcpy(&want, &ref, 2);
        uint16_t got = fp32_to_fp16(f);
        if (isnan(f) ? (got & 0x7c00) != 0x7c00 || !(got & 0x3ff) : want != got)
            bad++;
    }
    snprintf(d, sizeof d, "%llu floats, %d differ from _Float16 (round to nearest even)", (unsigned long long)n, bad);
    report("fp32 -> fp16", bad == 0, d);
}

/* fm_expf4 in one lane (the others hold the same value). */
static float expf4_lane(float x)
{
    fm_v4f v = {x, x, x, x};
    return fm_expf4(v)[0];
}

static float exp_cr(float x)
{
    return (float)exp((double)x);
}
static float sin_cr(float x)
{
    return (float)sin((double)x);
}
static float cos_cr(float x)
{
    return (float)cos((double)x);
}
static float sqrt_cr(float x)
{
    return (float)sqrt((double)x);
}

/* f over n + 1 points of [lo, hi]: how many differ from the double libm result rounded to float, the
 * worst distance in ulps, and how many agree with the float libm function. */
static void sweep(const char *name, float (*f)(float), float (*cr)(float), float (*libm)(float), float lo, float hi)
{
    const int n = 1000000;
    int64_t worst = 0, off = 0, same_libm = 0;
    for (int i = 0; i <= n; i++) {
        float x = lo + (hi - lo) * (float)i / (float)n;
        float a = f(x);
        int64_t u = ulps(a, cr(x));
        worst = u > worst ? u : worst;
        off += u != 0;
        same_libm += bits(a) == bits(libm(x));
    }
    char d[160];
    snprintf(
        d, sizeof d,
        "[%g, %g]: %lld of %d differ from libm double rounded once (worst %lld ulp); %.3f%% identical to float libm",
        lo, hi, (long long)off, n + 1, (long long)worst, 100.0 * same_libm / (n + 1));
    report(name, worst <= 1, d);
}

static void check_math(void)
{
    sweep("expf", fm_expf, exp_cr, expf, -103.0f, 88.0f);
    sweep("expf4", expf4_lane, exp_cr, expf, -103.0f, 88.0f);
    sweep("sinf", fm_sinf, sin_cr, sinf, -4096.0f, 4096.0f);
    sweep("cosf", fm_cosf, cos_cr, cosf, -4096.0f, 4096.0f);
    sweep("sqrtf", fm_sqrtf, sqrt_cr, sqrtf, 0.0f, 1e6f);
    char d[160];
    int64_t worst = 0, cases = 0, same = 0;
    static const float bases[] = {10000.0f, 500000.0f, 1000000.0f, 35000.0f};
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++)
        for (int dim = 2; dim <= 512; dim += 2) {
            float e = -2.0f / (float)dim;
            int64_t uu = ulps(fm_powf(bases[b], e), powf(bases[b], e));
            worst = uu > worst ? uu : worst;
            same += uu == 0;
            cases++;
        }
    snprintf(d, sizeof d, "RoPE bases ^ -2/dim: %lld of %lld identical to libm (worst %lld ulp)", (long long)same,
             (long long)cases, (long long)worst);
    report("powf", worst <= 1, d);
}

static void check_fmt(void)
{
    static const struct {
        const char *fmt;
        long long i;
        double f;
        const char *s;
    } cases[] = {
        {"%d|%5d|%-5d|%05d", -42, 0, NULL},        {"%u %x %X", 3735928559LL, 0, NULL},
        {"%lld", -9007199254740993LL, 0, NULL},    {"%.3f", 0, 3.14159, NULL},
        {"%8.2f|%-8.1f|", 0, -2.5, NULL},          {"%.0f %f", 0, 123456.5, NULL},
        {"[%s] [%8s] [%-6s] [%.2s]", 0, 0, "abc"}, {"100%% %c", 'x', 0, NULL},
    };
    int bad = 0;
    char want[256], got[256];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *f = cases[k].fmt;
        if (cases[k].s) {
            snprintf(want, sizeof want, f, cases[k].s, cases[k].s, cases[k].s, cases[k].s);
            slm_snprintf(got, sizeof got, f, cases[k].s, cases[k].s, cases[k].s, cases[k].s);
        } else if (strchr(f, 'f')) {
            snprintf(want, sizeof want, f, cases[k].f, cases[k].f);
            slm_snprintf(got, sizeof got, f, cases[k].f, cases[k].f);
        } else if (strstr(f, "ll")) {
            snprintf(want, sizeof want, f, cases[k].i);
            slm_snprintf(got, sizeof got, f, cases[k].i);
        } else {
            snprintf(want, sizeof want, f, (int)cases[k].i, (int)cases[k].i, (int)cases[k].i, (int)cases[k].i);
            slm_snprintf(got, sizeof got, f, (int)cases[k].i, (int)cases[k].i, (int)cases[k].i, (int)cases[k].i);
        }
        if (strcmp(want, got)) {
            printf("  fmt \"%s\": libc \"%s\", slm \"%s\"\n", f, want, got);
            bad++;
        }
    }
    char small[8];
    size_t full = slm_snprintf(small, sizeof small, "%s", "truncated output");
    int trunc_ok = full == 16 && strcmp(small, "truncat") == 0;
    char d[96];
    snprintf(d, sizeof d, "%d of %zu formats differ from libc; truncation %s", bad, sizeof cases / sizeof cases[0],
             trunc_ok ? "ok" : "wrong");
    report("slm_snprintf", bad == 0 && trunc_ok, d);
}

static void check_unicode(void)
{
    int bad = 0;
    for (int b = 0; b < 256; b++)
        if (gpt2_cp_to_byte(gpt2_byte_to_cp((uint8_t)b)) != b)
            bad++;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        uint8_t u[4];
        size_t n = utf8_encode(cp, u), pos = 0;
        if (utf8_next(u, n, &pos) != cp || pos != n)
            bad++;
    }
    static const struct {
        uint32_t cp;
        int cls;
    } known[] = {{'a', UC_LETTER},       {0xe9, UC_LETTER},       {0x4e2d, UC_LETTER}, {'7', UC_NUMBER},
                 {0x2167, UC_NUMBER},    {' ', UC_OTHER},         {'!', UC_OTHER},     {0x1f600, UC_OTHER},
                 {0x0378, UC_UNDEFINED}, {0x110000, UC_UNDEFINED}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        if (unicode_class(known[k].cp) != known[k].cls)
            bad++;
    char d[96];
    snprintf(d, sizeof d, "byte map, UTF-8 round trip of every codepoint, classes: %d wrong", bad);
    report("unicode", bad == 0, d);
}

int main(void)
{
    check_fp16();
    check_math();
    check_fmt();
    check_unicode();
    return failures ? 1 : 0;
}
