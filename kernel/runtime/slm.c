/* The public API (slm.h): load = parse GGUF + bind the model + build the tokenizer; generate =
 * tokenize + prefill + sample/decode loop. */
#include "slm.h"

#include "../include/platform.h"
#include "gguf.h"
#include "model.h"
#include "quant.h"
#include "rt.h"
#include "sampler.h"
#include "vocab.h"

static struct {
    uint32_t n;
    slm_fork_fn fork;
    void *pool;
} default_workers = {1, NULL, NULL};

static const char Q_TOKEN[] = "<|q|>", A_TOKEN[] = "<|a|>";

/* Bytes of text the tokenizer accepts at once: room for a prompt that fills the context. */
static size_t max_text_bytes(uint32_t context)
{
    size_t n = (size_t)context * 4;
    return RT_MIN(RT_MAX(n, (size_t)1024), (size_t)65536);
}

int slm_load(slm_model **out, const uint8_t *gguf, size_t len, slm_arena *arena, char *err, size_t errlen)
{
    if (!out || !gguf || !arena || !arena->base)
        return rt_fail(err, errlen, SLM_E_INPUT, "slm_load: missing argument");
    *out = NULL;
    size_t used0 = arena->used;
    gguf_file g;
    slm_model *m = arena_alloc(arena, sizeof *m);
    int rc = m ? 0 : arena_oom(arena, sizeof *m, "the model", err, errlen);
    if (!rc) {
        rt_memset(m, 0, sizeof *m);
        rc = gguf_parse(&g, gguf, len, arena, err, errlen);
    }
    if (!rc)
        rc = model_build(m, &g, arena, err, errlen);
    size_t max_text = m ? max_text_bytes(m->hp.context) : 0;
    if (!rc)
        rc = vocab_load(&m->vocab, &g, arena, max_text, err, errlen);
    if (!rc && !(m->text = arena_alloc(arena, max_text + 1)))
        rc = arena_oom(arena, max_text, "the prompt buffer", err, errlen);
    arena_release_temp(arena);
    if (rc) {
        arena->used = used0; /* a failed load leaves the arena as it was */
        return rc;
    }
    slm_set_workers(m, default_workers.n, default_workers.fork, default_workers.pool);
    *out = m;
    return 0;
}

void slm_get_info(const slm_model *m, slm_info *info)
{
    info->name = m->name;
    info->quant = m->quant;
    info->tokenizer = m->vocab.kind == VOCAB_GPT2 ? "gpt2" : m->vocab.kind == VOCAB_SPM ? "llama" : "t5";
    info->n_params = m->n_params;
    info->weight_bytes = m->weight_bytes;
    info->kv_bytes = m->kv_bytes;
    info->n_layers = m->hp.n_layers;
    info->d_model = m->hp.d_model;
    info->n_heads = m->hp.n_heads;
    info->n_kv_heads = m->hp.n_kv_heads;
    info->d_ff = m->hp.d_ff;
    info->context = m->hp.context;
    info->vocab_size = m->hp.vocab;
    info->isa = qt_isa();
    info->isas = slm_isas();
    static char rates[96];
    qt_isa_rates(rates, sizeof rates);
    info->isa_rates = rates;
}

const char *slm_isas(void)
{
    static char isas[64];
    qt_isa_list(isas, sizeof isas);
    return isas;
}

void slm_set_workers(slm_model *m, uint32_t n, slm_fork_fn fork, void *pool)
{
    m->n_workers = n > 1 && fork ? n : 1;
    m->fork = fork;
    m->pool = pool;
}

void slm_set_default_workers(uint32_t n, slm_fork_fn fork, void *pool)
{
    default_workers.n = n;
    default_workers.fork = fork;
    default_workers.pool = pool;
}

int slm_set_isa(const char *name)
{
    return qt_set_isa(name) == 0 ? 0 : SLM_E_INPUT;
}

int slm_tokenize(slm_model *m, const char *text, size_t len, int add_bos, int32_t *out, int max, char *err,
                 size_t errlen)
{
    return vocab_tokenize(&m->vocab, text, len, add_bos, out, max, err, errlen);
}

const float *slm_logits(const slm_model *m)
{
    return m->logits;
}

