/* The AUTON SLM runtime: a freestanding Llama inference engine over an embedded GGUF file.
 *
 * No libc: it uses only the arena it is given and the hooks in platform.h (plat_time_us for
 * the timings in slm_stats). The GGUF bytes are untrusted input; every read is bounds-checked
 * and a malformed model is reported as a one-line error string, never a crash.
 *
 * Numerics follow llama.cpp (CPU backend, its defaults): activations are quantized to Q8_0 for
 * Q8_0/Q4_0 weights and rounded to F16 for F16 weights, the KV cache holds F16, RoPE is the
 * interleaved ("normal") layout of GGUF's llama architecture. The runtime is compiled with
 * -ffp-contract=off and a fixed evaluation order, so every arch (and the host build) computes
 * bit-identical logits and therefore identical greedy tokens.
 *
 * For the kernel console (kernel/main.c):
 *   slm_arena a; slm_arena_init(&a, base, size);
 *   slm_model *m; char err[160];
 *   if (slm_load(&m, gguf, gguf_len, &a, err, sizeof err) < 0) { print err; plat_exit(1); }
 *   slm_info info; slm_get_info(m, &info);            // banner facts; arena use is a.used/a.peak
 *   slm_generate(m, line, max_tokens, &sampler, emit, ctx, &stats, err, sizeof err);
 * slm_generate may be called any number of times; each call starts a fresh context and
 * allocates nothing (all buffers are sized at load), so the arena use is fixed after slm_load.
 * fmt.h offers slm_snprintf/slm_vsnprintf (%d %u %x %s %c %f, l/ll/z) for the kernel's printf.
 */
#ifndef AUTON_SLM_H
#define AUTON_SLM_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (negative returns); the err buffer always gets a one-line message. */
enum {
    SLM_E_FORMAT = -1,      /* the GGUF file is malformed (truncated, bad magic, bad shape, ...) */
    SLM_E_UNSUPPORTED = -2, /* well-formed but not something this runtime runs (arch, type, tokenizer) */
    SLM_E_NOMEM = -3,       /* the arena is too small */
    SLM_E_INPUT = -4,       /* bad call: prompt too long for the context, bad token id, ... */
};

/* A bump allocator over one fixed region sized at boot. */
typedef struct {
    uint8_t *base;
    size_t size;
    size_t used; /* bytes held by the loaded model */
    size_t peak; /* high-water mark, including the temporary index used while loading */
    size_t temp; /* bytes borrowed from the top end while slm_load runs (0 afterwards) */
} slm_arena;

void slm_arena_init(slm_arena *a, void *base, size_t size);

typedef struct slm_model slm_model;

typedef struct {
    float temperature; /* 0 = greedy (argmax) */
    float top_p;       /* nucleus sampling threshold; >= 1 = off */
    uint64_t seed;     /* RNG seed: the same seed gives the same tokens */
} slm_sampler;

typedef struct {
    int prompt_tokens;
    int generated_tokens; /* including a final end-of-generation token */
    int stopped_at_eos;   /* 1 when generation ended at an end-of-generation token */
    uint64_t prefill_us;
    uint64_t decode_us;
} slm_stats;

/* Facts for the boot banner. */
typedef struct {
    const char *name;      /* general.name, or "" */
    const char *quant;     /* dominant weight type: "F32", "F16", "Q8_0", "Q4_0" */
    const char *tokenizer; /* "gpt2" (byte-level BPE), "llama" (SentencePiece BPE), "t5" (unigram) */
    uint64_t n_params;
    uint64_t weight_bytes; /* tensor data, used in place from the GGUF image */
    uint64_t kv_bytes;     /* KV cache, in the arena */
    uint32_t n_layers, d_model, n_heads, n_kv_heads, d_ff, context, vocab_size;
    const char *isa;       /* the kernel path in use: "portable", "swar", "ssse3", "avx2", "neon", "sdot" */
    const char *isas;      /* the paths this CPU runs, space-separated */
    const char *isa_rates; /* "name=MB/s ..." of each path "best" timed to choose; "" if one was named */
} slm_info;

