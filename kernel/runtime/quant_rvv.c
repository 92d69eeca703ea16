/* The "rvv" block kernels: Q8_0 and Q4_0 rows with the RISC-V V extension (1.0), written as
 * inline assembly (gcc 12 has no vector intrinsics; binutils assembles V under `.option arch`).
 * They are vector-length agnostic (VLEN 128 and up): vsetvli picks how many blocks, up to the
 * eight lanes of quant.h's order, one instruction covers.
 *
 * A vector element is one block: the strided loads gather the same eight bytes of consecutive
 * blocks into one e64 element each (the 34- and 18-byte blocks defeat unit-stride loads), and
 * every block then runs quant_swar.c's arithmetic in its own element: four pairs per weight word
 * times the activation's pairs, summed mod 2^64, the block's exact dot product in the high 32
 * bits. The accumulator starts at 2^31, so the narrowing shift by 32 rounds the cross term
 * below 2^31 away and leaves the dot product exactly. The whole-register ALU ops (shifts, masks,
 * 64-bit multiplies and adds at vl = VLMAX) are what QEMU's TCG turns into inline host vector
 * code; its vector loads, float ops and vsetvli cost a helper call or a translation-block exit,
 * so the kernels pair each activation field once for a group of four rows and run the float
 * steps of the four rows as one register group.
 *
 * The float steps are quant.h's: d_b = fp16(w.d) * x.d (the half converted exactly, as
 * fp16_to_fp32 does), then (float)s_b * d_b added onto lane b % 8, block after block, each
 * rounded as the scalar instructions round (frm is round-to-nearest-even); qt_hsum8 after. */
#if defined(__riscv)

#include "quant_isa.h"

#define V_ON  ".option push\n\t.option arch, +v\n\t"
#define V_OFF "\n\t.option pop"

#define HALF_2P31       0x80000000ull
#define VTYPE_E64_TA_MA 0xd8 /* vtype: SEW 64 (3 << 3), tail and mask agnostic (3 << 6) */
#define VLMUL_1         0
#define VLMUL_2         1

_Static_assert(QT_ROW_GROUP <= 4, "the kernels keep the sums of four rows");

/* M(the register of row r) for r = 0..3 (a constant where it is inlined). */
#define ROW_SWITCH(r, M, R0, R1, R2, R3)                                                                               \
    switch (r) {                                                                                                       \
    case 0:                                                                                                            \
        M(R0);                                                                                                         \
        break;                                                                                                         \
    case 1:                                                                                                            \
        M(R1);                                                                                                         \
        break;                                                                                                         \
    case 2:                                                                                                            \
        M(R2);                                                                                                         \
        break;                                                                                                         \
    default:                                                                                                           \
        M(R3);                                                                                                         \
        break;                                                                                                         \
    }

/* The kernel turns V on (sstatus.VS) only on a hart that has it (arch/riscv64/vector.c). */
static int hart_has_v(void)
{
    unsigned long s;
    __asm__ volatile("csrr %0, sstatus" : "=r"(s));
    return ((s >> 9) & 3) != 0;
}

/* The integer steps of a run of blocks, at e64 and LMUL 2: v2 the activation word, v4 v6 v8 v10
 * its pairs Q_0..Q_3, v12 the weight word, v14 a product, v16 v18 v20 v22 the sums of rows 0..3.
 * run_begin: vl for the next run of up to avl blocks, at LMUL 2, or LMUL 1 where one register
 * holds the eight blocks of a run (VLEN 512 and up), since QEMU runs an ALU op inline only at
 * vl = VLMAX. The rows keep their registers (the sums in the first of each pair), so the float
 * steps are the same at either LMUL. */
static inline size_t run_begin(size_t avl)
{
    static size_t vtype;
    size_t vl;
    if (!vtype) {
        size_t vlenb;
        __asm__(V_ON "csrr %0, vlenb" V_OFF : "=r"(vlenb));
        vtype = VTYPE_E64_TA_MA | (vlenb >= 8 * 8 ? VLMUL_1 : VLMUL_2);
    }
    __asm__ volatile(V_ON "vsetvl %0, %1, %2" V_OFF : "=r"(vl) : "r"(avl), "r"(vtype));
    return vl;
}

/* Row r's sums to 2^31, which turns the narrowing shift's floor into the rounding the cross
 * term needs. */
