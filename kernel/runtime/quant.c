#include "quant.h"

#include "rt.h"

typedef float v4f __attribute__((vector_size(16)));

static const struct {
    uint32_t id;
    const char *name;
} type_names[] = {
    {0, "F32"},      {1, "F16"},     {2, "Q4_0"},  {3, "Q4_1"},   {6, "Q5_0"},   {7, "Q5_1"},   {8, "Q8_0"},
    {9, "Q8_1"},     {10, "Q2_K"},   {11, "Q3_K"}, {12, "Q4_K"},  {13, "Q5_K"},  {14, "Q6_K"},  {15, "Q8_K"},
    {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"}, {20, "IQ4_NL"}, {21, "IQ3_S"}, {22, "IQ2_S"},
    {23, "IQ4_XS"},  {24, "I8"},     {25, "I16"},  {26, "I32"},   {27, "I64"},   {28, "F64"},   {29, "IQ1_M"},
    {30, "BF16"},    {34, "TQ1_0"},  {35, "TQ2_0"}, {39, "MXFP4"},
};

const char *qt_name(uint32_t type) {
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].id == type) return type_names[i].name;
    return NULL;
}

int qt_supported(uint32_t type) { return type == QT_F32 || type == QT_F16 || type == QT_Q8_0 || type == QT_Q4_0; }

uint32_t qt_block_values(uint32_t type) { return type == QT_Q8_0 || type == QT_Q4_0 ? QK : 1; }

uint32_t qt_block_bytes(uint32_t type) {
    switch (type) {
    case QT_F32: return 4;
    case QT_F16: return 2;
    case QT_Q8_0: return sizeof(block_q8_0);
    case QT_Q4_0: return sizeof(block_q4_0);
    default: return 0;
    }
}

float fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return rt_f32_from(sign | 0x7f800000u | (man << 13)); /* inf, NaN */
    if (exp != 0) return rt_f32_from(sign | ((exp + 112) << 23) | (man << 13));
    float sub = (float)man * 5.9604644775390625e-8f; /* man * 2^-24, exact */
    return rt_f32_from(sign | rt_f32_bits(sub));
}

uint16_t fp32_to_fp16(float f) {
    uint32_t x = rt_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff); /* NaN stays NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00;                                 /* >= 65520: inf */
    if (ax >= 0x38800000u) {                                                     /* normal half */
        uint32_t r = ax + 0xfff + ((ax >> 13) & 1);                              /* round half to even */
        return sign | (uint16_t)((r - 0x38000000u) >> 13);
    }
    if (ax < 0x33000000u) return sign; /* <= 2^-25: rounds to zero */
    uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return sign | (uint16_t)q;
}

/* Round half to even for |v| < 2^22 without libm: adding 1.5 * 2^23 drops the fraction bits
 * under the default rounding mode (the compiler may not fold it: no -ffast-math). */
static float round_even(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

static void quantize_q8_0(block_q8_0 *y, const float *x, uint32_t n) {
    for (uint32_t b = 0; b < n / QK; b++) {
        const float *xb = x + b * QK;
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) {
            float a = xb[j] < 0 ? -xb[j] : xb[j];
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f, id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = fp32_to_fp16(d);
        for (int j = 0; j < QK; j++) y[b].qs[j] = (int8_t)round_even(xb[j] * id);
    }
}

void qt_vec_bind(qt_vec *v, const float *x, uint32_t n, float *xh, block_q8_0 *xq) {
    v->x = x;
    v->n = n;
    v->xh = xh;
    v->xq = xq;
    v->have_h = v->have_q = 0;
}

static float hsum(v4f a) { return (a[0] + a[1]) + (a[2] + a[3]); }

static v4f load4(const float *p) {
    v4f v;
    rt_memcpy(&v, p, sizeof v);
    return v;
}

static float dot_f32(const float *a, const float *b, uint32_t n) {
    v4f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    uint32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += load4(a + i) * load4(b + i);
        s1 += load4(a + i + 4) * load4(b + i + 4);
        s2 += load4(a + i + 8) * load4(b + i + 8);
        s3 += load4(a + i + 12) * load4(b + i + 12);
    }
    float s = hsum((s0 + s1) + (s2 + s3));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

float qt_dot_f16(const uint16_t *a, const float *b, uint32_t n) {
    v4f s0 = {0}, s1 = {0};
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v4f a0 = {fp16_to_fp32(a[i]), fp16_to_fp32(a[i + 1]), fp16_to_fp32(a[i + 2]), fp16_to_fp32(a[i + 3])};
        v4f a1 = {fp16_to_fp32(a[i + 4]), fp16_to_fp32(a[i + 5]), fp16_to_fp32(a[i + 6]), fp16_to_fp32(a[i + 7])};
        s0 += a0 * load4(b + i);
        s1 += a1 * load4(b + i + 4);
    }
    float s = hsum(s0 + s1);
    for (; i < n; i++) s += fp16_to_fp32(a[i]) * b[i];
    return s;
}

