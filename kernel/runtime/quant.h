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
 * Every dot product then accumulates in one canonical order, which the portable C path and
 * every SIMD path (quant_x86.c, quant_arm.c) follow, so results are the same bits on all
 * arches and paths:
 *   Q8_0 / Q4_0: eight float lanes a[0..7]; block b adds (float)s_b * d_b onto lane b % 8, where
 *                s_b is the block's exact integer dot product and d_b = fp16(w.d) * x.d; the
 *                row's result is ((a0+a4)+(a2+a6))+((a1+a5)+(a3+a7)).
 *   F16:         two groups of four lanes over runs of 8 values, ((c0+c1)+(c2+c3)) of their
 *                sum c, then the tail in order (the halves are converted exactly).
 *   F32:         four groups of four lanes over runs of 16, then the tail in order. */
#ifndef AUTON_QUANT_H
#define AUTON_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "rt.h"

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

/* IEEE half -> float, exact for every input: the half's exponent and mantissa bits, placed in
 * a float and scaled by 2^112, re-bias normals and turn subnormals into normals exactly; the
 * top exponent (inf, NaN) is selected apart. */
static inline float fp16_to_fp32(uint16_t h)
{
    uint32_t em = (uint32_t)(h & 0x7fffu) << 13, sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t finite = rt_f32_bits(rt_f32_from(em) * 5.192296858534828e+33f); /* 2^112 */
    return rt_f32_from(sign | (em >= (0x7c00u << 13) ? em | 0x7f800000u : finite));
}

uint16_t fp32_to_fp16(float f); /* round to nearest even, like F16C's vcvtps2ph */

/* A matrix in row-major GGUF order: `rows` rows of `cols` values of `type` at `data`. */
typedef struct {
    const uint8_t *data;
    uint32_t type;
    uint32_t cols, rows;
    size_t row_bytes;
} qt_matrix;

/* Scratch for preparing activation vectors of up to n values. */
typedef struct {
    float *xh;   /* x rounded through F16 (n floats) */
    int8_t *xq;  /* x quantized to Q8_0: the n values ... */
    float *xd;   /* ... the n / 32 block scales (the fp16 scale, widened) ... */
    int32_t *xs; /* ... and the n / 32 sums of each block's values (for Q4_0's -8 offset) */
} qt_scratch;

/* An activation vector prepared for the dot types it meets. The Q8_0 form keeps values and
 * scales apart so the block kernels load 32 values at once; they are llama.cpp's Q8_0 blocks,
 * except that a NaN quantizes to 0 (every value stays in [-127, 127], which the SIMD products
 * rely on). */
typedef struct {
    const float *x; /* the F32 vector */
    uint32_t n;
    qt_scratch s;
    int have_h, have_q;
} qt_vec;

/* Bind `x` (n values) to the scratch; conversions happen lazily, once per binding. */
void qt_vec_bind(qt_vec *v, const float *x, uint32_t n, const qt_scratch *s);

/* Convert v to the dot type of `type` (once per binding): call it before qt_rows, which only
 * reads v and so may run on several workers at once. */
void qt_prepare(qt_vec *v, uint32_t type);

/* out[t * ld + r] = W[r,:] . v[t] for rows [r0, r1) and t < n, each row read once for all n
 * vectors (prepared for W's type; W->cols must equal their n). */
void qt_rows(float *out, size_t ld, const qt_matrix *w, const qt_vec *v, uint32_t n, uint32_t r0, uint32_t r1);

/* Dequantize row `r` of W into out (W->cols floats): the embedding lookup. */
void qt_dequant_row(float *out, const qt_matrix *w, uint32_t r);

/* Rounding through F16 for the KV cache and attention: dst[i] = fp32_to_fp16(src[i]). */
void qt_to_fp16(uint16_t *dst, const float *src, uint32_t n);
/* The attention's two products over the F16 KV cache, for npos cached rows of n halves each,
 * row p at k + p * stride:
 *   qt_scores_f16: out[p] = (k_p . q) * scale, an F32-accumulated dot product with F32 values
 *                  that are exact halves;
 *   qt_mix_f16:    y = sum over p in order of a[p] * v_p (y starts at 0; each step y += a * v_p). */
void qt_scores_f16(float *out, const uint16_t *k, size_t stride, const float *q, uint32_t n, uint32_t npos,
                   float scale);
void qt_mix_f16(float *y, const float *a, const uint16_t *v, size_t stride, uint32_t n, uint32_t npos);

/* The kernel paths: "portable" and "swar" everywhere; "ssse3", "avx2" on x86_64; "neon", "sdot"
 * on aarch64. qt_set_isa selects one by name, or "best": the fastest this CPU runs, timed on the
 * first such call (quant_pick.c); it returns 0, or -1 when the name is unknown or the CPU lacks
 * it. qt_isa names the one in use (initially the best); qt_isa_list writes the names this CPU
 * runs, space-separated; qt_isa_rates writes "name=MB/s" for each path timed ("" before). */
int qt_set_isa(const char *name);
const char *qt_isa(void);
void qt_isa_list(char *buf, size_t n);
void qt_isa_rates(char *buf, size_t n);

#endif
