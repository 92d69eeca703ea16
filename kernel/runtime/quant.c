#include "quant.h"

#include "quant_isa.h"

#include "rt.h"

typedef float v4f __attribute__((vector_size(16)));

static const struct {
    uint32_t id;
    const char *name;
} type_names[] = {
    {0, "F32"},      {1, "F16"},     {2, "Q4_0"},     {3, "Q4_1"},   {6, "Q5_0"},    {7, "Q5_1"},   {8, "Q8_0"},
    {9, "Q8_1"},     {10, "Q2_K"},   {11, "Q3_K"},    {12, "Q4_K"},  {13, "Q5_K"},   {14, "Q6_K"},  {15, "Q8_K"},
    {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"}, {20, "IQ4_NL"}, {21, "IQ3_S"}, {22, "IQ2_S"},
    {23, "IQ4_XS"},  {24, "I8"},     {25, "I16"},     {26, "I32"},   {27, "I64"},    {28, "F64"},   {29, "IQ1_M"},
    {30, "BF16"},    {34, "TQ1_0"},  {35, "TQ2_0"},   {39, "MXFP4"},
};

const char *qt_name(uint32_t type)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].id == type)
            return type_names[i].name;
    return NULL;
}

int qt_supported(uint32_t type)
{
    return type == QT_F32 || type == QT_F16 || type == QT_Q8_0 || type == QT_Q4_0;
}

uint32_t qt_block_values(uint32_t type)
{
    return type == QT_Q8_0 || type == QT_Q4_0 ? QK : 1;
}

uint32_t qt_block_bytes(uint32_t type)
{
    switch (type) {
    case QT_F32:
        return 4;
    case QT_F16:
        return 2;
    case QT_Q8_0:
        return sizeof(block_q8_0);
    case QT_Q4_0:
        return sizeof(block_q4_0);
    default:
        return 0;
    }
}

uint16_t fp32_to_fp16(float f)
{
    uint32_t x = rt_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff); /* NaN stays NaN */
    if (ax >= 0x477ff000u)
        return sign | 0x7c00;                       /* >= 65520: inf */
    if (ax >= 0x38800000u) {                        /* normal half */
        uint32_t r = ax + 0xfff + ((ax >> 13) & 1); /* round half to even */
        return sign | (uint16_t)((r - 0x38000000u) >> 13);
    }
    if (ax < 0x33000000u)
        return sign; /* <= 2^-25: rounds to zero */
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return sign | (uint16_t)q;
}

typedef int32_t v4i32 __attribute__((vector_size(16)));
typedef int8_t v4i8 __attribute__((vector_size(4)));

/* m ? a : b per lane, for a comparison's mask m. */
static v4f sel4(v4i32 m, v4f a, v4f b)
{
    return (v4f)((m & (v4i32)a) | (~m & (v4i32)b));
}

/* Four lanes at a time; every step is per value (the max is exact in any order), so the blocks
 * are llama.cpp's on every arch. */
static void quantize_q8_0(const qt_scratch *s, const float *x, uint32_t n)
{
    for (uint32_t b = 0; b < n / QK; b++) {
        v4f xb[QK / 4], m = {0};
        rt_memcpy(xb, x + b * QK, sizeof xb);
        for (int j = 0; j < QK / 4; j++) {
            v4f a = (v4f)((v4i32)xb[j] & 0x7fffffff);
            m = sel4(a > m, a, m); /* NaN fails the test */
        }
        float amax = m[0];
        for (int j = 1; j < 4; j++)
            amax = m[j] > amax ? m[j] : amax;
        float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        s->xd[b] = fp16_to_fp32(fp32_to_fp16(d));
        /* round half to even (|v| <= 127 here): adding 1.5 * 2^23 drops the fraction bits under
         * the default rounding mode (the compiler may not fold it: no -ffast-math) */
        const v4f magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
        v4i32 sum = {0};
        for (int j = 0; j < QK / 4; j++) {
            v4f r = (xb[j] * id + magic) - magic;
            r = sel4((r >= -127.0f) & (r <= 127.0f), r, (v4f){0}); /* NaN: 0 */
            v4i32 qi = __builtin_convertvector(r, v4i32);
            v4i8 q = __builtin_convertvector(qi, v4i8);
            rt_memcpy(s->xq + b * QK + 4 * j, &q, sizeof q);
            sum += qi;
        }
        s->xs[b] = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
}

void qt_vec_bind(qt_vec *v, const float *x, uint32_t n, const qt_scratch *s)
{
    v->x = x;
    v->n = n;
    v->s = *s;
    v->have_h = v->have_q = 0;
}

static float hsum(v4f a)
{
    return (a[0] + a[1]) + (a[2] + a[3]);
}

static v4f load4(const float *p)
{
    v4f v;
    rt_memcpy(&v, p, sizeof v);
    return v;
}

static float dot_f32(const float *a, const float *b, uint32_t n)
{
    v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    uint32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += load4(a + i) * load4(b + i);
        s1 += load4(a + i + 4) * load4(b + i + 4);
        s2 += load4(a + i + 8) * load4(b + i + 8);
        s3 += load4(a + i + 12) * load4(b + i + 12);
    }
    return qt_dot_f32_tail(hsum((s0 + s1) + (s2 + s3)), a, b, i, n);
}

