#include "vocab.h"

#include "rt.h"
#include "unicode.h"

#define MAX_VOCAB (1u << 24)

int32_t vocab_find(const vocab *v, const void *a, size_t na, const void *b, size_t nb)
{
    uint32_t h = rt_hash(a, na, b, nb) & v->index_mask;
    for (;; h = (h + 1) & v->index_mask) {
        int32_t id = v->index[h];
        if (id < 0)
            return -1;
        rt_str t = v->text[id];
        if (t.len == na + nb && rt_memcmp(t.ptr, a, na) == 0 && rt_memcmp(t.ptr + na, b, nb) == 0)
            return id;
    }
}

int32_t vocab_find_hashed(const vocab *v, uint32_t hash, const void *p, size_t n)
{
    for (uint32_t h = hash & v->index_mask;; h = (h + 1) & v->index_mask) {
        int32_t id = v->index[h];
        if (id < 0)
            return -1;
        if (v->text[id].len == n && rt_memcmp(v->text[id].ptr, p, n) == 0)
            return id;
    }
}

const char *vocab_piece(const vocab *v, int32_t id, size_t *len)
{
    *len = v->piece_off[id + 1] - v->piece_off[id];
    return v->pieces + v->piece_off[id];
}

int vocab_is_eog(const vocab *v, int32_t id)
{
    for (uint32_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id)
            return 1;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A byte token's byte: "<0xXX>", or -1. */
static int byte_of(rt_str s)
{
    if (s.len != 6 || s.ptr[0] != '<' || s.ptr[1] != '0' || s.ptr[2] != 'x' || s.ptr[5] != '>')
        return -1;
    int hi = hexval(s.ptr[3]), lo = hexval(s.ptr[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static size_t emit(char *dst, size_t n, const void *src, size_t len)
{
    if (dst)
        rt_memcpy(dst + n, src, len);
    return n + len;
}

/* The bytes token `id` decodes to, written to dst when not NULL; returns their count. This is
 * llama.cpp's token_to_piece with special=false. */
static size_t piece_of(const vocab *v, uint32_t id, char *dst)
{
    rt_str s = v->text[id];
    size_t n = 0;
    switch (v->type[id]) {
    case TOK_USER_DEFINED:
        return emit(dst, 0, s.ptr, s.len);
    case TOK_BYTE: {
        int b = byte_of(s);
        char c = (char)b;
        return b < 0 ? 0 : emit(dst, 0, &c, 1);
    }
    case TOK_NORMAL:
        break;
    default:
        return 0; /* control, unknown, unused, undefined */
    }
    if (v->kind != VOCAB_GPT2) { /* SentencePiece: U+2581 is a space */
        for (size_t i = 0; i < s.len; i++) {
            if (i + 2 < s.len && rt_memcmp(s.ptr + i, SPACE_MARK, 3) == 0) {
                n = emit(dst, n, " ", 1);
                i += 2;
            } else {
                n = emit(dst, n, s.ptr + i, 1);
            }
        }
        return n;
    }
    for (size_t i = 0; i < s.len;) { /* gpt2: each codepoint stands for one byte */
        size_t at = i;
        uint32_t cp = utf8_next((const uint8_t *)s.ptr, s.len, &i);
        int b = gpt2_cp_to_byte(cp);
        if (b >= 0) {
            char c = (char)b;
            n = emit(dst, n, &c, 1);
            continue;
        }
        static const char hex[] = "0123456789abcdef";
        n = emit(dst, n, "[UNK_BYTE_0x", 12);
        for (size_t k = at; k < i; k++) {
            char h[2] = {hex[(uint8_t)s.ptr[k] >> 4], hex[(uint8_t)s.ptr[k] & 15]};
            n = emit(dst, n, h, 2);
        }
        n = emit(dst, n, s.ptr, s.len);
        n = emit(dst, n, "]", 1);
    }
    return n;
}

static int special_less(const void *ctx, uint32_t a, uint32_t b)
{
    const vocab *v = ctx;
    if (v->text[a].len != v->text[b].len)
        return v->text[a].len > v->text[b].len;
    return a < b;
}

static int32_t special_id(const gguf_file *g, const char *key, const vocab *v, int *rc, char *err, size_t errlen)
{
    uint32_t id;
    int r = gguf_get_u32(g, key, &id, err, errlen);
    if (r < 0)
        *rc = r;
    return r == 1 && id < v->n ? (int32_t)id : -1;
}

static void add_eog(vocab *v, int32_t id)
{
    if (id < 0 || vocab_is_eog(v, id) || v->n_eog >= sizeof v->eog / sizeof v->eog[0])
        return;
    v->eog[v->n_eog++] = id;
}

static int load_merges(vocab *v, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    const gguf_kv *kv;
    int rc = gguf_get_arr(g, "tokenizer.ggml.merges", GV_STRING, &kv, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: gpt2 model without tokenizer.ggml.merges");
    if (kv->n > MAX_VOCAB)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: %llu merges is too many", (unsigned long long)kv->n);
    uint32_t cap = 16;
    while (cap < 2 * kv->n)
        cap <<= 1;
    v->merges = arena_alloc(a, (size_t)kv->n * sizeof(bpe_merge) + 1);
    v->merge_index = arena_alloc(a, (size_t)cap * sizeof(int32_t));
    if (!v->merges || !v->merge_index)
        return arena_oom(a, (size_t)kv->n * 12 + cap * 4, "the BPE merges", err, errlen);
    rt_memset(v->merge_index, 0xff, (size_t)cap * sizeof(int32_t));
    v->merge_mask = cap - 1;
    v->n_merges = (uint32_t)kv->n;
    const uint8_t *cur = kv->val;
    for (uint32_t i = 0; i < v->n_merges; i++) {
        rt_str s = gguf_arr_next_str(&cur);
        bpe_merge *m = &v->merges[i];
        m->left = m->right = m->result = -1;
        size_t sp = 1; /* "left right", split at the first space after the first byte */
        while (sp < s.len && s.ptr[sp] != ' ')
            sp++;
        if (sp >= s.len)
            continue;
        m->left = vocab_find(v, s.ptr, sp, 0, 0);
        m->right = vocab_find(v, s.ptr + sp + 1, s.len - sp - 1, 0, 0);
        m->result = vocab_find(v, s.ptr, sp, s.ptr + sp + 1, s.len - sp - 1);
        if (m->left < 0 || m->right < 0 || m->result < 0)
            continue; /* can never apply */
        uint32_t h = rt_hash(&m->left, 4, &m->right, 4) & v->merge_mask;
        for (;; h = (h + 1) & v->merge_mask) {
            int32_t o = v->merge_index[h];
            if (o < 0) {
                v->merge_index[h] = (int32_t)i;
                break;
            }
            if (v->merges[o].left == m->left && v->merges[o].right == m->right)
                break; /* the first rank wins */
        }
    }
    for (int b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t n = utf8_encode(gpt2_byte_to_cp((uint8_t)b), u);
        v->byte_token[b] = vocab_find(v, u, n, 0, 0);
    }
    return 0;
}

static int load_scores(vocab *v, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    const gguf_kv *kv;
    int rc = gguf_get_arr(g, "tokenizer.ggml.scores", GV_FLOAT32, &kv, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 1 && kv->n < v->n)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: %llu scores for %u tokens", (unsigned long long)kv->n,
                       v->n);
    if (!(v->score = arena_alloc(a, (size_t)v->n * sizeof(float))))
        return arena_oom(a, (size_t)v->n * 4, "token scores", err, errlen);
    for (uint32_t i = 0; i < v->n; i++)
        v->score[i] = rc == 1 ? gguf_arr_f32(kv, i) : 0.0f;
    return 0;
}

static int load_spm(vocab *v, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    int rc = load_scores(v, g, a, err, errlen);
    if (rc)
        return rc;
    v->add_space_prefix = 1;
    if ((rc = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err, errlen)) < 0)
        return rc;
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char t[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char c = (char)b;
        v->byte_token[b] = vocab_find(v, t, 6, 0, 0);
        if (v->byte_token[b] < 0)
            v->byte_token[b] = vocab_find(v, &c, 1, 0, 0);
    }
    return 0;
}

static int load_ugm(vocab *v, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    int rc = load_scores(v, g, a, err, errlen);
    if (rc)
        return rc;
    if (v->unk < 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: t5 (unigram) model without an unknown token");
    v->add_space_prefix = v->remove_extra_ws = 0;
    if ((rc = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err, errlen)) < 0 ||
        (rc = gguf_get_bool(g, "tokenizer.ggml.remove_extra_whitespaces", &v->remove_extra_ws, err, errlen)) < 0)
        return rc;
    float min_score = 3.40282347e38f;
    for (uint32_t i = 0; i < v->n; i++) {
        uint8_t t = v->type[i];
        if (t == TOK_NORMAL && v->score[i] < min_score)
            min_score = v->score[i];
        if (t == TOK_NORMAL || t == TOK_USER_DEFINED || t == TOK_UNUSED)
            v->max_piece = RT_MAX(v->max_piece, (uint32_t)v->text[i].len);
        if (t == TOK_USER_DEFINED)
            v->max_user_piece = RT_MAX(v->max_user_piece, (uint32_t)v->text[i].len);
    }
    v->unk_score = min_score - 10.0f;
    const gguf_kv *cm = gguf_find(g, "tokenizer.ggml.precompiled_charsmap");
    if (!cm)
        return 0;
    if (cm->type != GV_ARRAY || (cm->elem_type != GV_UINT8 && cm->elem_type != GV_INT8))
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: precompiled_charsmap is not a byte array");
    uint32_t xcda = cm->val_len >= 4 ? rt_le32(cm->val) : 0;
    if (cm->val_len < 4 || xcda % 4 || xcda > cm->val_len - 4)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: precompiled_charsmap is malformed");
    v->charsmap = cm->val;
    v->charsmap_len = cm->val_len;
    v->xcda_entries = xcda / 4;
    v->replacements_at = 4 + xcda;
    return 0;
}

static int alloc_scratch(vocab *v, slm_arena *a, size_t max_text, char *err, size_t errlen)
{
    tok_scratch *s = &v->s;
    size_t nf = 2 * max_text + 2, ns = 3 * max_text + 4;
    s->max_text = max_text;
    s->frag[0] = arena_alloc(a, nf * sizeof(fragment));
    s->frag[1] = arena_alloc(a, nf * sizeof(fragment));
    s->cps = arena_alloc(a, max_text * sizeof(uint32_t) + 4);
    s->words = arena_alloc(a, max_text * sizeof(uint32_t) + 4);
    s->bytes = arena_alloc(a, ns);
    s->id = arena_alloc(a, ns * sizeof(int32_t));
    s->next = arena_alloc(a, ns * sizeof(int32_t));
    s->prev = arena_alloc(a, ns * sizeof(int32_t));
    s->off = arena_alloc(a, ns * sizeof(uint32_t));
    s->len = arena_alloc(a, ns * sizeof(uint32_t));
    s->rank = arena_alloc(a, ns * sizeof(int32_t));
    s->score = arena_alloc(a, ns * sizeof(float));
    s->best = v->kind == VOCAB_UGM ? arena_alloc(a, ns * sizeof(double)) : NULL;
    if (!s->frag[0] || !s->frag[1] || !s->cps || !s->words || !s->bytes || !s->id || !s->next || !s->prev || !s->off ||
        !s->len || !s->rank || !s->score || (v->kind == VOCAB_UGM && !s->best))
        return arena_oom(a, nf * 24 + ns * 37 + max_text * 8, "the tokenizer scratch", err, errlen);
    return 0;
}

int vocab_load(vocab *v, const gguf_file *g, slm_arena *a, size_t max_text, char *err, size_t errlen)
{
    rt_str model, pre;
    int rc = gguf_get_str(g, "tokenizer.ggml.model", &model, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: tokenizer.ggml.model is missing");
    if (rt_str_eq(model, "gpt2")) {
        v->kind = VOCAB_GPT2;
        if ((rc = gguf_get_str(g, "tokenizer.ggml.pre", &pre, err, errlen)) < 0)
            return rc;
        if (rc == 0 || !rt_str_eq(pre, "gpt-2"))
            return rt_fail(err, errlen, SLM_E_UNSUPPORTED,
                           "tokenizer: pre-tokenizer '%.*s' is not supported (this runtime implements 'gpt-2')",
                           rc == 0 ? 7 : (int)RT_MIN(pre.len, 32), rc == 0 ? "missing" : pre.ptr);
    } else if (rt_str_eq(model, "llama")) {
        v->kind = VOCAB_SPM;
    } else if (rt_str_eq(model, "t5")) {
        v->kind = VOCAB_UGM;
    } else {
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED,
                       "tokenizer: model '%.*s' is not supported (this runtime runs 'gpt2', 'llama' and 't5')",
                       (int)RT_MIN(model.len, 32), model.ptr);
    }

    const gguf_kv *toks, *types = NULL;
    if ((rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GV_STRING, &toks, err, errlen)) < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: tokenizer.ggml.tokens is missing");
    if (toks->n == 0 || toks->n > MAX_VOCAB)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: %llu tokens (expected 1 to %u)",
                       (unsigned long long)toks->n, MAX_VOCAB);
    v->n = (uint32_t)toks->n;
    if ((rc = gguf_get_arr(g, "tokenizer.ggml.token_type", GV_INT32, &types, err, errlen)) < 0)
        return rc;
    if (types && types->n < v->n)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: %llu token types for %u tokens",
                       (unsigned long long)types->n, v->n);

    uint32_t cap = 16;
    while (cap < 2 * v->n)
        cap <<= 1;
    v->text = arena_alloc(a, (size_t)v->n * sizeof(rt_str));
    v->type = arena_alloc(a, v->n);
    v->index = arena_alloc(a, (size_t)cap * sizeof(int32_t));
    v->piece_off = arena_alloc(a, ((size_t)v->n + 1) * sizeof(uint32_t));
    if (!v->text || !v->type || !v->index || !v->piece_off)
        return arena_oom(a, (size_t)v->n * 21 + (size_t)cap * 4, "the vocabulary", err, errlen);
    rt_memset(v->index, 0xff, (size_t)cap * sizeof(int32_t));
    v->index_mask = cap - 1;
    const uint8_t *cur = toks->val;
    for (uint32_t i = 0; i < v->n; i++) {
        v->text[i] = gguf_arr_next_str(&cur);
        int32_t t = types ? gguf_arr_i32(types, i) : TOK_NORMAL;
        v->type[i] = (uint8_t)(t >= TOK_NORMAL && t <= TOK_BYTE ? t : TOK_UNDEFINED);
        if (v->text[i].len == 0)
            continue; /* never matched; decodes to "" */
        int32_t dup = vocab_find(v, v->text[i].ptr, v->text[i].len, 0, 0);
        if (dup >= 0) {
            char shown[33]; /* the text, control bytes as '?': the message stays one line */
            size_t n = RT_MIN(v->text[i].len, sizeof shown - 1);
            for (size_t j = 0; j < n; j++)
                shown[j] = (uint8_t)v->text[i].ptr[j] < 0x20 || v->text[i].ptr[j] == 0x7f ? '?' : v->text[i].ptr[j];
            shown[n] = '\0';
            return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: token %u duplicates token %d ('%s')", i, dup, shown);
        }
        uint32_t h = rt_hash(v->text[i].ptr, v->text[i].len, 0, 0) & v->index_mask;
        while (v->index[h] >= 0)
            h = (h + 1) & v->index_mask;
        v->index[h] = (int32_t)i;
    }

    rc = 0;
    v->bos = special_id(g, "tokenizer.ggml.bos_token_id", v, &rc, err, errlen);
    v->eos = special_id(g, "tokenizer.ggml.eos_token_id", v, &rc, err, errlen);
    v->eot = special_id(g, "tokenizer.ggml.eot_token_id", v, &rc, err, errlen);
    v->unk = special_id(g, "tokenizer.ggml.unknown_token_id", v, &rc, err, errlen);
    if (rc < 0)
        return rc;
    add_eog(v, v->eos);
    add_eog(v, v->eot);
    static const char *eog_texts[] = {"</s>",    "<|endoftext|>", "<|im_end|>", "<|eot_id|>",
                                      "<|end|>", "<end_of_turn>", "<eos>"};
    for (size_t k = 0; k < sizeof eog_texts / sizeof eog_texts[0]; k++)
        add_eog(v, vocab_find(v, eog_texts[k], rt_strlen(eog_texts[k]), 0, 0));

    rc = v->kind == VOCAB_GPT2  ? load_merges(v, g, a, err, errlen)
         : v->kind == VOCAB_SPM ? load_spm(v, g, a, err, errlen)
                                : load_ugm(v, g, a, err, errlen);
    if (rc)
        return rc;

    for (uint32_t i = 0; i < v->n; i++) {
        uint8_t t = v->type[i];
        if ((t == TOK_CONTROL || t == TOK_USER_DEFINED || t == TOK_UNKNOWN) && v->text[i].len)
            v->n_specials++;
    }
    if (!(v->specials = arena_alloc(a, (size_t)v->n_specials * sizeof(uint32_t) + 1)))
        return arena_oom(a, (size_t)v->n_specials * 4, "the special tokens", err, errlen);
    for (uint32_t i = 0, k = 0; i < v->n; i++) {
        uint8_t t = v->type[i];
        if ((t == TOK_CONTROL || t == TOK_USER_DEFINED || t == TOK_UNKNOWN) && v->text[i].len)
            v->specials[k++] = i;
    }
    rt_sort(v->specials, v->n_specials, special_less, v);

    size_t total = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        v->piece_off[i] = (uint32_t)total;
        total += piece_of(v, i, NULL);
        if (total > 0xffffffffu)
            return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: token texts are too large");
    }
    v->piece_off[v->n] = (uint32_t)total;
    if (!(v->pieces = arena_alloc(a, total + 1)))
        return arena_oom(a, total, "the token pieces", err, errlen);
    for (uint32_t i = 0; i < v->n; i++)
        piece_of(v, i, v->pieces + v->piece_off[i]);
    return alloc_scratch(v, a, max_text, err, errlen);
}

