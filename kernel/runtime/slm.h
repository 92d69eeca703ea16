/* The AUTON SLM runtime: a freestanding Llama inference engine over an embedded GGUF file.
 *
 * No libc: it uses only the arena it is given and the hooks in platform.h. The GGUF bytes
 * are untrusted input; every read is bounds-checked and a malformed model is reported as an
 * error string, never a crash. */
#ifndef AUTON_SLM_H
#define AUTON_SLM_H

#include <stddef.h>
#include <stdint.h>

/* A bump allocator over one fixed region sized at boot. */
typedef struct {
    uint8_t *base;
    size_t size;
    size_t used;
    size_t peak;
} slm_arena;

typedef struct slm_model slm_model;

typedef struct {
    float temperature; /* 0 = greedy */
    float top_p;       /* 1 = off */
    uint64_t seed;
} slm_sampler;

typedef struct {
    int prompt_tokens;
    int generated_tokens;
    uint64_t prefill_us;
    uint64_t decode_us;
} slm_stats;

/* Facts for the boot banner. */
typedef struct {
    const char *name;   /* general.name, or "" */
    const char *quant;  /* dominant weight type: "F32", "F16", "Q8_0", "Q4_0", ... */
    uint64_t n_params;
    uint32_t n_layers, d_model, n_heads, n_kv_heads, d_ff, context, vocab_size;
} slm_info;

/* Parse and validate `gguf` (len bytes) and set up the model, allocating from `arena`.
 * Returns 0, or a negative code with a one-line message in err. */
int slm_load(slm_model **out, const uint8_t *gguf, size_t len, slm_arena *arena, char *err, size_t errlen);

void slm_get_info(const slm_model *m, slm_info *info);

/* Tokenize `prompt` in the QA format (BOS <|q|> prompt <|a|>), generate up to `max_tokens`
 * tokens (stopping at EOS), calling emit() with each decoded piece. Returns the number of
 * generated tokens, or a negative code with a message in err. */
typedef void (*slm_emit_fn)(const char *piece, size_t len, void *ctx);
int slm_generate(slm_model *m, const char *prompt, int max_tokens, const slm_sampler *s, slm_emit_fn emit,
                 void *ctx, slm_stats *stats, char *err, size_t errlen);

#endif
