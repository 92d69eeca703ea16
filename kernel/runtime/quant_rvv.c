/* The "rvv" block kernels: Q8_0 and Q4_0 rows with the RISC-V V extension (1.0), written as
 * inline assembly (gcc 12 has no vector intrinsics; binutils assembles V under `.option arch`).
 * They are vector-length agnostic: vsetvli picks how many blocks one instruction covers.
 *
 * A vector element is one block: the strided loads gather the same eight bytes of consecutive
 * blocks into one e64 element each (the 34- and 18-byte blocks defeat unit-stride loads), and
 * every block then runs quant_swar.c's arithmetic in its own element: four pairs per weight word
 * times the activation's pairs, summed mod 2^64, the block's exact dot product in the high 32
 * bits. The accumulator starts at 2^31, so the narrowing shift by 32 rounds the cross term
 * below 2^31 away and leaves the dot product exactly. The whole-register ALU ops (shifts, masks,
 * 64-bit multiplies and adds at vl = VLMAX) are what QEMU's TCG turns into inline host vector
 * code; its vector loads, float ops and vsetvli cost a helper call or a translation-block exit,
 * so the kernels load each activation field once for a group of rows and change vtype twice per
 * run of blocks.
 *
 * The float steps are quant.h's: d_b = fp16(w.d) * x.d (the half converted exactly as
 * fp16_to_fp32 does), (float)s_b * d_b, both rounded as the scalar instructions round (frm is
 * round-to-nearest-even), and then added onto lane b % 8 in order in C, with qt_hsum8 after. */
#if defined(__riscv)

#include "quant_isa.h"

#define V_ON  ".option push\n\t.option arch, +v\n\t"
#define V_OFF "\n\t.option pop"

#define PAIRS     0x000000ff000000ffull
#define PAIR_BIAS 0x0000008000000080ull
#define BYTES(b)  (0x0101010101010101ull * (b))
#define HALF_2P31 0x80000000ull
#define MAX_VL    32 /* blocks per run at most (VLMAX of e64 at LMUL 2 for VLEN 1024) */

_Static_assert(QT_ROW_GROUP <= 4, "the kernels keep the sums of four rows");

/* The kernel turns V on (sstatus.VS) only on a hart that has it (arch/riscv64/vector.c). */
static int hart_has_v(void)
{
    unsigned long s;
    __asm__ volatile("csrr %0, sstatus" : "=r"(s));
    return ((s >> 9) & 3) != 0;
}

/* Registers. Runs of blocks at e64, LMUL 2: v2 the activation word, v4 v6 v8 v10 its pairs
 * Q_0..Q_3, v12 the weight word, v14 a product, v16 v18 v20 v22 the sums of rows 0..3. The float
 * steps at e32, LMUL 1 (the same VLMAX): v24 the block sums' offsets, v25 x.d, v26..v31 and the
 * mask v0 for one row. */

/* vl for the next run of up to avl blocks. */
static inline size_t run_begin(size_t avl)
{
    size_t vl;
    __asm__ volatile(V_ON "vsetvli %0, %1, e64, m2, ta, ma" V_OFF : "=r"(vl) : "r"(avl));
    return vl;
}

static inline void sums_clear(int r)
{
#define CLEAR(S) __asm__ volatile(V_ON "vmv.v.x " S ", %0" V_OFF : : "r"(HALF_2P31))
    switch (r) {
    case 0:
        CLEAR("v16");
        break;
    case 1:
        CLEAR("v18");
        break;
    case 2:
        CLEAR("v20");
        break;
    default:
        CLEAR("v22");
        break;
    }
#undef CLEAR
}

/* Q_k = x_{k+4} + x_k * 2^32 of the activation words at x, x + 32, ... (signed values). */
static inline void act_pairs(const int8_t *x)
{
    __asm__ volatile(V_ON "vlse64.v v2, (%[x]), %[st]\n\t"
                          "vsrl.vx v4, v2, %[n32]\n\t"
                          "vsll.vx v2, v2, %[n32]\n\t"
                          "vor.vv v2, v2, v4\n\t"
                          "vxor.vx v2, v2, %[b80]\n\t"
                          "vand.vx v4, v2, %[pairs]\n\t"
                          "vsub.vx v4, v4, %[bias]\n\t"
                          "vsrl.vi v6, v2, 8\n\t"
                          "vand.vx v6, v6, %[pairs]\n\t"
                          "vsub.vx v6, v6, %[bias]\n\t"
                          "vsrl.vi v8, v2, 16\n\t"
                          "vand.vx v8, v8, %[pairs]\n\t"
                          "vsub.vx v8, v8, %[bias]\n\t"
                          "vsrl.vi v10, v2, 24\n\t"
                          "vand.vx v10, v10, %[pairs]\n\t"
                          "vsub.vx v10, v10, %[bias]" V_OFF
                     :
                     : [x] "r"(x), [st] "r"((long)QK), [n32] "r"(32L), [b80] "r"(BYTES(0x80)), [pairs] "r"(PAIRS),
                       [bias] "r"(PAIR_BIAS)
                     : "memory");
}

