#include "model.h"

#include "fmath.h"
#include "fmt.h"
#include "rt.h"

#define MAX_LAYERS 1024
#define MAX_DIM    (1u << 17)
/* prompt tokens that go through the layers together (each weight row read once for them) */
#define PREFILL_BATCH 32

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
    qt_scratch scratch;
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
    size_t B = m->batch = RT_MIN(PREFILL_BATCH, hp->context);
    size_t scales = wide / QK + 1;
    struct {
        void **p;
        size_t bytes;
    } bufs[] = {
        {(void **)&m->x, B * hp->d_model * 4},
        {(void **)&m->xb, B * hp->d_model * 4},
        {(void **)&m->xb2, B * qdim * 4},
        {(void **)&m->q, B * qdim * 4},
        {(void **)&m->k, B * kvdim * 4},
        {(void **)&m->v, B * kvdim * 4},
        {(void **)&m->hb, B * hp->d_ff * 4},
        {(void **)&m->hb2, B * hp->d_ff * 4},
        {(void **)&m->logits, (size_t)hp->vocab * 4},
        {(void **)&m->att, (size_t)hp->n_heads * hp->context * 4},
        {(void **)&m->qh, (size_t)hp->n_heads * hp->head_dim * 4},
        {(void **)&m->rope_cs, B * hp->head_dim * 4},
        {(void **)&m->vecs, B * sizeof(qt_vec)},
        {(void **)&scratch.xh, B * wide * 4},
        {(void **)&scratch.xq, B * wide},
        {(void **)&scratch.xd, B * scales * 4},
        {(void **)&scratch.xs, B * scales * 4},
        {(void **)&m->probs, (size_t)hp->vocab * 4},
        {(void **)&m->order, (size_t)hp->vocab * 4},
        {(void **)&m->tokens, (size_t)hp->context * 4},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i].p = arena_alloc(a, bufs[i].bytes)))
            return arena_oom(a, bufs[i].bytes, "activation buffers", err, errlen);
    for (size_t t = 0; t < B; t++) { /* each vector's scratch: its share of the three arrays */
        m->vecs[t].s.xh = scratch.xh + t * wide;
        m->vecs[t].s.xq = scratch.xq + t * wide;
        m->vecs[t].s.xd = scratch.xd + t * scales;
        m->vecs[t].s.xs = scratch.xs + t * scales;
    }
    m->n_workers = 1;
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

/* The cos and sin of the angles pos * base^(-2i/hd) for i < hd / 2, once per position (every
 * head and both q and k use them); the angle steps by a running product, as ggml's rope cache
 * does. */
static void rope_angles(float *cs, uint32_t hd, uint32_t pos, float base)
{
    float theta_scale = fm_powf(base, -2.0f / (float)hd);
    float theta = (float)pos;
    for (uint32_t i = 0; i < hd / 2; i++) {
        fm_sincosf(theta, &cs[2 * i + 1], &cs[2 * i]);
        theta *= theta_scale;
    }
}

/* Rotate pairs (x[2i], x[2i+1]) of each head by the angles in cs (cos, sin per pair). */
static void rope(float *x, uint32_t heads, uint32_t hd, const float *cs)
{
    for (uint32_t h = 0; h < heads; h++)
        for (uint32_t i = 0; i < hd; i += 2) {
            float *p = x + h * hd + i, c = cs[i], s = cs[i + 1];
            float x0 = p[0], x1 = p[1];
            p[0] = x0 * c - x1 * s;
            p[1] = x0 * s + x1 * c;
        }
}

/* Four floats from / to memory, and the last m < 4 of n (the rest of the vector 0). */
static fm_v4f load_v4(const float *p, uint32_t m)
{
    fm_v4f v = {0};
    if (m == 4)
        rt_memcpy(&v, p, sizeof v); /* one vector load */
    else
        for (uint32_t j = 0; j < m; j++)
            v[j] = p[j];
    return v;
}

static void store_v4(float *p, fm_v4f v, uint32_t m)
{
    if (m == 4)
        rt_memcpy(p, &v, sizeof v);
    else
        for (uint32_t j = 0; j < m; j++)
            p[j] = v[j];
}

