/* SentencePiece unigram (GGUF tokenizer model "t5") over one raw fragment, as llama.cpp's
 * llm_tokenizer_ugm_session: SentencePiece's normalizer (user-defined pieces kept whole, the
 * precompiled charsmap's replacements, invalid UTF-8 -> U+FFFD, spaces -> U+2581 with an
 * optional one in front and optional merging of runs), then the Viterbi segmentation that
 * maximizes the sum of token scores (double; user-defined tokens score 0, a codepoint no token
 * covers costs the unknown token's lowest-score-minus-10), consecutive unknowns merged. */
#include "rt.h"
#include "unicode.h"
#include "vocab.h"

static uint32_t xcda(const vocab *v, size_t i)
{
    return rt_le32(v->charsmap + 4 + 4 * i);
}
static uint32_t xcda_base(uint32_t e)
{
    return (e >> 10) << ((e & (1u << 9)) >> 6);
}

/* Longest prefix of t[0..len) that the charsmap's double array maps to a replacement; its length
 * (0: none) and the NUL-terminated replacement. A walk that leaves the array stops there. */
static size_t charsmap_match(const vocab *v, const uint8_t *t, size_t len, const uint8_t **rep, size_t *rep_len)
{
    if (!v->xcda_entries)
        return 0;
    size_t best = 0, best_at = 0, node = xcda_base(xcda(v, 0));
    for (size_t p = 0; p < len && t[p]; p++) {
        node ^= t[p];
        if (node >= v->xcda_entries)
            break;
        uint32_t e = xcda(v, node);
        if ((e & ((1u << 31) | 0xff)) != t[p])
            break;
        int leaf = (e >> 8) & 1;
        node ^= xcda_base(e);
        if (node >= v->xcda_entries)
            break;
        if (leaf) {
            best = p + 1;
            best_at = xcda(v, node) & 0x7fffffffu;
        }
    }
    if (!best || best_at >= v->charsmap_len - v->replacements_at)
        return 0;
    const uint8_t *r = v->charsmap + v->replacements_at + best_at;
    size_t max = v->charsmap_len - v->replacements_at - best_at, n = 0;
    while (n < max && r[n])
        n++;
    if (n == max)
        return 0; /* unterminated */
    *rep = r;
    *rep_len = n;
    return best;
}

/* The normalized form of text into s->bytes; returns its length (at most 3 * len + 3). */
static size_t normalize(vocab *v, const uint8_t *text, size_t len)
{
    uint8_t *out = v->s.bytes;
    size_t n = 0;
    int prepended = 0, in_word = 0;
    for (size_t pos = 0; pos < len;) {
        const uint8_t *piece = text + pos;
        size_t plen = 0, used = 0;
        for (size_t l = RT_MIN((size_t)v->max_user_piece, len - pos); l > 0 && !used; l--) {
            int32_t id = vocab_find(v, text + pos, l, 0, 0);
            if (id >= 0 && v->type[id] == TOK_USER_DEFINED)
                plen = used = l;
        }
        if (!used && (used = charsmap_match(v, text + pos, len - pos, &piece, &plen)) == 0) {
            size_t next = pos;
            uint32_t cp = utf8_next(text, len, &next);
            used = next - pos;
            if (cp == 0xfffd && used == 1) /* invalid UTF-8 */
                piece = (const uint8_t *)"\xef\xbf\xbd", plen = 3;
            else
                plen = used;
        }
        for (size_t i = 0; i < plen; i++) {
            if (piece[i] != ' ') {
                if (!in_word) {
                    in_word = 1;
                    if ((v->add_space_prefix && !prepended) || v->remove_extra_ws) {
                        rt_memcpy(out + n, SPACE_MARK, 3);
                        n += 3;
                        prepended = 1;
                    }
                }
                out[n++] = piece[i];
            } else {
                in_word = 0;
                if (!v->remove_extra_ws) {
                    rt_memcpy(out + n, SPACE_MARK, 3);
                    n += 3;
                }
            }
        }
        pos += used;
    }
    return n;
}

int ugm_tokenize(vocab *v, const uint8_t *text, size_t len, tok_out *out)
{
    tok_scratch *s = &v->s;
    size_t n = normalize(v, text, len);
    if (n == 0)
        return 0;
    const uint8_t *t = s->bytes;
    int32_t *tok = s->id, *from = s->prev; /* per end offset: the last token and where it starts */
    for (size_t i = 0; i <= n; i++) {
        s->best[i] = i ? -1.79769313486231570815e308 : 0.0;
        tok[i] = v->unk;
        from[i] = 0;
    }
    for (size_t off = 0; off < n;) {
        size_t clen = RT_MIN(utf8_len(t[off]), n - off), maxl = RT_MIN((size_t)v->max_piece, n - off);
        double cur = s->best[off];
        int whole = 0;
        uint32_t h = RT_HASH_INIT;
        for (size_t l = 1; l <= maxl; l++) {
            h = rt_hash_step(h, t[off + l - 1]);
            int32_t id = vocab_find_hashed(v, h, t + off, l);
            if (id < 0)
                continue;
            uint8_t ty = v->type[id];
            if (ty != TOK_NORMAL && ty != TOK_USER_DEFINED && ty != TOK_UNUSED)
                continue;
            whole |= l == clen;
            double score = cur + (ty == TOK_USER_DEFINED ? 0.0 : (double)v->score[id]);
            if (score > s->best[off + l]) {
                s->best[off + l] = score;
                tok[off + l] = id;
                from[off + l] = (int32_t)off;
            }
        }
        if (!whole && cur + (double)v->unk_score > s->best[off + clen]) {
            s->best[off + clen] = cur + (double)v->unk_score;
            tok[off + clen] = v->unk;
            from[off + clen] = (int32_t)off;
        }
        off += clen;
    }
    /* Walk back from the end (merging runs of unknowns), then emit in order. */
    int32_t *ids = s->rank;
    size_t k = 0;
    int prev_unk = 0;
    for (size_t at = n;; at = (size_t)from[at]) {
        int unk = tok[at] == v->unk;
        if (!(prev_unk && unk))
            ids[k++] = tok[at];
        if (from[at] == 0)
            break;
        prev_unk = unk;
    }
    while (k)
        if (tok_push(out, ids[--k]))
            return -1;
    return 0;
}
