/* The Llama model: hyperparameters and weights bound from GGUF (llama architecture), the F16
 * KV cache, and the forward pass for one token, as llama.cpp's CPU backend computes it:
 *   x = token_embd[token]
 *   per layer: h = rmsnorm(x) * attn_norm; q,k,v = Wq h, Wk h, Wv h; RoPE (interleaved pairs)
 *              on q and k; k, v -> F16 cache; per head: softmax(q16 . k16 / sqrt(hd)) rounded to
 *              F16, times v16 (GQA: query head i reads kv head i / (n_heads / n_kv_heads));
 *              x += Wo attn; h = rmsnorm(x) * ffn_norm; x += Wdown (silu(Wgate h) * Wup h)
 *   logits = output (or token_embd when tied) . (rmsnorm(x) * output_norm) */
#ifndef AUTON_MODEL_H
#define AUTON_MODEL_H

#include <stdint.h>

#include "gguf.h"
#include "quant.h"
#include "slm.h"
#include "vocab.h"

typedef struct {
    qt_matrix wq, wk, wv, wo, gate, up, down;
    const float *attn_norm, *ffn_norm;
} llama_layer;

typedef struct {
    uint32_t n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, context, vocab;
    float eps, rope_base;
} llama_hparams;

struct slm_model {
    llama_hparams hp;
    qt_matrix tok_embd, output;
    const float *output_norm;
    llama_layer *layers;
    uint16_t *k_cache, *v_cache; /* [layer][position][n_kv_heads * head_dim] */
    /* activations: `batch` rows each (a batched prefill's tokens), except the per-head
     * attention scratch and the logits (of the last token) */
    uint32_t batch;
    float *x, *xb, *xb2, *q, *k, *v, *hb, *hb2, *logits;
    float *att, *qh; /* [n_heads][context], [n_heads][head_dim] */
    float *rope_cs;  /* [batch][head_dim]: cos, sin of each rotary pair's angle at each position */
    qt_vec *vecs;    /* [batch] the matmuls' input vectors, each with its scratch */
    /* the workers of slm_set_workers */
    uint32_t n_workers;
    slm_fork_fn fork;
    void *pool;
    /* sampling and prompts */
    float *probs;
    uint32_t *order;
    int32_t *tokens;
    char *text; /* the QA-formatted prompt */
    vocab vocab;
    /* facts for slm_info */
    char name[64];
    const char *quant;
    uint64_t n_params, weight_bytes, kv_bytes;
};

/* Bind hyperparameters and weights and allocate the cache and buffers (not the vocabulary). */
int model_build(slm_model *m, const gguf_file *g, slm_arena *a, char *err, size_t errlen);

/* Run n (<= m->batch) tokens at positions pos .. pos + n - 1 (< context) through the model as
 * one batch, filling the KV cache; the logits of the last token are computed only when
 * want_logits. Every value is the same as when the tokens run one at a time. */
void model_forward(slm_model *m, const int32_t *tokens, uint32_t n, uint32_t pos, int want_logits);

#endif
