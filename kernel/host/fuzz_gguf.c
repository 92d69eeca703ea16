/* libFuzzer target over the whole load path (GGUF parser, hyperparameters, weights, tokenizer)
 * and, when a model loads, a short generation that runs the tokenizer, the forward pass and the
 * sampler on whatever the file holds. The generation runs once per block-kernel path the CPU has
 * (slm_set_isa) and again split across three workers (run one after another, last first): the
 * tokens and the logits' bits must be the same every time (a NaN equals any NaN). Built with
 * ASan + UBSan by `make -C kernel fuzz`; any crash, overflow, undefined behaviour or difference
 * aborts the run. Each error message must be one NUL-terminated line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slm.h"

#define ARENA_BYTES (64u << 20)

static void check_message(const char *err, size_t cap)
{
    size_t n = strnlen(err, cap);
    if (n == cap || n == 0 || strchr(err, '\n')) {
        fprintf(stderr, "bad error message: '%.*s'\n", (int)(n < cap ? n : cap), err);
        abort();
    }
}

#define MAX_TOKENS 3

/* What one generation gave: its tokens and a hash of each token's logits. */
typedef struct {
    uint32_t vocab;
    int n;
    int32_t ids[MAX_TOKENS];
    uint64_t logits[MAX_TOKENS];
    const slm_model *m;
} run;

static void record(int32_t token, const char *piece, size_t len, void *ctx)
{
    run *r = ctx;
    volatile char sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= piece[i]; /* touch every byte: ASan checks the piece */
    const float *lg = slm_logits(r->m);
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < r->vocab; i++) {
        uint32_t b;
        memcpy(&b, &lg[i], sizeof b);
        h = (h ^ (lg[i] != lg[i] ? 0x7fc00000u : b)) * 1099511628211ull;
    }
    r->ids[r->n] = token;
    r->logits[r->n++] = h;
}

/* slm_fork_fn over *(uint32_t *)pool workers, one after another in reverse order. */
static void serial_fork(void *pool, slm_job_fn job, void *arg)
{
    uint32_t n = *(const uint32_t *)pool;
    for (uint32_t w = n; w-- > 0;)
        job(arg, w, n);
}

static void generate(slm_model *m, uint64_t seed, run *out)
{
    slm_info info;
    slm_get_info(m, &info);
    *out = (run){.vocab = info.vocab_size, .m = m};
    slm_sampler s = {0.8f, 0.9f, seed};
    char err[200];
    if (slm_generate(m, "hi <|a|> caf\xc3\xa9 \xff 12", MAX_TOKENS, &s, record, out, NULL, err, sizeof err) < 0) {
        check_message(err, sizeof err);
        out->n = -1;
    }
}

static int same(const run *a, const run *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->ids[i] != b->ids[i] || a->logits[i] != b->logits[i])
            return 0;
    return 1;
}

static void generate_everywhere(slm_model *m, uint64_t seed)
{
    static uint32_t three = 3;
    char isas[64];
    snprintf(isas, sizeof isas, "%s", slm_isas());
    run first, again;
    int have = 0;
    for (char *name = strtok(isas, " "); name; name = strtok(NULL, " ")) {
        if (slm_set_isa(name) != 0)
            abort();
        for (int split = 0; split < 2; split++) {
            slm_set_workers(m, split ? 3 : 1, serial_fork, &three);
            generate(m, seed, have ? &again : &first);
            if (have && !same(&first, &again)) {
                fprintf(stderr, "path %s, %d workers: different tokens or logits\n", name, split ? 3 : 1);
                abort();
            }
            have = 1;
        }
    }
    slm_set_isa("best");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *arena_mem;
    if (!arena_mem && !(arena_mem = malloc(ARENA_BYTES)))
        abort();
    uint8_t *image = malloc(size ? size : 1); /* exactly `size` bytes: ASan sees any overread */
    if (!image)
        abort();
    memcpy(image, data, size);
    slm_arena arena;
    slm_arena_init(&arena, arena_mem, ARENA_BYTES);
    slm_model *m;
    char err[200];
    if (slm_load(&m, image, size, &arena, err, sizeof err) < 0) {
        check_message(err, sizeof err);
        if (arena.used != 0)
            abort(); /* a failed load gives the arena back */
    } else {
        generate_everywhere(m, size);
    }
    free(image);
    return 0;
}
