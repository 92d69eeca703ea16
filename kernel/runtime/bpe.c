/* GPT-2 byte-level BPE over one raw fragment: decode to codepoints, split into words with the
 * GPT-2 pre-tokenizer, map each word's UTF-8 bytes to their byte tokens, then merge adjacent
 * pairs by rank (lowest first, leftmost on ties) as llama.cpp's llm_tokenizer_bpe_session. */
#include "rt.h"
#include "unicode.h"
#include "vocab.h"

/* Rank (index) of the merge of tokens l and r, or -1. */
static int32_t merge_rank(const vocab *v, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return -1;
    uint32_t h = rt_hash(&l, 4, &r, 4) & v->merge_mask;
    for (;; h = (h + 1) & v->merge_mask) {
        int32_t m = v->merge_index[h];
        if (m < 0)
            return -1;
        if (v->merges[m].left == l && v->merges[m].right == r)
            return m;
    }
}

static int emit_word(vocab *v, const uint32_t *cps, uint32_t ncp, tok_out *out)
{
    tok_scratch *s = &v->s;
    int32_t m = 0;
    for (uint32_t c = 0; c < ncp; c++) {
        uint8_t u[4];
        size_t nb = utf8_encode(cps[c], u);
        for (size_t k = 0; k < nb; k++, m++) {
            s->bytes[m] = u[k];
            s->id[m] = v->byte_token[u[k]];
            s->prev[m] = m - 1;
            s->next[m] = m + 1;
        }
    }
    if (m == 0)
        return 0;
    s->next[m - 1] = -1;
    for (int32_t i = 0; i < m; i++)
        s->rank[i] = i + 1 < m ? merge_rank(v, s->id[i], s->id[i + 1]) : -1;
    for (;;) {
        int32_t best = -1;
        for (int32_t i = 0; i >= 0; i = s->next[i])
            if (s->rank[i] >= 0 && (best < 0 || s->rank[i] < s->rank[best]))
                best = i;
        if (best < 0)
            break;
        int32_t j = s->next[best];
        s->id[best] = v->merges[s->rank[best]].result;
        s->next[best] = s->next[j];
        if (s->next[j] >= 0)
            s->prev[s->next[j]] = best;
        s->rank[best] = s->next[best] >= 0 ? merge_rank(v, s->id[best], s->id[s->next[best]]) : -1;
        if (s->prev[best] >= 0)
            s->rank[s->prev[best]] = merge_rank(v, s->id[s->prev[best]], s->id[best]);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) {
        if (s->id[i] >= 0) {
            if (tok_push(out, s->id[i]))
                return -1;
            continue;
        }
        /* A byte whose token is missing: llama.cpp tries each byte of its encoded text alone. */
        uint8_t u[4];
        size_t nb = utf8_encode(gpt2_byte_to_cp(s->bytes[i]), u);
        for (size_t k = 0; k < nb; k++) {
            int32_t t = vocab_find(v, &u[k], 1, 0, 0);
            if (t >= 0 && tok_push(out, t))
                return -1;
        }
    }
    return 0;
}

int bpe_tokenize(vocab *v, const uint8_t *text, size_t len, tok_out *out)
{
    tok_scratch *s = &v->s;
    size_t ncp = utf8_decode(text, len, s->cps);
    size_t nw = gpt2_split(s->cps, ncp, s->words);
    for (size_t w = 0, at = 0; w < nw; at += s->words[w++])
        if (emit_word(v, s->cps + at, s->words[w], out))
            return -1;
    return 0;
}