/* The weight word as unsigned bytes in v12: Q8_0 w ^ 0x80, Q4_0 its low or high nibbles. */
enum { W_Q8, W_LOW, W_HIGH };

#define W_LOAD      "vlse64.v v12, (%[w]), %[st]\n\t"
#define W_PREP_Q8   W_LOAD "vxor.vx v12, v12, %[m]\n\t"
#define W_PREP_LOW  W_LOAD "vand.vx v12, v12, %[m]\n\t"
#define W_PREP_HIGH W_LOAD "vsrl.vi v12, v12, 4\n\t vand.vx v12, v12, %[m]\n\t"

/* S += sum over k of ((v12 >> 8k) & PAIRS) * Q_k. */
#define MAC(S)                                                                                                         \
    "vand.vx v14, v12, %[pairs]\n\t vmul.vv v14, v14, v4\n\t vadd.vv " S ", " S ", v14\n\t"                            \
    "vsrl.vi v14, v12, 8\n\t vand.vx v14, v14, %[pairs]\n\t vmul.vv v14, v14, v6\n\t vadd.vv " S ", " S ", v14\n\t"    \
    "vsrl.vi v14, v12, 16\n\t vand.vx v14, v14, %[pairs]\n\t vmul.vv v14, v14, v8\n\t vadd.vv " S ", " S ", v14\n\t"   \
    "vsrl.vi v14, v12, 24\n\t vand.vx v14, v14, %[pairs]\n\t vmul.vv v14, v14, v10\n\t vadd.vv " S ", " S ", v14"

#define MAC_ASM(PREP, S)                                                                                               \
    __asm__ volatile(V_ON PREP MAC(S) V_OFF                                                                            \
                     :                                                                                                 \
                     : [w] "r"(w), [st] "r"((long)stride), [m] "r"(mask), [pairs] "r"(PAIRS)                           \
                     : "memory")
#define MAC_ROW(S)                                                                                                     \
    do {                                                                                                               \
        if (kind == W_Q8)                                                                                              \
            MAC_ASM(W_PREP_Q8, S);                                                                                     \
        else if (kind == W_LOW)                                                                                        \
            MAC_ASM(W_PREP_LOW, S);                                                                                    \
        else                                                                                                           \
            MAC_ASM(W_PREP_HIGH, S);                                                                                   \
    } while (0)

/* Row r's sums += its weight words at w, w + stride, ... times the pairs of act_pairs. */
static inline void mac_row(int r, int kind, const uint8_t *w, size_t stride)
{
    uint64_t mask = kind == W_Q8 ? BYTES(0x80) : BYTES(0x0f);
    switch (r) {
    case 0:
        MAC_ROW("v16");
        break;
    case 1:
        MAC_ROW("v18");
        break;
    case 2:
        MAC_ROW("v20");
        break;
    default:
        MAC_ROW("v22");
        break;
    }
}

/* To the float steps (vl kept): v24 = off * the run's activation sums, v25 = its x.d. */
static inline void floats_begin(const int32_t *xs, const float *xd, int off_shift)
{
    if (off_shift == 7)
        __asm__ volatile(V_ON "vsetvli zero, zero, e32, m1, ta, ma\n\t"
                              "vle32.v v24, (%0)\n\t vsll.vi v24, v24, 7\n\t vle32.v v25, (%1)" V_OFF
                         :
                         : "r"(xs), "r"(xd)
                         : "memory");
    else
        __asm__ volatile(V_ON "vsetvli zero, zero, e32, m1, ta, ma\n\t"
                              "vle32.v v24, (%0)\n\t vsll.vi v24, v24, 3\n\t vle32.v v25, (%1)" V_OFF
                         :
                         : "r"(xs), "r"(xd)
                         : "memory");
}

/* p[i] = (float)s_b * (fp16(d_b) * x.d) for the run's blocks of row r; w points at the scale of
 * its first block. The half converts as fp16_to_fp32: sign | (e|m << 13 as a float) * 2^112,
 * the top exponent (inf, NaN) selected apart. The load reads the scale and the block's first two
 * weight bytes, which the shifts drop. */