/* y[i] = e^(x[i] - sub) for i < n, four at a time (the last four padded): each value's bits do
 * not depend on where it falls. */
static void exp_shifted(float *y, const float *x, uint32_t n, float sub)
{
    for (uint32_t i = 0; i < n; i += 4) {
        uint32_t m = RT_MIN(4u, n - i);
        store_v4(y + i, fm_expf4(load_v4(x + i, m) - sub), m);
    }
}

/* softmax over n scores; the sum in double and one multiply by its inverse, as ggml does. */
static void softmax(float *x, uint32_t n)
{
    float max = x[0];
    for (uint32_t i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    exp_shifted(x, x, n, max);
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += (double)x[i];
    float inv = (float)(1.0 / sum);
    for (uint32_t i = 0; i < n; i++)
        x[i] *= inv;
}

/* g[i] = silu(g[i]) * u[i] = g / (1 + e^-g) * u for i < n. */
static void swiglu(float *g, const float *u, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 4) {
        uint32_t m = RT_MIN(4u, n - i);
        fm_v4f v = load_v4(g + i, m);
        store_v4(g + i, v / (1.0f + fm_expf4(-v)) * load_v4(u + i, m), m);
    }
}

/* Fork-join over the workers; one worker is the caller. */
static void parallel(const slm_model *m, slm_job_fn job, void *arg)
{
    if (m->n_workers > 1)
        m->fork(m->pool, job, arg);
    else
        job(arg, 0, 1);
}

/* Worker w's share [*lo, *hi) of n items. */
static void share(uint32_t n, uint32_t w, uint32_t nw, uint32_t *lo, uint32_t *hi)
{
    *lo = (uint32_t)((uint64_t)n * w / nw);
    *hi = (uint32_t)((uint64_t)n * (w + 1) / nw);
}

/* Up to three matrices over the same n input vectors (q, k, v; gate, up; one); with silu, the
 * first two are gate and up and their rows become silu(gate) * up in place of gate's. */
typedef struct {
    const slm_model *m;
    const qt_matrix *w[3];
    float *out[3];
    uint32_t count, n, silu;
} matmul_job;

static void matmul_worker(void *arg, uint32_t worker, uint32_t n_workers)
{
    const matmul_job *j = arg;
    for (uint32_t i = 0; i < j->count; i++) {
        uint32_t lo, hi, rows = j->w[i]->rows;
        share(rows, worker, n_workers, &lo, &hi);
        qt_rows(j->out[i], rows, j->w[i], j->m->vecs, j->n, lo, hi);
    }
    if (!j->silu)
        return;
    uint32_t lo, hi, rows = j->w[0]->rows;
    share(rows, worker, n_workers, &lo, &hi);
    for (uint32_t t = 0; t < j->n; t++)
        swiglu(j->out[0] + (size_t)t * rows + lo, j->out[1] + (size_t)t * rows + lo, hi - lo);
}

/* Bind the model's input vectors to n rows of `in` (stride cols) and run the matrices. */
static void matmul(slm_model *m, const float *in, uint32_t cols, uint32_t n, matmul_job *j)
{
    for (uint32_t t = 0; t < n; t++) {
        qt_vec_bind(&m->vecs[t], in + (size_t)t * cols, cols, &m->vecs[t].s);
        for (uint32_t i = 0; i < j->count; i++)
            qt_prepare(&m->vecs[t], j->w[i]->type);
    }
    j->m = m;
    j->n = n;
    parallel(m, matmul_worker, j);
}

typedef struct {
    const slm_model *m;
    uint32_t l, n, pos;
} attention_job;

/* Worker w's heads, for each of the batch's tokens: token t at position pos + t attends to
 * the cache's positions 0 .. pos + t. */