static inline void sums_clear(int r)
{
#define CLEAR(S) __asm__ volatile(V_ON "vmv.v.x " S ", %0" V_OFF : : "r"(HALF_2P31))
    ROW_SWITCH(r, CLEAR, "v16", "v18", "v20", "v22");
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
                     : [x] "r"(x), [st] "r"((long)QK), [n32] "r"(32L), [b80] "r"(QT_BYTES(0x80)), [pairs] "r"(QT_PAIRS),
                       [bias] "r"(QT_PAIR_BIAS)
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
                     : [w] "r"(w), [st] "r"((long)stride), [m] "r"(mask), [pairs] "r"(QT_PAIRS)                        \
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
    uint64_t mask = kind == W_Q8 ? QT_BYTES(0x80) : QT_BYTES(0x0f);
    ROW_SWITCH(r, MAC_ROW, "v16", "v18", "v20", "v22");
}

/* The float steps, for four rows at once in e32 LMUL-4 groups at vl = VLMAX (row r in the
 * group's register r, where narrowing the sums puts it): v12 the block sums, then the products;
 * v4 the scales as loaded, v16 their conversion, v8 the activation sums times the offset, then
 * the scales' signs, v20 scratch and x.d (one copy in v1). A run shorter than a register leaves
 * stale elements in the groups, which no step adds. v24..v27 and v28..v31 hold lanes 0..7 of
 * each row, or where a register holds four floats (VLEN 128), lanes 0..3 and 4..7. */

/* The rows' lanes to 0; the scale registers to a normal half's (1.0) for the stale elements. */
static inline void lanes_clear(void)
{
    size_t vl;
    __asm__ volatile(V_ON "vsetvli %0, zero, e32, m4, ta, ma\n\t"
                          "vmv.v.x v4, %1\n\t vmv.v.i v24, 0\n\t vmv.v.i v28, 0" V_OFF
                     : "=&r"(vl)
                     : "r"(0x3c00L));
}

/* To e32 at vl: v8..v11 the run's activation sums, v1 their x.d. */
static inline void acts_load(size_t vl, const int32_t *xs, const float *xd)
{
    __asm__ volatile(V_ON "vsetvli zero, %2, e32, m1, tu, ma\n\t"
                          "vle32.v v8, (%0)\n\t vle32.v v1, (%1)\n\t"
                          "vmv1r.v v9, v8\n\t vmv1r.v v10, v8\n\t vmv1r.v v11, v8" V_OFF
                     :
                     : "r"(xs), "r"(xd), "r"(vl)
                     : "memory");
}

/* Row r's scales, from the block at w on: the load reads each scale and its block's first two
 * weight bytes, which the shifts drop. */
static inline void scales_load(int r, const uint8_t *w, size_t stride)
{
#define LOAD(V) __asm__ volatile(V_ON "vlse32.v " V ", (%0), %1" V_OFF : : "r"(w), "r"((long)stride) : "memory")
    ROW_SWITCH(r, LOAD, "v4", "v5", "v6", "v7");
#undef LOAD
}

/* The exact block sums s_b as floats (the high halves of the pair sums, less off * sum(x)), the
 * scales' magnitudes e|m << 13 and their signs. Returns whether any scale is not a normal half
 * (zero, subnormal, inf, NaN). */
static inline int products_begin(long off_shift)
{
    size_t vl;
    long special;
    __asm__ volatile(V_ON "vsetvli %[vl], zero, e32, m4, ta, ma\n\t"
                          "vnsrl.wx v12, v16, %[n32]\n\t"
                          "vsll.vx v8, v8, %[sh]\n\t"
                          "vsub.vv v12, v12, v8\n\t"
                          "vfcvt.f.x.v v12, v12\n\t"
                          "vsll.vi v16, v4, 17\n\t"
                          "vsrl.vi v16, v16, 4\n\t"
                          "vsll.vi v8, v4, 16\n\t"
                          "vand.vx v8, v8, %[sign]\n\t"
                          "vsub.vx v20, v16, %[lo]\n\t"
                          "vmsgtu.vx v0, v20, %[span]\n\t"
                          "vfirst.m %[special], v0" V_OFF
                     : [vl] "=&r"(vl), [special] "=&r"(special)
                     : [n32] "r"(32L), [sh] "r"(off_shift), [sign] "r"(0x80000000L), [lo] "r"(1L << 23),
                       [span] "r"((31L << 23) - (1L << 23) - 1));
    return special >= 0;
}

/* The scales' magnitudes as floats: a normal half re-biases its exponent; otherwise
 * fp16_to_fp32's steps, e|m << 13 as a float times 2^112, the top exponent (inf, NaN) apart. */
