#include "sampler.h"

#include "fmath.h"
#include "rt.h"

void rng_seed(rng64 *r, uint64_t seed)
{
    /* splitmix64 spreads small seeds; xorshift needs a non-zero state */
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    r->state = (z ^ (z >> 31)) | 1;
}

static uint32_t rng_u32(rng64 *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return (uint32_t)((r->state * 0x2545f4914f6cdd1dULL) >> 32);
}

float rng_uniform(rng64 *r)
{
    return (float)(rng_u32(r) >> 8) / 16777216.0f;
}

int32_t sample_argmax(const float *logits, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return (int32_t)best;
}

static int more_probable(const void *ctx, uint32_t a, uint32_t b)
{
    const float *p = ctx;
    /* the sort order: most probable first, lower ids first on ties */
    if (p[a] != p[b])
        return p[a] < p[b] ? 0 : 1;
    return a < b;
}

int32_t sample_token(const float *logits, uint32_t n, float temperature, float top_p, rng64 *r, float *probs,
                     uint32_t *order)
{
    if (!(temperature > 0.0f))
        return sample_argmax(logits, n);
    float max = logits[sample_argmax(logits, n)];
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        probs[i] = fm_expf((logits[i] - max) / temperature);
        sum += probs[i];
    }
    uint32_t m = 0;
    if (top_p > 0.0f && top_p < 1.0f) {
        /* Only tokens above (1 - top_p) / (n - 1) of the mass can be in the nucleus. */
        double cut = sum * (1.0 - top_p) / (n > 1 ? n - 1 : 1);
        for (uint32_t i = 0; i < n; i++)
            if (probs[i] >= cut)
                order[m++] = i;
        rt_sort(order, m, more_probable, probs);
        double cum = 0.0, limit = sum * top_p;
        uint32_t keep = 0;
        while (keep < m) {
            cum += probs[order[keep++]];
            if (cum > limit)
                break;
        }
        m = keep;
        sum = cum;
    } else {
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        m = n;
    }
    double target = (double)rng_uniform(r) * sum, acc = 0.0;
    for (uint32_t k = 0; k < m; k++) {
        acc += probs[order[k]];
        if (target < acc)
            return (int32_t)order[k];
    }
    return m ? (int32_t)order[m - 1] : sample_argmax(logits, n);
}
