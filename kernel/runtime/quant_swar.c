/* The "swar" block kernels: Q8_0 and Q4_0 rows in plain 64-bit integer arithmetic (SIMD within
 * a register), for CPUs without a SIMD path, and above all for QEMU's TCG, where a guest load
 * costs a softmmu TLB lookup and a register sync while an ALU op costs a host instruction or two.
 * The portable path loads two bytes per multiply-add; this one loads eight weights or eight
 * activations at once and shares each activation word among the rows of a group.
 *
 * One 64-bit multiply gives two products. A word U of eight unsigned bytes u_0..u_7 yields four
 * pairs P_k = (U >> 8k) & 0x000000ff000000ff = u_k + u_{k+4} * 2^32, and an activation word, its
 * halves swapped, the pairs Q_k = x_{k+4} + x_k * 2^32 (signed values). Modulo 2^64,
 *   P_k * Q_k = u_k x_{k+4} + (u_k x_k + u_{k+4} x_{k+4}) * 2^32,
 * so the sum of the 16 products of a block holds the block's dot product in its high 32 bits,
 * above a term |sum u_k x_{k+4}| <= 16 * 255 * 127 < 2^31, which its low 32 bits give back
 * exactly; the dot product itself is below 32 * 255 * 128 < 2^31. The weights enter as unsigned
 * bytes u = w + off (Q8_0: w ^ 0x80, off 128; Q4_0: the nibbles, off 8), and off * sum(x) (the
 * block sums qt_prepare keeps) comes off at the end. The block's integer sum is exact, so the
 * float steps after it are quant.h's canonical ones and the bits are those of every path. */
#include "quant_isa.h"

/* Eight bytes at p, whatever its alignment (blocks of 34 and 18 bytes put the weights at even
 * addresses only). gcc splits an unaligned load into bytes on riscv64, which TCG runs slowly;
 * QEMU (and the Linux-class cores this kernel targets) runs a misaligned ld directly. */
typedef struct {
    uint8_t b[8];
} bytes8;

static inline uint64_t load64(const void *p)
{
    uint64_t v;
#if defined(__riscv)
    __asm__("ld %0, %1" : "=r"(v) : "m"(*(const bytes8 *)p));
#else
    __builtin_memcpy(&v, p, sizeof v);
#endif
    return v;
}

/* Q_0..Q_3 of the activation word at x. */
static inline void act_pairs(uint64_t q[4], const int8_t *x)
{
    uint64_t w = load64(x), o = ((w >> 32) | (w << 32)) ^ QT_BYTES(0x80);
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) q[k] = ((o >> 8 * k) & QT_PAIRS) - QT_PAIR_BIAS;
}

static inline uint64_t mac_pairs(uint64_t s, uint64_t u, const uint64_t q[4])
{
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) s += ((u >> 8 * k) & QT_PAIRS) * q[k];
    return s;
}

/* The block's dot product from its sum of pair products. */
static inline int32_t pair_sum(uint64_t s)
{
    uint64_t low = (uint64_t)(int64_t)(int32_t)(uint32_t)s;
    return (int32_t)(uint32_t)((s - low) >> 32);
}

/* fp16_to_fp32 with integer steps for a normal half (its exponent re-biased, the float multiply
 * a helper call under TCG); zero, subnormals, inf and NaN take the exact general way. */
static inline float half_to_float(uint16_t h)
{
    uint32_t e = h & 0x7c00u;
    if (__builtin_expect(e == 0 || e == 0x7c00u, 0))
        return fp16_to_fp32(h);
    return rt_f32_from(((uint32_t)(h & 0x8000u) << 16) | (((uint32_t)(h & 0x7fffu) << 13) + 0x38000000u));
}

/* Weight words u[0], u[1]: the unsigned bytes of values 8c..8c+7 and 8c+16..8c+23 of the block
 * at blk. */
static inline void q8_0_words(uint64_t u[2], const uint8_t *blk, int c)
{
    const int8_t *qs = ((const block_q8_0 *)blk)->qs + 8 * c;
    u[0] = load64(qs) ^ QT_BYTES(0x80);
    u[1] = load64(qs + 16) ^ QT_BYTES(0x80);
}

static inline void q4_0_words(uint64_t u[2], const uint8_t *blk, int c)
{
    uint64_t w = load64(((const block_q4_0 *)blk)->qs + 8 * c);
    u[0] = w & QT_BYTES(0x0f);
    u[1] = (w >> 4) & QT_BYTES(0x0f);
}

/* R rows at once (R a constant where it is inlined): per block, each activation word is loaded
 * and paired once for all R rows. */
#define ROWS_BODY(R, WORDS, OFF, BLOCK)                                                                                \
    do {                                                                                                               \
        float acc[R][8] = {{0}};                                                                                       \
        const uint8_t *blk[R];                                                                                         \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) blk[r] = w + r * row_bytes;                                \
        const int8_t *x = v->s.xq;                                                                                     \
        for (uint32_t b = 0; b < nb; b++, x += QK) {                                                                   \
            uint64_t s[R] = {0};                                                                                       \
            for (int c = 0; c < 2; c++) {                                                                              \
                uint64_t qa[4], qb[4];                                                                                 \
                act_pairs(qa, x + 8 * c);                                                                              \
                act_pairs(qb, x + 8 * c + 16);                                                                         \
                _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                    \
                {                                                                                                      \
                    uint64_t u[2];                                                                                     \
                    WORDS(u, blk[r], c);                                                                               \
                    s[r] = mac_pairs(mac_pairs(s[r], u[0], qa), u[1], qb);                                             \
                }                                                                                                      \
            }                                                                                                          \
            int32_t off = (OFF)*v->s.xs[b];                                                                            \
            float xd = v->s.xd[b];                                                                                     \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                        \
            {                                                                                                          \
                float d = half_to_float(((const BLOCK *)blk[r])->d) * xd;                                              \
                acc[r][b % 8] += (float)(pair_sum(s[r]) - off) * d;                                                    \
                blk[r] += sizeof(BLOCK);                                                                               \
            }                                                                                                          \
        }                                                                                                              \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) out[r] = qt_hsum8(acc[r]);                                 \
    } while (0)

QT_ROWS_GROUPED(rows_q8_0_swar, ROWS_BODY, q8_0_words, 128, block_q8_0)
QT_ROWS_GROUPED(rows_q4_0_swar, ROWS_BODY, q4_0_words, 8, block_q4_0)

static int always(void)
{
    return 1;
}

const qt_kernels qt_swar = {"swar", always, NULL, rows_q8_0_swar, rows_q4_0_swar, NULL, NULL, NULL, NULL, NULL, NULL};
