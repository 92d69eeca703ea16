#include "model.h"

#include "fmath.h"
#include "fmt.h"
#include "rt.h"

#define MAX_LAYERS 1024
#define MAX_DIM    (1u << 17)

static int get_dim(const gguf_file *g, const char *key, uint32_t *out, int required, uint32_t max, char *err,
                   size_t errlen)
{
    int rc = gguf_get_u32(g, key, out, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0 && required)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: metadata %s is missing", key);
    if (rc == 1 && (*out == 0 || *out > max))
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: metadata %s = %u is out of range (1 to %u)", key, *out, max);
    return 0;
}

static int read_hparams(llama_hparams *hp, const gguf_file *g, char *err, size_t errlen)
{
    rt_str arch;
    int rc = gguf_get_str(g, "general.architecture", &arch, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: general.architecture is missing");
    if (!rt_str_eq(arch, "llama"))
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED,
                       "model: architecture '%.*s' is not supported (this runtime runs 'llama')",
                       (int)RT_MIN(arch.len, 32), arch.ptr);
    if ((rc = get_dim(g, "llama.block_count", &hp->n_layers, 1, MAX_LAYERS, err, errlen)) ||
        (rc = get_dim(g, "llama.embedding_length", &hp->d_model, 1, MAX_DIM, err, errlen)) ||
        (rc = get_dim(g, "llama.feed_forward_length", &hp->d_ff, 1, 4 * MAX_DIM, err, errlen)) ||
        (rc = get_dim(g, "llama.context_length", &hp->context, 1, 1u << 20, err, errlen)) ||
        (rc = get_dim(g, "llama.attention.head_count", &hp->n_heads, 1, 4096, err, errlen)))
        return rc;
    hp->n_kv_heads = hp->n_heads;
    if ((rc = get_dim(g, "llama.attention.head_count_kv", &hp->n_kv_heads, 0, hp->n_heads, err, errlen)))
        return rc;
    if (hp->n_heads % hp->n_kv_heads)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: %u attention heads do not divide into %u kv heads",
                       hp->n_heads, hp->n_kv_heads);
    hp->head_dim = hp->d_model / hp->n_heads;
    if ((rc = get_dim(g, "llama.attention.key_length", &hp->head_dim, 0, MAX_DIM, err, errlen)))
        return rc;
    uint32_t vlen = hp->head_dim, rot = hp->head_dim;
    if ((rc = get_dim(g, "llama.attention.value_length", &vlen, 0, MAX_DIM, err, errlen)) ||
        (rc = get_dim(g, "llama.rope.dimension_count", &rot, 0, MAX_DIM, err, errlen)))
        return rc;
    if (hp->head_dim == 0 || hp->head_dim % 2 || vlen != hp->head_dim || rot != hp->head_dim)
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED,
                       "model: head size %u (value %u, rotary %u) is not supported: they must be equal and even",
                       hp->head_dim, vlen, rot);
    if ((uint64_t)hp->n_heads * hp->head_dim > MAX_DIM)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: %u heads of %u values is too large", hp->n_heads,
                       hp->head_dim);
    if ((rc = gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &hp->eps, err, errlen)) < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: metadata llama.attention.layer_norm_rms_epsilon is missing");
    if (!(hp->eps >= 0.0f && hp->eps < 1.0f))
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: rms norm epsilon is out of range [0, 1)");
    hp->rope_base = 10000.0f;
    if ((rc = gguf_get_f32(g, "llama.rope.freq_base", &hp->rope_base, err, errlen)) < 0)
        return rc;
    if (!(hp->rope_base > 1.0f && hp->rope_base < 1e12f))
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: rope frequency base is out of range");
    rt_str scaling;
    if ((rc = gguf_get_str(g, "llama.rope.scaling.type", &scaling, err, errlen)) < 0)
        return rc;
    if (rc == 1 && !rt_str_eq(scaling, "none"))
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED, "model: rope scaling '%.*s' is not supported",
                       (int)RT_MIN(scaling.len, 32), scaling.ptr);
    return 0;
}

/* Tensors bound so far, to reject files that carry tensors this runtime would ignore. */
typedef struct {
    const gguf_file *g;
    uint64_t bound;
    char *err;
    size_t errlen;
} binder;