typedef uint16_t v4u16 __attribute__((vector_size(8)));
typedef uint32_t v4u32 __attribute__((vector_size(16)));

/* fp16_to_fp32 on 4 halves at once (the same steps, the select as a vector mask). */
static v4f half4(const uint16_t *p)
{
    v4u16 h;
    rt_memcpy(&h, p, sizeof h);
    v4u32 w = __builtin_convertvector(h, v4u32);
    v4u32 em = (w & 0x7fffu) << 13, sign = (w & 0x8000u) << 16;
    v4u32 finite = (v4u32)((v4f)em * 5.192296858534828e+33f);
    v4u32 special = (v4u32)((v4i32)em >= (v4i32){0x7c00 << 13, 0x7c00 << 13, 0x7c00 << 13, 0x7c00 << 13});
    return (v4f)(sign | (special & (em | 0x7f800000u)) | (~special & finite));
}

static float dot_f16_c(const uint16_t *a, const float *b, uint32_t n)
{
    v4f s0 = {0}, s1 = {0};
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += half4(a + i) * load4(b + i);
        s1 += half4(a + i + 4) * load4(b + i + 4);
    }
    float s = hsum(s0 + s1);
    return qt_dot_f16_tail(s, a, b, i, n);
}

static void axpy_f16_c(float *y, float a, const uint16_t *x, uint32_t n)
{
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f v = load4(y + i) + a * half4(x + i);
        rt_memcpy(y + i, &v, sizeof v);
    }
    qt_axpy_f16_tail(y, a, x, i, n);
}

/* quant.h's order: block b's exact integer sum, scaled, onto lane b % 8. */
static float dot_q8_0_c(const block_q8_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    float acc[8] = {0};
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        int32_t s = 0;
        for (int j = 0; j < QK; j++)
            s += (int32_t)w[b].qs[j] * xq[j];
        acc[b % 8] += (float)s * (fp16_to_fp32(w[b].d) * xd[b]);
    }
    return qt_hsum8(acc);
}

/* (nib - 8) . x = nib . x - 8 * sum(x): the unsigned nibbles multiply without a subtraction. */
static float dot_q4_0_c(const block_q4_0 *w, const int8_t *xq, const float *xd, uint32_t nb)
{
    float acc[8] = {0};
    for (uint32_t b = 0; b < nb; b++, xq += QK) {
        int32_t s = 0, sx = 0;
        for (int j = 0; j < QK / 2; j++) {
            s += (int32_t)(w[b].qs[j] & 0x0f) * xq[j] + (int32_t)(w[b].qs[j] >> 4) * xq[j + QK / 2];
            sx += xq[j] + xq[j + QK / 2];
        }
        acc[b % 8] += (float)(s - 8 * sx) * (fp16_to_fp32(w[b].d) * xd[b]);
    }
    return qt_hsum8(acc);
}

static void rows_f32_c(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v)
{
    for (uint32_t r = 0; r < nrows; r++)
        out[r] = dot_f32((const float *)(w + r * row_bytes), v->x, v->n);
}

QT_ROWS_OF(rows_q8_0_c, dot_q8_0_c, block_q8_0)
QT_ROWS_OF(rows_q4_0_c, dot_q4_0_c, block_q4_0)

static int always(void)
{
    return 1;
}

const qt_kernels qt_portable = {"portable", always,    rows_f32_c, rows_q8_0_c, rows_q4_0_c, NULL,
                                NULL,       dot_f16_c, axpy_f16_c, NULL,        NULL};