/* Fork-join for the forward pass: fork(pool, job, arg) must call job(arg, w, n) once for every
 * worker w < n (n = the count given to slm_set_workers), concurrently or not, and return when
 * all have returned. The runtime splits matrix rows and attention heads into n contiguous
 * shares, each computed exactly as on one worker, so the tokens and logits do not depend on n.
 * The host build runs the workers on threads (slm-run --threads); the kernel may run them on
 * its other harts/CPUs. Without a call (or with n = 1) everything runs on the caller. */
typedef void (*slm_job_fn)(void *arg, uint32_t worker, uint32_t n_workers);
typedef void (*slm_fork_fn)(void *pool, slm_job_fn job, void *arg);
void slm_set_workers(slm_model *m, uint32_t n, slm_fork_fn fork, void *pool);
/* The workers every model loaded afterwards starts with: the kernel's boot code sets them once
 * it has started the other CPUs, before slm_load. */
void slm_set_default_workers(uint32_t n, slm_fork_fn fork, void *pool);

/* Choose the block-kernel path by name (one of slm_info.isas), or "best", the default: the
 * fastest, timed on this CPU the first time it is asked for (a few ms per path). Every path
 * computes the same bits; naming one exists to test and measure each. Returns 0, or SLM_E_INPUT
 * when this CPU does not run `name`. Process-wide: call it before slm_generate. */
int slm_set_isa(const char *name);
const char *slm_isas(void); /* slm_info.isas without a model */

/* Parse and validate `gguf` (len bytes, which must stay mapped while the model is used) and
 * set up the model, allocating from `arena`. Returns 0, or a negative code with a message. */
int slm_load(slm_model **out, const uint8_t *gguf, size_t len, slm_arena *arena, char *err, size_t errlen);

void slm_get_info(const slm_model *m, slm_info *info);

/* Called once per generated token with its id and decoded bytes (len may be 0, e.g. for a
 * control token; pieces may split a UTF-8 character across calls). */
typedef void (*slm_emit_fn)(int32_t token, const char *piece, size_t len, void *ctx);

/* Tokenize `prompt` in the QA format (BOS <|q|> prompt <|a|>, the prompt stripped of
 * surrounding whitespace), generate up to `max_tokens` tokens (stopping after an
 * end-of-generation token or when the context is full), calling emit() for each.
 * Returns the number of generated tokens, or a negative code with a message in err. */
int slm_generate(slm_model *m, const char *prompt, int max_tokens, const slm_sampler *s, slm_emit_fn emit, void *ctx,
                 slm_stats *stats, char *err, size_t errlen);

/* The token-level interface under slm_generate (host tools and parity tests).
 * slm_tokenize: tokenize `len` bytes of `text` like llama.cpp's llama_tokenize with
 * parse_special=true (special-token strings such as <|q|> become their ids), with BOS first
 * when add_bos. slm_tokenize_prompt: the QA-format tokens slm_generate feeds the model.
 * Both return the token count, or a negative code (SLM_E_INPUT when over `max`). */
int slm_tokenize(slm_model *m, const char *text, size_t len, int add_bos, int32_t *out, int max, char *err,
                 size_t errlen);
int slm_tokenize_prompt(slm_model *m, const char *prompt, int32_t *out, int max, char *err, size_t errlen);

/* The vocab_size logits the current token was drawn from: valid inside an emit() call. */
const float *slm_logits(const slm_model *m);

/* Step by step (the console's constrained decoder, console/request.c): run `n` tokens at
 * positions pos .. pos + n - 1 through the model (the KV cache keeps the positions before pos
 * from earlier calls), leaving the logits after the last in slm_logits(m). Returns 0, or
 * SLM_E_INPUT for a bad id or a position past the context. slm_token_piece: the bytes token
 * `id` decodes to ("" for control tokens and ids outside the vocabulary). */
int slm_feed(slm_model *m, const int32_t *tokens, int n, int pos, char *err, size_t errlen);
const char *slm_token_piece(const slm_model *m, int32_t id, size_t *len);

/* Generate from prompt tokens, as slm_generate does after tokenizing. */
int slm_generate_tokens(slm_model *m, const int32_t *prompt, int n_prompt, int max_tokens, const slm_sampler *s,
                        slm_emit_fn emit, void *ctx, slm_stats *stats, char *err, size_t errlen);

#endif