static void shape_str(char *buf, size_t n, const gguf_tensor *t)
{
    if (t->n_dims == 1)
        slm_snprintf(buf, n, "[%llu]", (unsigned long long)t->ne[0]);
    else
        slm_snprintf(buf, n, "[%llu, %llu%s]", (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                     t->n_dims > 2 ? ", ..." : "");
}

static int bind_matrix(binder *b, qt_matrix *out, const char *name, uint32_t cols, uint32_t rows, int optional)
{
    const gguf_tensor *t = gguf_find_tensor(b->g, name);
    if (!t)
        return optional ? 1 : rt_fail(b->err, b->errlen, SLM_E_FORMAT, "model: tensor %s is missing", name);
    if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows) {
        char shape[64];
        shape_str(shape, sizeof shape, t);
        return rt_fail(b->err, b->errlen, SLM_E_FORMAT, "model: tensor %s has shape %s, expected [%u, %u]", name, shape,
                       cols, rows);
    }
    out->data = t->data;
    out->type = t->type;
    out->cols = cols;
    out->rows = rows;
    out->row_bytes = (size_t)(t->nbytes / rows);
    b->bound++;
    return 0;
}

static int bind_norm(binder *b, const float **out, const char *name, uint32_t n)
{
    const gguf_tensor *t = gguf_find_tensor(b->g, name);
    if (!t)
        return rt_fail(b->err, b->errlen, SLM_E_FORMAT, "model: tensor %s is missing", name);
    if (t->n_dims != 1 || t->ne[0] != n) {
        char shape[64];
        shape_str(shape, sizeof shape, t);
        return rt_fail(b->err, b->errlen, SLM_E_FORMAT, "model: tensor %s has shape %s, expected [%u]", name, shape, n);
    }
    if (t->type != QT_F32)
        return rt_fail(b->err, b->errlen, SLM_E_UNSUPPORTED, "model: norm tensor %s has type %s (expected F32)", name,
                       qt_name(t->type));
    *out = (const float *)t->data;
    b->bound++;
    return 0;
}

static int bind_weights(slm_model *m, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    const llama_hparams *hp = &m->hp;
    uint32_t qdim = hp->n_heads * hp->head_dim, kvdim = hp->n_kv_heads * hp->head_dim;
    binder b = {g, 0, err, errlen};
    int rc;
    if ((rc = bind_matrix(&b, &m->tok_embd, "token_embd.weight", hp->d_model, hp->vocab, 0)) ||
        (rc = bind_norm(&b, &m->output_norm, "output_norm.weight", hp->d_model)))
        return rc;
    rc = bind_matrix(&b, &m->output, "output.weight", hp->d_model, hp->vocab, 1);
    if (rc < 0)
        return rc;
    if (rc == 1)
        m->output = m->tok_embd; /* tied embeddings */
    if (hp->n_layers > g->n_tensors)
        return rt_fail(err, errlen, SLM_E_FORMAT, "model: %u layers but only %llu tensors", hp->n_layers,
                       (unsigned long long)g->n_tensors);
    if (!(m->layers = arena_alloc(a, hp->n_layers * sizeof(llama_layer))))
        return arena_oom(a, hp->n_layers * sizeof(llama_layer), "the layer table", err, errlen);
    for (uint32_t l = 0; l < hp->n_layers; l++) {
        llama_layer *L = &m->layers[l];
        char n[9][40];
        static const char *parts[9] = {"attn_q", "attn_k",   "attn_v",    "attn_output", "ffn_gate",
                                       "ffn_up", "ffn_down", "attn_norm", "ffn_norm"};
        for (int i = 0; i < 9; i++)
            slm_snprintf(n[i], sizeof n[i], "blk.%u.%s.weight", l, parts[i]);
        if ((rc = bind_matrix(&b, &L->wq, n[0], hp->d_model, qdim, 0)) ||
            (rc = bind_matrix(&b, &L->wk, n[1], hp->d_model, kvdim, 0)) ||
            (rc = bind_matrix(&b, &L->wv, n[2], hp->d_model, kvdim, 0)) ||
            (rc = bind_matrix(&b, &L->wo, n[3], qdim, hp->d_model, 0)) ||
            (rc = bind_matrix(&b, &L->gate, n[4], hp->d_model, hp->d_ff, 0)) ||
            (rc = bind_matrix(&b, &L->up, n[5], hp->d_model, hp->d_ff, 0)) ||
            (rc = bind_matrix(&b, &L->down, n[6], hp->d_ff, hp->d_model, 0)) ||
            (rc = bind_norm(&b, &L->attn_norm, n[7], hp->d_model)) ||
            (rc = bind_norm(&b, &L->ffn_norm, n[8], hp->d_model)))
            return rc;
    }
    if (b.bound != g->n_tensors)
        return rt_fail(err, errlen, SLM_E_UNSUPPORTED,
                       "model: the file has %llu tensors this runtime does not use (e.g. biases)",
                       (unsigned long long)(g->n_tensors - b.bound));
    return 0;
}