void qt_scores_f16(float *out, const uint16_t *k, size_t stride, const float *q, uint32_t n, uint32_t npos, float scale)
{
    const qt_kernels *kn = qt_active();
    if (kn->scores_f16)
        kn->scores_f16(out, k, stride, q, n, npos, scale);
    else
        for (uint32_t p = 0; p < npos; p++)
            out[p] = kn->dot_f16(k + p * stride, q, n) * scale;
}

void qt_mix_f16(float *y, const float *a, const uint16_t *v, size_t stride, uint32_t n, uint32_t npos)
{
    const qt_kernels *kn = qt_active();
    if (kn->mix_f16) {
        kn->mix_f16(y, a, v, stride, n, npos);
        return;
    }
    rt_memset(y, 0, n * sizeof(float));
    for (uint32_t p = 0; p < npos; p++)
        kn->axpy_f16(y, a[p], v + p * stride, n);
}

void qt_to_fp16(uint16_t *dst, const float *src, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        dst[i] = fp32_to_fp16(src[i]);
}

void qt_prepare(qt_vec *v, uint32_t type)
{
    if (type == QT_F16 && !v->have_h) {
        for (uint32_t i = 0; i < v->n; i++)
            v->s.xh[i] = fp16_to_fp32(fp32_to_fp16(v->x[i]));
        v->have_h = 1;
    }
    if ((type == QT_Q8_0 || type == QT_Q4_0) && !v->have_q) {
        quantize_q8_0(&v->s, v->x, v->n);
        v->have_q = 1;
    }
}

static void rows_f16(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v)
{
    float (*dot)(const uint16_t *, const float *, uint32_t) = qt_active()->dot_f16;
    for (uint32_t r = 0; r < nrows; r++)
        out[r] = dot((const uint16_t *)(w + r * row_bytes), v->s.xh, v->n);
}

void qt_rows(float *out, size_t ld, const qt_matrix *w, const qt_vec *v, uint32_t n, uint32_t r0, uint32_t r1)
{
    const qt_kernels *k = qt_active();
    qt_rows_fn *f = w->type == QT_F32    ? k->rows_f32
                    : w->type == QT_F16  ? rows_f16
                    : w->type == QT_Q8_0 ? k->rows_q8_0
                    : w->type == QT_Q4_0 ? k->rows_q4_0
                                         : NULL; /* unreachable: slm_load accepts only these */
    if (!f)
        return;
    qt_batch_fn *batch = n < 2 ? NULL : w->type == QT_Q8_0 ? k->batch_q8_0 : w->type == QT_Q4_0 ? k->batch_q4_0 : NULL;
    for (uint32_t r = r0; r < r1; r += QT_ROW_GROUP) {
        uint32_t g = RT_MIN(QT_ROW_GROUP, r1 - r);
        const uint8_t *row = w->data + (size_t)r * w->row_bytes;
        if (batch)
            batch(out + r, ld, row, w->row_bytes, g, v, n);
        else
            for (uint32_t t = 0; t < n; t++)
                f(out + t * ld + r, row, w->row_bytes, g, &v[t]);
    }
}

void qt_dequant_row(float *out, const qt_matrix *w, uint32_t r)
{
    const uint8_t *row = w->data + (size_t)r * w->row_bytes;
    switch (w->type) {
    case QT_F32:
        rt_memcpy(out, row, (size_t)w->cols * sizeof(float));
        break;
    case QT_F16:
        for (uint32_t i = 0; i < w->cols; i++)
            out[i] = fp16_to_fp32(((const uint16_t *)row)[i]);
        break;
    case QT_Q8_0:
        for (uint32_t b = 0; b < w->cols / QK; b++) {
            const block_q8_0 *blk = (const block_q8_0 *)row + b;
            float d = fp16_to_fp32(blk->d);
            for (int j = 0; j < QK; j++)
                out[b * QK + j] = (float)blk->qs[j] * d;
        }
        break;
    case QT_Q4_0:
        for (uint32_t b = 0; b < w->cols / QK; b++) {
            const block_q4_0 *blk = (const block_q4_0 *)row + b;
            float d = fp16_to_fp32(blk->d);
            for (int j = 0; j < QK / 2; j++) {
                out[b * QK + j] = (float)((blk->qs[j] & 0x0f) - 8) * d;
                out[b * QK + j + QK / 2] = (float)((blk->qs[j] >> 4) - 8) * d;
            }
        }
        break;
    default:
        break;
    }
}
