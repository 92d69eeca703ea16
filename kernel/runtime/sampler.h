/* Choosing the next token: greedy (argmax, lowest id on ties) or temperature + top-p (nucleus)
 * sampling driven by a seeded xorshift64* generator, so a seed replays the same tokens. */
#ifndef AUTON_SAMPLER_H
#define AUTON_SAMPLER_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} rng64;

void rng_seed(rng64 *r, uint64_t seed);
float rng_uniform(rng64 *r); /* [0, 1) with 24 random bits */

int32_t sample_argmax(const float *logits, uint32_t n);

/* probs and order are scratch of n entries each. temperature <= 0 means argmax. */
int32_t sample_token(const float *logits, uint32_t n, float temperature, float top_p, rng64 *r, float *probs,
                     uint32_t *order);

#endif
