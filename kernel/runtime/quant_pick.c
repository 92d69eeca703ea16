/* Which block-kernel path runs (quant_isa.h): one by name, or "best", which is measured. Every
 * path gives the same bits (quant.h), so the choice changes only the speed, and the widest
 * instructions are not always the fastest: under QEMU's TCG a NEON or SSE instruction becomes a
 * call into a helper, and the plain 64-bit integer code of the swar path runs faster. So the
 * first time "best" is asked for, every path this CPU runs is timed on the same Q8_0 and Q4_0
 * rows (as Linux times its raid6 and xor routines at boot) and the fastest is kept. A path is
 * timed only once it has given the portable path's bits on those rows, so one that does not is
 * never picked, and the banner lists no figure for it. */
#include "fmt.h"
#include "platform.h"
#include "quant_isa.h"
#include "rt.h"

/* In the order the banner lists them. */
static const qt_kernels *const paths[] = {
    &qt_portable,
    &qt_swar,
#if defined(__x86_64__)
    &qt_ssse3,
    &qt_avx2,
#elif defined(__aarch64__)
    &qt_neon,
    &qt_sdot,
#elif defined(__riscv)
    &qt_rvv,
#endif
};
#define N_PATHS (sizeof paths / sizeof paths[0])

#define BENCH_ROWS   64
#define BENCH_COLS   256
#define BENCH_ROUNDS 8      /* each path timed once per round, the paths in turn; its best round counts */
#define BENCH_US     250    /* per path and round, after one untimed pass (an emulator translates it) */
#define BENCH_CALLS  10000  /* a bound, should the clock not advance */
#define BENCH_SCALE  0x1400 /* 2^-10 as a half */
#define Q8_ROW       (BENCH_COLS / QK * sizeof(block_q8_0))
#define Q4_ROW       (BENCH_COLS / QK * sizeof(block_q4_0))

static struct {
    block_q8_0 q8[BENCH_ROWS * BENCH_COLS / QK];
    block_q4_0 q4[BENCH_ROWS * BENCH_COLS / QK];
    float x[BENCH_COLS], xh[BENCH_COLS], xd[BENCH_COLS / QK], out[QT_ROW_GROUP];
    int8_t xq[BENCH_COLS];
    int32_t xs[BENCH_COLS / QK];
} bench;

static uint32_t rates[N_PATHS]; /* MB/s of weights each path ran at; 0: not measured */
static int measured;
static qt_kernels active; /* the path in use; kernels a path leaves NULL are the portable ones */

static qt_kernels resolved(const qt_kernels *k)
{
    qt_kernels r = *k;
    if (!r.rows_f32)
        r.rows_f32 = qt_portable.rows_f32;
    if (!r.dot_f16)
        r.dot_f16 = qt_portable.dot_f16;
    if (!r.axpy_f16)
        r.axpy_f16 = qt_portable.axpy_f16;
    return r;
}

/* Weights of random bytes with a scale of 2^-10, and a random activation vector. */
static void bench_init(qt_vec *v)
{
    uint32_t s = 0x9e3779b9u;
    uint8_t *bytes[] = {(uint8_t *)bench.q8, (uint8_t *)bench.q4};
    size_t sizes[] = {sizeof bench.q8, sizeof bench.q4};
    for (int m = 0; m < 2; m++)
        for (size_t i = 0; i < sizes[m]; i++) {
            s = s * 1664525u + 1013904223u;
            bytes[m][i] = (uint8_t)(s >> 24);
        }
    for (size_t b = 0; b < BENCH_ROWS * BENCH_COLS / QK; b++)
        bench.q8[b].d = bench.q4[b].d = BENCH_SCALE;
    for (int i = 0; i < BENCH_COLS; i++) {
        s = s * 1664525u + 1013904223u;
        bench.x[i] = (float)(int32_t)s * (1.0f / 2147483648.0f);
    }
    qt_scratch sc = {bench.xh, bench.xq, bench.xd, bench.xs};
    qt_vec_bind(v, bench.x, BENCH_COLS, &sc);
    qt_prepare(v, QT_Q8_0);
}

/* Scales the check sets on some blocks: zeros, subnormals, the extreme normal halves. */
static const uint16_t check_scales[] = {0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00};
#define CHECK_STRIDE 13 /* blocks between them */

/* Both matrices' rows through path k, in calls of 5 to 8 rows (full and short row groups). */
static void check_pass(const qt_kernels *k, const qt_vec *v, float out[2][BENCH_ROWS])
{
    for (uint32_t r = 0, n; r < BENCH_ROWS; r += n) {
        n = RT_MIN(5 + r / 8 % 4, BENCH_ROWS - r);
        k->rows_q8_0(out[0] + r, (const uint8_t *)bench.q8 + r * Q8_ROW, Q8_ROW, n, v);
        k->rows_q4_0(out[1] + r, (const uint8_t *)bench.q4 + r * Q4_ROW, Q4_ROW, n, v);
    }
}