int slm_feed(slm_model *m, const int32_t *tokens, int n, int pos, char *err, size_t errlen)
{
    if (n < 1 || pos < 0 || (uint32_t)pos + (uint32_t)n > m->hp.context)
        return rt_fail(err, errlen, SLM_E_INPUT, "%d tokens at position %d do not fit the context of %u", n, pos,
                       m->hp.context);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->hp.vocab)
            return rt_fail(err, errlen, SLM_E_INPUT, "token %d is outside the vocabulary of %u", tokens[i],
                           m->hp.vocab);
    for (int i = 0; i < n;) {
        int k = (int)RT_MIN((uint32_t)(n - i), m->batch);
        model_forward(m, tokens + i, (uint32_t)k, (uint32_t)(pos + i), i + k == n);
        i += k;
    }
    return 0;
}

const char *slm_token_piece(const slm_model *m, int32_t id, size_t *len)
{
    *len = 0;
    return id >= 0 && (uint32_t)id < m->vocab.n ? vocab_piece(&m->vocab, id, len) : "";
}

int slm_generate_tokens(slm_model *m, const int32_t *prompt, int n_prompt, int max_tokens, const slm_sampler *s,
                        slm_emit_fn emit, void *ctx, slm_stats *stats, char *err, size_t errlen)
{
    const llama_hparams *hp = &m->hp;
    slm_stats st = {0};
    if (n_prompt < 1)
        return rt_fail(err, errlen, SLM_E_INPUT, "the prompt is empty");
    if ((uint32_t)n_prompt > hp->context)
        return rt_fail(err, errlen, SLM_E_INPUT, "the prompt is %d tokens; the context holds %u", n_prompt,
                       hp->context);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || (uint32_t)prompt[i] >= hp->vocab)
            return rt_fail(err, errlen, SLM_E_INPUT, "prompt token %d is %d, outside the vocabulary of %u", i,
                           prompt[i], hp->vocab);
    rng64 rng;
    rng_seed(&rng, s ? s->seed : 0);
    float temperature = s ? s->temperature : 0.0f, top_p = s ? s->top_p : 1.0f;

    uint64_t t0 = plat_time_us();
    for (int i = 0; i < n_prompt;) {
        int n = (int)RT_MIN((uint32_t)(n_prompt - i), m->batch);
        model_forward(m, prompt + i, (uint32_t)n, (uint32_t)i, i + n == n_prompt);
        i += n;
    }
    uint64_t t1 = plat_time_us();
    st.prompt_tokens = n_prompt;
    uint32_t pos = (uint32_t)n_prompt;
    while (st.generated_tokens < max_tokens) {
        int32_t tok = sample_token(m->logits, hp->vocab, temperature, top_p, &rng, m->probs, m->order);
        size_t plen;
        const char *piece = vocab_piece(&m->vocab, tok, &plen);
        st.generated_tokens++;
        if (emit)
            emit(tok, piece, plen, ctx);
        if (vocab_is_eog(&m->vocab, tok)) {
            st.stopped_at_eos = 1;
            break;
        }
        if (st.generated_tokens == max_tokens || pos >= hp->context)
            break;
        model_forward(m, &tok, 1, pos++, 1);
    }
    st.prefill_us = t1 - t0;
    st.decode_us = plat_time_us() - t1;
    if (stats)
        *stats = st;
    return st.generated_tokens;
}

int slm_tokenize_prompt(slm_model *m, const char *prompt, int32_t *out, int max, char *err, size_t errlen)
{
    size_t len = rt_strlen(prompt), cap = m->vocab.s.max_text;
    while (len && (prompt[len - 1] == ' ' || (prompt[len - 1] >= '\t' && prompt[len - 1] <= '\r')))
        len--;
    while (len && (*prompt == ' ' || (*prompt >= '\t' && *prompt <= '\r')))
        prompt++, len--;
    size_t nq = sizeof Q_TOKEN - 1, na = sizeof A_TOKEN - 1;
    if (len + nq + na > cap)
        return rt_fail(err, errlen, SLM_E_INPUT, "the prompt is %zu bytes; at most %zu fit", len, cap - nq - na);
    rt_memcpy(m->text, Q_TOKEN, nq);
    rt_memcpy(m->text + nq, prompt, len);
    rt_memcpy(m->text + nq + len, A_TOKEN, na);
    return vocab_tokenize(&m->vocab, m->text, nq + len + na, 1, out, max, err, errlen);
}

int slm_generate(slm_model *m, const char *prompt, int max_tokens, const slm_sampler *s, slm_emit_fn emit, void *ctx,
                 slm_stats *stats, char *err, size_t errlen)
{
    int n = slm_tokenize_prompt(m, prompt, m->tokens, (int)m->hp.context, err, errlen);
    if (n < 0)
        return n;
    return slm_generate_tokens(m, m->tokens, n, max_tokens, s, emit, ctx, stats, err, errlen);
}
