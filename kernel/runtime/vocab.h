/* The tokenizer, rebuilt from GGUF metadata the way llama.cpp reads it:
 *   tokenizer.ggml.model   "gpt2" (byte-level BPE, pre-tokenizer "gpt-2"), "llama" (SentencePiece
 *                          BPE) or "t5" (SentencePiece unigram: llama.cpp's UGM tokenizer)
 *   tokenizer.ggml.tokens / token_type / scores / merges, bos/eos/unk/eot token ids,
 *   tokenizer.ggml.add_space_prefix, remove_extra_whitespaces, precompiled_charsmap (SentencePiece).
 * Special tokens (control, user-defined, unknown) are matched as whole strings before the
 * model's own tokenization, longest first, as llama_tokenize does with parse_special=true.
 * Detokenized pieces are precomputed at load (control and unknown tokens decode to ""). */
#ifndef AUTON_VOCAB_H
#define AUTON_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "slm.h"

enum {
    TOK_UNDEFINED = 0,
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER_DEFINED = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6
};
enum { VOCAB_GPT2 = 1, VOCAB_SPM = 2, VOCAB_UGM = 3 };

typedef struct {
    int32_t left, right, result; /* token ids; the rank is the merge's index */
} bpe_merge;

typedef struct {
    int32_t token; /* a special token, or -1 for raw text at [off, off + len) */
    uint32_t off, len;
} fragment;

/* Scratch for one tokenization, sized at load for `max_text` bytes of input. */
typedef struct {
    size_t max_text;
    fragment *frag[2];
    uint32_t *cps, *words;
    uint8_t *bytes;
    int32_t *id, *next, *prev;
    uint32_t *off, *len;
    int32_t *rank; /* per symbol: the merge (bpe) or token (spm) that (symbol, next) would make, or -1 */
    float *score;  /* spm: that token's score */
    double *best;  /* ugm: the best score of a segmentation up to each byte */
} tok_scratch;

typedef struct {
    int kind;
    uint32_t n;
    rt_str *text;
    uint8_t *type;
    float *score;
    char *pieces;
    uint32_t *piece_off; /* n + 1 offsets into pieces */
    int32_t *index;      /* text -> id, open addressing */
    uint32_t index_mask;
    bpe_merge *merges;
    uint32_t n_merges;
    int32_t *merge_index;
    uint32_t merge_mask;
    int32_t byte_token[256]; /* gpt2: the token of each byte's codepoint; llama: <0xXX> */
    uint32_t *specials;      /* special token ids, longest text first */
    uint32_t n_specials;
    int32_t bos, eos, eot, unk;
    int32_t eog[8];
    uint32_t n_eog;
    int add_space_prefix;
    /* ugm (SentencePiece unigram, "t5"): Viterbi over tokens, after SentencePiece's normalizer */
    int remove_extra_ws;
    float unk_score;                    /* the lowest normal token score - 10 */
    uint32_t max_piece, max_user_piece; /* longest matchable / user-defined token, in bytes */
    const uint8_t *charsmap;            /* precompiled_charsmap: XCDA entries, then replacements */
    size_t xcda_entries, charsmap_len, replacements_at;
    tok_scratch s;
} vocab;

/* Output of a tokenization. */
typedef struct {
    int32_t *ids;
    int n, max;
} tok_out;

int vocab_load(vocab *v, const gguf_file *g, slm_arena *a, size_t max_text, char *err, size_t errlen);

int vocab_tokenize(vocab *v, const char *text, size_t len, int add_bos, int32_t *out, int max, char *err,
                   size_t errlen);

/* Token id of the bytes a[0..na) followed by b[0..nb), or -1; vocab_find_hashed takes the
 * rt_hash of its n bytes at p already computed. */
int32_t vocab_find(const vocab *v, const void *a, size_t na, const void *b, size_t nb);
int32_t vocab_find_hashed(const vocab *v, uint32_t hash, const void *p, size_t n);

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's visible space */

const char *vocab_piece(const vocab *v, int32_t id, size_t *len);
int vocab_is_eog(const vocab *v, int32_t id);

/* The model-specific tokenizers over one raw fragment (bpe.c, spm.c); -1 when out is full. */
int bpe_tokenize(vocab *v, const uint8_t *text, size_t len, tok_out *out);
int spm_tokenize(vocab *v, const uint8_t *text, size_t len, int space_prefix, tok_out *out);
int ugm_tokenize(vocab *v, const uint8_t *text, size_t len, tok_out *out);

static inline int tok_push(tok_out *o, int32_t id)
{
    if (o->n >= o->max)
        return -1;
    o->ids[o->n++] = id;
    return 0;
}

#endif