/* Whether path k gives the portable path's bits on the bench rows with the check's scales. */
static int agrees(const qt_kernels *k, const qt_vec *v)
{
    static float want[2][BENCH_ROWS], got[2][BENCH_ROWS];
    const size_t n = sizeof check_scales / sizeof check_scales[0];
    for (size_t i = 0; i < n; i++)
        bench.q8[i * CHECK_STRIDE].d = bench.q4[i * CHECK_STRIDE].d = check_scales[i];
    check_pass(&qt_portable, v, want);
    check_pass(k, v, got);
    for (size_t i = 0; i < n; i++)
        bench.q8[i * CHECK_STRIDE].d = bench.q4[i * CHECK_STRIDE].d = BENCH_SCALE;
    for (int m = 0; m < 2; m++)
        for (int r = 0; r < BENCH_ROWS; r++)
            if (rt_f32_bits(got[m][r]) != rt_f32_bits(want[m][r]))
                return 0;
    return 1;
}

/* One pass over both matrices, QT_ROW_GROUP rows at a time as qt_rows hands them out. */
static void bench_pass(const qt_kernels *k, const qt_vec *v)
{
    for (uint32_t r = 0; r < BENCH_ROWS; r += QT_ROW_GROUP) {
        k->rows_q8_0(bench.out, (const uint8_t *)bench.q8 + r * Q8_ROW, Q8_ROW, QT_ROW_GROUP, v);
        k->rows_q4_0(bench.out, (const uint8_t *)bench.q4 + r * Q4_ROW, Q4_ROW, QT_ROW_GROUP, v);
    }
}

/* MB/s of weights one path runs at for BENCH_US. */
static uint32_t rate(const qt_kernels *k, const qt_vec *v)
{
    uint64_t calls = 0, t0 = plat_time_us(), t;
    do {
        bench_pass(k, v);
        calls++;
    } while ((t = plat_time_us()) - t0 < BENCH_US && calls < BENCH_CALLS);
    uint64_t mb_s = calls * (sizeof bench.q8 + sizeof bench.q4) / (t > t0 ? t - t0 : 1);
    return mb_s ? (uint32_t)RT_MIN(mb_s, (uint64_t)UINT32_MAX) : 1;
}

/* Rounds that time every path in turn, so a burst of other load lands on all of them, and the
 * best round of each: time lost to preemption only ever lowers a figure. */
static void measure(void)
{
    qt_vec v;
    qt_kernels k[N_PATHS];
    int timed[N_PATHS];
    bench_init(&v);
    for (size_t i = 0; i < N_PATHS; i++) {
        k[i] = resolved(paths[i]);
        timed[i] = paths[i]->available() && agrees(&k[i], &v);
        if (timed[i])
            bench_pass(&k[i], &v);
    }
    for (int round = 0; round < BENCH_ROUNDS; round++)
        for (size_t i = 0; i < N_PATHS; i++)
            if (timed[i])
                rates[i] = RT_MAX(rates[i], rate(&k[i], &v));
    measured = 1;
}

const qt_kernels *qt_active(void)
{
    if (!active.name)
        qt_set_isa("best");
    return &active;
}

int qt_set_isa(const char *name)
{
    int best = rt_streq(name, "best");
    if (best && !measured)
        measure();
    size_t pick = N_PATHS;
    for (size_t i = 0; i < N_PATHS; i++)
        if (paths[i]->available() &&
            (best ? pick == N_PATHS || rates[i] > rates[pick] : rt_streq(name, paths[i]->name)))
            pick = i;
    if (pick == N_PATHS)
        return -1;
    active = resolved(paths[pick]);
    return 0;
}

const char *qt_isa(void)
{
    return qt_active()->name;
}

/* The names of the paths this CPU runs, or (rates) those measured with their MB/s. */
static void list(char *buf, size_t n, int with_rates)
{
    size_t at = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < N_PATHS && at + 1 < n; i++) {
        if (!paths[i]->available() || (with_rates && !rates[i]))
            continue;
        const char *sep = at ? " " : "";
        if (with_rates)
            at += slm_snprintf(buf + at, n - at, "%s%s=%u", sep, paths[i]->name, (unsigned)rates[i]);
        else
            at += slm_snprintf(buf + at, n - at, "%s%s", sep, paths[i]->name);
    }
}

void qt_isa_list(char *buf, size_t n)
{
    list(buf, n, 0);
}

void qt_isa_rates(char *buf, size_t n)
{
    list(buf, n, 1);
}