#define FLOATS(S)                                                                                                      \
    __asm__ volatile(V_ON "vnsrl.wx v26, " S ", %[n32]\n\t"                                                            \
                          "vsub.vv v26, v26, v24\n\t"                                                                  \
                          "vfcvt.f.x.v v26, v26\n\t"                                                                   \
                          "vlse32.v v27, (%[w]), %[st]\n\t"                                                            \
                          "vsll.vi v28, v27, 17\n\t"                                                                   \
                          "vsrl.vi v28, v28, 4\n\t"                                                                    \
                          "vsll.vi v29, v27, 16\n\t"                                                                   \
                          "vand.vx v29, v29, %[sign]\n\t"                                                              \
                          "vfmul.vf v30, v28, %[scale]\n\t"                                                            \
                          "vmsgtu.vx v0, v28, %[fin]\n\t"                                                              \
                          "vor.vx v31, v28, %[inf]\n\t"                                                                \
                          "vmerge.vvm v30, v30, v31, v0\n\t"                                                           \
                          "vor.vv v30, v30, v29\n\t"                                                                   \
                          "vfmul.vv v30, v30, v25\n\t"                                                                 \
                          "vfmul.vv v26, v26, v30\n\t"                                                                 \
                          "vse32.v v26, (%[p])" V_OFF                                                                  \
                     :                                                                                                 \
                     : [w] "r"(w), [st] "r"((long)stride), [p] "r"(p), [n32] "r"(32L), [sign] "r"(0x80000000L),        \
                       [scale] "f"(5.192296858534828e+33f), [fin] "r"((0x7c00L << 13) - 1), [inf] "r"(0x7f800000L)     \
                     : "memory")

static inline void row_floats(int r, const uint8_t *w, size_t stride, float *p)
{
    switch (r) {
    case 0:
        FLOATS("v16");
        break;
    case 1:
        FLOATS("v18");
        break;
    case 2:
        FLOATS("v20");
        break;
    default:
        FLOATS("v22");
        break;
    }
}

/* R rows at once (R a constant where it is inlined), runs of up to VLMAX blocks: per run, each
 * activation field is paired once for all R rows. Q8_0 field f is weight word f; Q4_0's fields
 * 0..3 are the low nibbles of words 0, 1, then their high nibbles. */
#define ROWS_BODY(R, BLOCK, Q4)                                                                                        \
    do {                                                                                                               \
        float acc[R][8] = {{0}}, p[R][MAX_VL];                                                                         \
        for (uint32_t b = 0; b < nb;) {                                                                                \
            size_t vl = run_begin(RT_MIN(nb - b, (uint32_t)MAX_VL));                                                   \
            const uint8_t *blk = w + b * sizeof(BLOCK);                                                                \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) sums_clear(r);                                         \
            _Pragma("GCC unroll 4") for (int f = 0; f < 4; f++)                                                        \
            {                                                                                                          \
                act_pairs(v->s.xq + b * QK + 8 * f);                                                                   \
                const uint8_t *word = blk + 2 + 8 * (Q4 ? f % 2 : f);                                                  \
                int kind = Q4 ? (f < 2 ? W_LOW : W_HIGH) : W_Q8;                                                       \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                    \
                    mac_row(r, kind, word + r * row_bytes, sizeof(BLOCK));                                             \
            }                                                                                                          \
            floats_begin(v->s.xs + b, v->s.xd + b, Q4 ? 3 : 7);                                                        \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                        \
                row_floats(r, blk + r * row_bytes, sizeof(BLOCK), p[r]);                                               \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) for (size_t i = 0; i < vl; i++) acc[r][(b + i) % 8] += \
                p[r][i];                                                                                               \
            b += (uint32_t)vl;                                                                                         \
        }                                                                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) out[r] = qt_hsum8(acc[r]);                                 \
    } while (0)

#define ROWS_FN(name, BLOCK, Q4)                                                                                       \
    static void name(float *out, const uint8_t *w, size_t row_bytes, uint32_t nrows, const qt_vec *v)                  \
    {                                                                                                                  \
        uint32_t nb = v->n / QK;                                                                                       \
        for (; nrows >= QT_ROW_GROUP; nrows -= QT_ROW_GROUP, w += QT_ROW_GROUP * row_bytes, out += QT_ROW_GROUP)       \
            ROWS_BODY(QT_ROW_GROUP, BLOCK, Q4);                                                                        \
        for (; nrows > 0; nrows--, w += row_bytes, out++)                                                              \
            ROWS_BODY(1, BLOCK, Q4);                                                                                   \
    }

ROWS_FN(rows_q8_0_rvv, block_q8_0, 0)
ROWS_FN(rows_q4_0_rvv, block_q4_0, 1)

const qt_kernels qt_rvv = {"rvv", hart_has_v, NULL, rows_q8_0_rvv, rows_q4_0_rvv, NULL, NULL, NULL, NULL, NULL, NULL};

#endif