static float dot_q8_0(const block_q8_0 *w, const block_q8_0 *x, uint32_t nb) {
    float s = 0.0f;
    for (uint32_t b = 0; b < nb; b++) {
        int32_t sumi = 0;
        for (int j = 0; j < QK; j++) sumi += (int32_t)w[b].qs[j] * (int32_t)x[b].qs[j];
        s += (float)sumi * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d));
    }
    return s;
}

static float dot_q4_0(const block_q4_0 *w, const block_q8_0 *x, uint32_t nb) {
    float s = 0.0f;
    for (uint32_t b = 0; b < nb; b++) {
        int32_t sumi = 0;
        for (int j = 0; j < QK / 2; j++) {
            int lo = (w[b].qs[j] & 0x0f) - 8, hi = (w[b].qs[j] >> 4) - 8;
            sumi += lo * x[b].qs[j] + hi * x[b].qs[j + QK / 2];
        }
        s += (float)sumi * (fp16_to_fp32(w[b].d) * fp16_to_fp32(x[b].d));
    }
    return s;
}

void qt_to_fp16(uint16_t *dst, const float *src, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) dst[i] = fp32_to_fp16(src[i]);
}

void qt_matvec(float *out, const qt_matrix *w, qt_vec *v) {
    const uint8_t *row = w->data;
    switch (w->type) {
    case QT_F32:
        for (uint32_t r = 0; r < w->rows; r++, row += w->row_bytes) out[r] = dot_f32((const float *)row, v->x, v->n);
        break;
    case QT_F16:
        if (!v->have_h) {
            for (uint32_t i = 0; i < v->n; i++) v->xh[i] = fp16_to_fp32(fp32_to_fp16(v->x[i]));
            v->have_h = 1;
        }
        for (uint32_t r = 0; r < w->rows; r++, row += w->row_bytes)
            out[r] = qt_dot_f16((const uint16_t *)row, v->xh, v->n);
        break;
    case QT_Q8_0:
    case QT_Q4_0:
        if (!v->have_q) {
            quantize_q8_0(v->xq, v->x, v->n);
            v->have_q = 1;
        }
        if (w->type == QT_Q8_0)
            for (uint32_t r = 0; r < w->rows; r++, row += w->row_bytes)
                out[r] = dot_q8_0((const block_q8_0 *)row, v->xq, v->n / QK);
        else
            for (uint32_t r = 0; r < w->rows; r++, row += w->row_bytes)
                out[r] = dot_q4_0((const block_q4_0 *)row, v->xq, v->n / QK);
        break;
    default: /* unreachable: slm_load accepts only the types above */
        break;
    }
}

void qt_dequant_row(float *out, const qt_matrix *w, uint32_t r) {
    const uint8_t *row = w->data + (size_t)r * w->row_bytes;
    switch (w->type) {
    case QT_F32: rt_memcpy(out, row, (size_t)w->cols * sizeof(float)); break;
    case QT_F16:
        for (uint32_t i = 0; i < w->cols; i++) out[i] = fp16_to_fp32(((const uint16_t *)row)[i]);
        break;
    case QT_Q8_0:
        for (uint32_t b = 0; b < w->cols / QK; b++) {
            const block_q8_0 *blk = (const block_q8_0 *)row + b;
            float d = fp16_to_fp32(blk->d);
            for (int j = 0; j < QK; j++) out[b * QK + j] = (float)blk->qs[j] * d;
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
    default: break;
    }
}
