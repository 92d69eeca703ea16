/* SentencePiece ("llama" tokenizer model) over one raw fragment, as llama.cpp's
 * llm_tokenizer_spm_session: spaces become U+2581 (with one in front when the fragment follows
 * a special token or starts the text), the text splits into UTF-8 characters, adjacent pairs
 * that form a token merge highest score first (leftmost on ties), and a piece that is no token
 * falls back to its bytes' <0xXX> tokens. */
#include "rt.h"
#include "unicode.h"
#include "vocab.h"

/* The token (and its score) that symbols i and next[i] would merge into, or -1. */
static void pair(vocab *v, int32_t i)
{
    tok_scratch *s = &v->s;
    int32_t j = s->next[i];
    s->rank[i] = j < 0 ? -1 : vocab_find(v, s->bytes + s->off[i], s->len[i] + s->len[j], 0, 0);
    s->score[i] = s->rank[i] >= 0 ? v->score[s->rank[i]] : 0.0f;
}

int spm_tokenize(vocab *v, const uint8_t *text, size_t len, int space_prefix, tok_out *out)
{
    tok_scratch *s = &v->s;
    size_t n = 0;
    if (space_prefix) {
        rt_memcpy(s->bytes, SPACE_MARK, 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            rt_memcpy(s->bytes + n, SPACE_MARK, 3);
            n += 3;
        } else {
            s->bytes[n++] = text[i];
        }
    }
    int32_t m = 0;
    for (size_t i = 0; i < n; m++) {
        size_t l = RT_MIN(utf8_len(s->bytes[i]), n - i);
        s->off[m] = (uint32_t)i;
        s->len[m] = (uint32_t)l;
        s->prev[m] = m - 1;
        s->next[m] = m + 1;
        i += l;
    }
    if (m == 0)
        return 0;
    s->next[m - 1] = -1;
    for (int32_t i = 0; i < m; i++)
        pair(v, i);
    for (;;) {
        int32_t best = -1;
        for (int32_t i = 0; i >= 0; i = s->next[i])
            if (s->rank[i] >= 0 && (best < 0 || s->score[i] > s->score[best]))
                best = i;
        if (best < 0)
            break;
        int32_t j = s->next[best];
        s->len[best] += s->len[j];
        s->next[best] = s->next[j];
        if (s->next[j] >= 0)
            s->prev[s->next[j]] = best;
        pair(v, best);
        if (s->prev[best] >= 0)
            pair(v, s->prev[best]);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) {
        int32_t t = vocab_find(v, s->bytes + s->off[i], s->len[i], 0, 0);
        if (t >= 0) {
            if (tok_push(out, t))
                return -1;
            continue;
        }
        for (uint32_t k = 0; k < s->len[i]; k++) {
            int32_t b = v->byte_token[s->bytes[s->off[i] + k]];
            if (b >= 0 && tok_push(out, b))
                return -1;
        }
    }
    return 0;
}