/* Split the raw fragments of cur (n of them) at each occurrence of special token `id`. */
static uint32_t split_at(const vocab *v, const char *text, const fragment *cur, uint32_t n, fragment *out, uint32_t id)
{
    rt_str sp = v->text[id];
    uint32_t m = 0;
    for (uint32_t f = 0; f < n; f++) {
        if (cur[f].token >= 0) {
            out[m++] = cur[f];
            continue;
        }
        size_t pos = cur[f].off, end = (size_t)cur[f].off + cur[f].len;
        for (size_t p = pos; p + sp.len <= end;) {
            if (rt_memcmp(text + p, sp.ptr, sp.len) != 0) {
                p++;
                continue;
            }
            if (p > pos)
                out[m++] = (fragment){-1, (uint32_t)pos, (uint32_t)(p - pos)};
            out[m++] = (fragment){(int32_t)id, 0, 0};
            p += sp.len;
            pos = p;
        }
        if (pos < end)
            out[m++] = (fragment){-1, (uint32_t)pos, (uint32_t)(end - pos)};
    }
    return m;
}

int vocab_tokenize(vocab *v, const char *text, size_t len, int add_bos, int32_t *ids, int max, char *err, size_t errlen)
{
    if (len > v->s.max_text)
        return rt_fail(err, errlen, SLM_E_INPUT, "text is %zu bytes; the tokenizer takes at most %zu", len,
                       v->s.max_text);
    tok_out out = {ids, 0, max};
    if (add_bos && v->bos >= 0 && tok_push(&out, v->bos))
        goto full;
    fragment *cur = v->s.frag[0], *nxt = v->s.frag[1];
    uint32_t n = 0;
    if (len)
        cur[n++] = (fragment){-1, 0, (uint32_t)len};
    for (uint32_t k = 0; k < v->n_specials && n; k++) {
        n = split_at(v, text, cur, n, nxt, v->specials[k]);
        fragment *t = cur;
        cur = nxt;
        nxt = t;
    }
    int prev_special = 1;
    for (uint32_t f = 0; f < n; f++) {
        int rc;
        if (cur[f].token >= 0) {
            rc = tok_push(&out, cur[f].token);
            prev_special = 1;
        } else {
            const uint8_t *t = (const uint8_t *)text + cur[f].off;
            rc = v->kind == VOCAB_GPT2  ? bpe_tokenize(v, t, cur[f].len, &out)
                 : v->kind == VOCAB_SPM ? spm_tokenize(v, t, cur[f].len, v->add_space_prefix && prev_special, &out)
                                        : ugm_tokenize(v, t, cur[f].len, &out);
            prev_special = 0;
        }
        if (rc)
            goto full;
    }
    return out.n;
full:
    return rt_fail(err, errlen, SLM_E_INPUT, "text has more than %d tokens", max);
}