static void attention_worker(void *arg, uint32_t worker, uint32_t n_workers)
{
    const attention_job *j = arg;
    const slm_model *m = j->m;
    const llama_hparams *hp = &m->hp;
    uint32_t hd = hp->head_dim, kvdim = hp->n_kv_heads * hd, qdim = hp->n_heads * hd;
    uint32_t group = hp->n_heads / hp->n_kv_heads, h0, h1;
    const uint16_t *kc = m->k_cache + (size_t)j->l * hp->context * kvdim;
    const uint16_t *vc = m->v_cache + (size_t)j->l * hp->context * kvdim;
    float scale = 1.0f / fm_sqrtf((float)hd);
    share(hp->n_heads, worker, n_workers, &h0, &h1);
    for (uint32_t t = 0; t < j->n; t++) {
        uint32_t last = j->pos + t;
        for (uint32_t h = h0; h < h1; h++) {
            uint32_t kvo = (h / group) * hd;
            float *att = m->att + (size_t)h * hp->context, *qh = m->qh + (size_t)h * hd; /* qh: q through F16 */
            const float *q = m->q + (size_t)t * qdim + h * hd;
            for (uint32_t i = 0; i < hd; i++)
                qh[i] = fp16_to_fp32(fp32_to_fp16(q[i]));
            qt_scores_f16(att, kc + kvo, kvdim, qh, hd, last + 1, scale);
            softmax(att, last + 1);
            for (uint32_t p = 0; p <= last; p++) /* the probabilities through F16 */
                att[p] = fp16_to_fp32(fp32_to_fp16(att[p]));
            qt_mix_f16(m->xb2 + (size_t)t * qdim + h * hd, att, vc + kvo, kvdim, hd, last + 1);
        }
    }
}

static void add_rows(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

void model_forward(slm_model *m, const int32_t *tokens, uint32_t n, uint32_t pos, int want_logits)
{
    const llama_hparams *hp = &m->hp;
    uint32_t d = hp->d_model, hd = hp->head_dim, qdim = hp->n_heads * hd, kvdim = hp->n_kv_heads * hd;
    qt_isa(); /* the path is chosen (maybe timed) here, on the caller, not by the workers at once */
    for (uint32_t t = 0; t < n; t++) {
        qt_dequant_row(m->x + (size_t)t * d, &m->tok_embd, (uint32_t)tokens[t]);
        rope_angles(m->rope_cs + (size_t)t * hd, hd, pos + t, hp->rope_base);
    }
    for (uint32_t l = 0; l < hp->n_layers; l++) {
        const llama_layer *L = &m->layers[l];
        for (uint32_t t = 0; t < n; t++)
            rmsnorm(m->xb + (size_t)t * d, m->x + (size_t)t * d, L->attn_norm, d, hp->eps);
        matmul_job qkv = {.w = {&L->wq, &L->wk, &L->wv}, .out = {m->q, m->k, m->v}, .count = 3};
        matmul(m, m->xb, d, n, &qkv);
        for (uint32_t t = 0; t < n; t++) {
            float *k = m->k + (size_t)t * kvdim;
            rope(m->q + (size_t)t * qdim, hp->n_heads, hd, m->rope_cs + (size_t)t * hd);
            rope(k, hp->n_kv_heads, hd, m->rope_cs + (size_t)t * hd);
            size_t at = ((size_t)l * hp->context + pos + t) * kvdim;
            qt_to_fp16(m->k_cache + at, k, kvdim);
            qt_to_fp16(m->v_cache + at, m->v + (size_t)t * kvdim, kvdim);
        }
        attention_job aj = {m, l, n, pos};
        parallel(m, attention_worker, &aj);
        matmul_job o = {.w = {&L->wo}, .out = {m->xb}, .count = 1};
        matmul(m, m->xb2, qdim, n, &o);
        add_rows(m->x, m->xb, (size_t)n * d);

        for (uint32_t t = 0; t < n; t++)
            rmsnorm(m->xb + (size_t)t * d, m->x + (size_t)t * d, L->ffn_norm, d, hp->eps);
        matmul_job up = {.w = {&L->gate, &L->up}, .out = {m->hb, m->hb2}, .count = 2, .silu = 1};
        matmul(m, m->xb, d, n, &up);
        matmul_job down = {.w = {&L->down}, .out = {m->xb}, .count = 1};
        matmul(m, m->hb, hp->d_ff, n, &down);
        add_rows(m->x, m->xb, (size_t)n * d);
    }
    if (!want_logits)
        return;
    rmsnorm(m->xb, m->x + (size_t)(n - 1) * d, m->output_norm, d, hp->eps);
    matmul_job out = {.w = {&m->output}, .out = {m->logits}, .count = 1};
    matmul(m, m->xb, d, 1, &out);
}