/* Totals for slm_info, and the weight type that holds the most parameters. */
static void summarize(slm_model *m, const gguf_file *g, const char *name, size_t name_len)
{
    uint64_t per_type[QT_Q8_0 + 1] = {0};
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        uint64_t values = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        m->n_params += values;
        m->weight_bytes += t->nbytes;
        if (t->n_dims >= 2)
            per_type[t->type] += values;
    }
    uint32_t best = QT_F32;
    for (uint32_t ty = 0; ty <= QT_Q8_0; ty++)
        if (per_type[ty] > per_type[best])
            best = ty;
    m->quant = qt_name(best);
    size_t n = RT_MIN(name_len, sizeof m->name - 1);
    for (size_t i = 0; i < n; i++)
        m->name[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    m->name[n] = '\0';
}

static int alloc_buffers(slm_model *m, slm_arena *a, char *err, size_t errlen)
{
    const llama_hparams *hp = &m->hp;
    uint32_t qdim = hp->n_heads * hp->head_dim, kvdim = hp->n_kv_heads * hp->head_dim;
    uint32_t wide = RT_MAX(RT_MAX(hp->d_model, hp->d_ff), qdim);
    uint64_t kv = (uint64_t)hp->n_layers * hp->context * kvdim;
    if (kv > ((size_t)-1) / 8)
        return arena_oom(a, (size_t)-1, "the KV cache", err, errlen);
    m->kv_bytes = 2 * kv * sizeof(uint16_t);
    if (!(m->k_cache = arena_alloc(a, (size_t)kv * sizeof(uint16_t))) ||
        !(m->v_cache = arena_alloc(a, (size_t)kv * sizeof(uint16_t)))) {
        char what[64];
        slm_snprintf(what, sizeof what, "the KV cache for %u positions", hp->context);
        return arena_oom(a, (size_t)m->kv_bytes, what, err, errlen);
    }
    struct {
        void **p;
        size_t bytes;
    } bufs[] = {
        {(void **)&m->x, hp->d_model * 4u},
        {(void **)&m->xb, hp->d_model * 4u},
        {(void **)&m->xb2, wide * 4u},
        {(void **)&m->q, qdim * 4u},
        {(void **)&m->k, kvdim * 4u},
        {(void **)&m->v, kvdim * 4u},
        {(void **)&m->att, hp->context * 4u},
        {(void **)&m->hb, hp->d_ff * 4u},
        {(void **)&m->hb2, hp->d_ff * 4u},
        {(void **)&m->logits, hp->vocab * 4u},
        {(void **)&m->qh, hp->head_dim * 4u},
        {(void **)&m->scratch.xh, wide * 4u},
        {(void **)&m->scratch.xq, wide * 2u},
        {(void **)&m->scratch.xd, (wide / QK + 1) * 4u},
        {(void **)&m->scratch.xs, (wide / QK + 1) * 4u},
        {(void **)&m->probs, hp->vocab * 4u},
        {(void **)&m->order, hp->vocab * 4u},
        {(void **)&m->tokens, hp->context * 4u},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i].p = arena_alloc(a, bufs[i].bytes)))
            return arena_oom(a, bufs[i].bytes, "activation buffers", err, errlen);
    return 0;
}

int model_build(slm_model *m, const gguf_file *g, slm_arena *a, char *err, size_t errlen)
{
    int rc = read_hparams(&m->hp, g, err, errlen);
    if (rc)
        return rc;
    const gguf_kv *toks;
    if ((rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GV_STRING, &toks, err, errlen)) < 0)
        return rc;
    if (rc == 0)
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: tokenizer.ggml.tokens is missing");
    if (toks->n == 0 || toks->n > (1u << 24))
        return rt_fail(err, errlen, SLM_E_FORMAT, "tokenizer: %llu tokens (expected 1 to %u)",
                       (unsigned long long)toks->n, 1u << 24);
    m->hp.vocab = (uint32_t)toks->n;
    if ((rc = bind_weights(m, g, a, err, errlen)))
        return rc;
    rt_str name = {"", 0};
    if ((rc = gguf_get_str(g, "general.name", &name, err, errlen)) < 0)
        return rc;
    summarize(m, g, name.ptr, name.len);
    return alloc_buffers(m, a, err, errlen);
}

/* out = x / sqrt(mean(x^2) + eps) * w, with the sum of squares in double as ggml does. */
static void rmsnorm(float *out, const float *x, const float *w, uint32_t n, float eps)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    float mean = (float)(sum / n);
    float scale = 1.0f / fm_sqrtf(mean + eps);
    for (uint32_t i = 0; i < n; i++)
        out[i] = (x[i] * scale) * w[i];
}

/* Rotate pairs (x[2i], x[2i+1]) of each head by pos * base^(-2i/hd); the angle steps by a
 * running product, as ggml's rope cache does. */