static inline void magnitudes(int special)
{
    if (special)
        __asm__ volatile(V_ON "vmsgtu.vx v0, v16, %0\n\t"
                              "vfmul.vf v20, v16, %1\n\t"
                              "vor.vx v16, v16, %2\n\t"
                              "vmerge.vvm v16, v20, v16, v0" V_OFF
                         :
                         : "r"((0x7c00L << 13) - 1), "f"(5.192296858534828e+33f), "r"(0x7f800000L));
    else
        __asm__ volatile(V_ON "vadd.vx v16, v16, %0" V_OFF : : "r"(0x38000000L));
}

/* (float)s_b * (fp16(d_b) * x.d), added onto the lanes of the run's blocks (tail undisturbed):
 * set 0 (v24..) or, past four lanes a register, set 1 (v28..). */
static inline void products_add(size_t vl, int set)
{
#define PRODUCTS                                                                                                       \
    "vor.vv v16, v16, v8\n\t"                                                                                          \
    "vmv1r.v v20, v1\n\t vmv1r.v v21, v1\n\t vmv1r.v v22, v1\n\t vmv1r.v v23, v1\n\t"                                  \
    "vfmul.vv v16, v16, v20\n\t"                                                                                       \
    "vfmul.vv v12, v12, v16\n\t"                                                                                       \
    "vsetvli zero, %0, e32, m1, tu, ma\n\t"
    if (set)
        __asm__ volatile(V_ON PRODUCTS "vfadd.vv v28, v28, v12\n\t vfadd.vv v29, v29, v13\n\t"
                                       "vfadd.vv v30, v30, v14\n\t vfadd.vv v31, v31, v15" V_OFF
                         :
                         : "r"(vl));
    else
        __asm__ volatile(V_ON PRODUCTS "vfadd.vv v24, v24, v12\n\t vfadd.vv v25, v25, v13\n\t"
                                       "vfadd.vv v26, v26, v14\n\t vfadd.vv v27, v27, v15" V_OFF
                         :
                         : "r"(vl));
#undef PRODUCTS
}

/* acc[r][0..7] of each row: set 0's lanes, then set 1's where a register holds four. */
static inline void lanes_store(float acc[4][8])
{
    size_t n;
    __asm__ volatile(V_ON "vsetvli %0, %1, e32, m1, ta, ma" V_OFF : "=r"(n) : "r"(8L));
#define STORE(A, B, C, D)                                                                                              \
    __asm__ volatile(V_ON "vse32.v " A ", (%0)\n\t vse32.v " B ", (%1)\n\t vse32.v " C ", (%2)\n\t vse32.v " D         \
                          ", (%3)" V_OFF                                                                               \
                     :                                                                                                 \
                     : "r"(acc[0] + lane), "r"(acc[1] + lane), "r"(acc[2] + lane), "r"(acc[3] + lane)                  \
                     : "memory")
    size_t lane = 0;
    STORE("v24", "v25", "v26", "v27");
    if (n < 8) {
        lane = n;
        STORE("v28", "v29", "v30", "v31");
    }
#undef STORE
}

/* R rows at once (R a constant where it is inlined), runs of up to 8 blocks (the lanes), of
 * VLMAX where a register group holds fewer: per run, each activation field is paired once for
 * all R rows. Q8_0 field f is weight word f; Q4_0's fields 0..3 are the low nibbles of words 0,
 * 1, then their high nibbles. */
#define ROWS_BODY(R, BLOCK, Q4)                                                                                        \
    do {                                                                                                               \
        float acc[4][8];                                                                                               \
        lanes_clear();                                                                                                 \
        for (uint32_t b = 0; b < nb;) {                                                                                \
            size_t vl = run_begin(RT_MIN(nb - b, 8u));                                                                 \
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
            acts_load(vl, v->s.xs + b, v->s.xd + b);                                                                   \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) scales_load(r, blk + r * row_bytes, sizeof(BLOCK));    \
            magnitudes(products_begin(Q4 ? 3 : 7));                                                                    \
            products_add(vl, b % 8 >= 4);                                                                              \
            b += (uint32_t)vl;                                                                                         \
        }                                                                                                              \
        lanes_store(acc);                                                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) out[r] = qt_hsum8(acc[r]);                                 \
    } while (0)

QT_ROWS_GROUPED(rows_q8_0_rvv, ROWS_BODY, block_q8_0, 0)
QT_ROWS_GROUPED(rows_q4_0_rvv, ROWS_BODY, block_q4_0, 1)

const qt_kernels qt_rvv = {"rvv", hart_has_v, NULL, rows_q8_0_rvv, rows_q4_0_rvv, NULL, NULL, NULL, NULL, NULL, NULL};

#endif
