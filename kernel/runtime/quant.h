/* Tensor element types in GGUF's block layouts (ggml's numbering) and the matrix-vector
 * kernels over them.
 *
 *   F32   4 bytes per value
 *   F16   IEEE half, 2 bytes per value
 *   Q8_0  blocks of 32: fp16 scale d, 32 x int8 q;            value = q * d        (34 bytes)
 *   Q4_0  blocks of 32: fp16 scale d, 16 bytes of nibbles;    value = (nib - 8) * d (18 bytes)
 *         byte j holds value j in its low nibble and value j + 16 in its high nibble.
 *
 * Like llama.cpp, a matrix-vector product first converts the activation vector to the
 * weight's "dot type": F32 stays F32, F16 weights see the vector rounded to F16, Q8_0 and Q4_0
 * weights see it quantized to Q8_0 (d = amax / 127, q = round-half-even(x * 127 / amax)).
 * Every dot product then accumulates in a fixed order, so results are the same on all arches. */
#ifndef AUTON_QUANT_H
#define AUTON_QUANT_H

#include <stddef.h>
#include <stdint.h>

enum {
    QT_F32 = 0,
    QT_F16 = 1,
    QT_Q4_0 = 2,
    QT_Q8_0 = 8,
};

#define QK 32 /* values per Q8_0 / Q4_0 block */

typedef struct {
    uint16_t d;
    int8_t qs[QK];
} block_q8_0;

typedef struct {
    uint16_t d;
    uint8_t qs[QK / 2];
} block_q4_0;

_Static_assert(sizeof(block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(block_q4_0) == 18, "Q4_0 block is 18 bytes");

/* Name of any ggml type id ("Q4_K", ...), or NULL when unknown; whether this runtime runs it. */
const char *qt_name(uint32_t type);
int qt_supported(uint32_t type);
/* Values per block and bytes per block for a supported type. */
uint32_t qt_block_values(uint32_t type);
uint32_t qt_block_bytes(uint32_t type);

float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_fp16(float f); /* round to nearest even, like F16C's vcvtps2ph */

/* A matrix in row-major GGUF order: `rows` rows of `cols` values of `type` at `data`. */
typedef struct {
    const uint8_t *data;
    uint32_t type;
    uint32_t cols, rows;
    size_t row_bytes;
} qt_matrix;

/* An activation vector prepared for the dot types it meets; holds caller-sized buffers. */
typedef struct {
    const float *x;  /* the F32 vector */
    float *xh;       /* x rounded through F16 (n floats) */
    block_q8_0 *xq;  /* x quantized to Q8_0 (n / 32 blocks) */
    uint32_t n;
    int have_h, have_q;
} qt_vec;

/* Bind `x` (n values) to the scratch buffers; conversions happen lazily, once per binding. */
void qt_vec_bind(qt_vec *v, const float *x, uint32_t n, float *xh, block_q8_0 *xq);

/* out[r] = W[r,:] . x for rows [0, W->rows). W->cols must equal v->n. */
void qt_matvec(float *out, const qt_matrix *w, qt_vec *v);

/* Dequantize row `r` of W into out (W->cols floats): the embedding lookup. */
void qt_dequant_row(float *out, const qt_matrix *w, uint32_t r);

/* Rounding through F16 for the KV cache and attention: dst[i] = fp32_to_fp16(src[i]). */
void qt_to_fp16(uint16_t *dst, const float *src, uint32_t n);
/* F32-accumulated dot product of an F16 row with F32 values that are exact halves. */
float qt_dot_f16(const uint16_t *a, const float *b, uint32_t n);

#endif