static void rope(float *x, uint32_t heads, uint32_t hd, uint32_t pos, float base)
{
    float theta_scale = fm_powf(base, -2.0f / (float)hd);
    float theta = (float)pos;
    for (uint32_t i = 0; i < hd; i += 2) {
        float s, c;
        fm_sincosf(theta, &s, &c);
        for (uint32_t h = 0; h < heads; h++) {
            float *p = x + h * hd + i;
            float x0 = p[0], x1 = p[1];
            p[0] = x0 * c - x1 * s;
            p[1] = x0 * s + x1 * c;
        }
        theta *= theta_scale;
    }
}

/* softmax over n scores; the sum in double and one multiply by its inverse, as ggml does. */
static void softmax(float *x, uint32_t n)
{
    float max = x[0];
    for (uint32_t i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        x[i] = fm_expf(x[i] - max);
        sum += (double)x[i];
    }
    float inv = (float)(1.0 / sum);
    for (uint32_t i = 0; i < n; i++)
        x[i] *= inv;
}

static void attention(slm_model *m, uint32_t l, uint32_t pos)
{
    const llama_hparams *hp = &m->hp;
    uint32_t hd = hp->head_dim, kvdim = hp->n_kv_heads * hd, group = hp->n_heads / hp->n_kv_heads;
    const uint16_t *kc = m->k_cache + (size_t)l * hp->context * kvdim;
    const uint16_t *vc = m->v_cache + (size_t)l * hp->context * kvdim;
    float scale = 1.0f / fm_sqrtf((float)hd);
    float *qh = m->qh; /* the query head rounded through F16 */
    for (uint32_t h = 0; h < hp->n_heads; h++) {
        uint32_t kvo = (h / group) * hd;
        for (uint32_t i = 0; i < hd; i++)
            qh[i] = fp16_to_fp32(fp32_to_fp16(m->q[h * hd + i]));
        for (uint32_t t = 0; t <= pos; t++)
            m->att[t] = qt_dot_f16(kc + (size_t)t * kvdim + kvo, qh, hd) * scale;
        softmax(m->att, pos + 1);
        float *out = m->xb2 + h * hd;
        for (uint32_t i = 0; i < hd; i++)
            out[i] = 0.0f;
        for (uint32_t t = 0; t <= pos; t++) {
            float p = fp16_to_fp32(fp32_to_fp16(m->att[t]));
            qt_axpy_f16(out, p, vc + (size_t)t * kvdim + kvo, hd);
        }
    }
}

void model_forward(slm_model *m, int32_t token, uint32_t pos, int want_logits)
{
    const llama_hparams *hp = &m->hp;
    uint32_t d = hp->d_model, qdim = hp->n_heads * hp->head_dim, kvdim = hp->n_kv_heads * hp->head_dim;
    qt_vec v;
    qt_dequant_row(m->x, &m->tok_embd, (uint32_t)token);
    for (uint32_t l = 0; l < hp->n_layers; l++) {
        const llama_layer *L = &m->layers[l];
        rmsnorm(m->xb, m->x, L->attn_norm, d, hp->eps);
        qt_vec_bind(&v, m->xb, d, &m->scratch);
        qt_matvec(m->q, &L->wq, &v);
        qt_matvec(m->k, &L->wk, &v);
        qt_matvec(m->v, &L->wv, &v);
        rope(m->q, hp->n_heads, hp->head_dim, pos, hp->rope_base);
        rope(m->k, hp->n_kv_heads, hp->head_dim, pos, hp->rope_base);
        size_t at = ((size_t)l * hp->context + pos) * kvdim;
        qt_to_fp16(m->k_cache + at, m->k, kvdim);
        qt_to_fp16(m->v_cache + at, m->v, kvdim);
        attention(m, l, pos);
        qt_vec_bind(&v, m->xb2, qdim, &m->scratch);
        qt_matvec(m->xb, &L->wo, &v);
        for (uint32_t i = 0; i < d; i++)
            m->x[i] += m->xb[i];

        rmsnorm(m->xb, m->x, L->ffn_norm, d, hp->eps);
        qt_vec_bind(&v, m->xb, d, &m->scratch);
        qt_matvec(m->hb, &L->gate, &v);
        qt_matvec(m->hb2, &L->up, &v);
        for (uint32_t i = 0; i < hp->d_ff; i++) {
            float g = m->hb[i];
            m->hb[i] = g / (1.0f + fm_expf(-g)) * m->hb2[i];
        }
        qt_vec_bind(&v, m->hb, hp->d_ff, &m->scratch);
        qt_matvec(m->xb, &L->down, &v);
        for (uint32_t i = 0; i < d; i++)
            m->x[i] += m->xb[i];
    }
    if (!want_logits)
        return;
    rmsnorm(m->xb, m->x, m->output_norm, d, hp->eps);
    qt_vec_bind(&v, m->xb, d, &m->scratch);
    qt_matvec(m->logits, &m->output, &v);
}
