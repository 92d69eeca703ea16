/* libFuzzer target over the whole load path (GGUF parser, hyperparameters, weights, tokenizer)
 * and, when a model loads, a short generation that runs the tokenizer, the forward pass and the
 * sampler on whatever the file holds. Built with ASan + UBSan by `make -C kernel fuzz`; any
 * crash, overflow or undefined behaviour aborts the run. Each error message must be one
 * NUL-terminated line. */
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

static void ignore(int32_t token, const char *piece, size_t len, void *ctx)
{
    (void)token;
    (void)ctx;
    volatile char sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= piece[i]; /* touch every byte: ASan checks the piece */
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
        slm_sampler s = {0.8f, 0.9f, size};
        if (slm_generate(m, "hi <|a|> caf\xc3\xa9 \xff 12", 3, &s, ignore, NULL, NULL, err, sizeof err) < 0)
            check_message(err, sizeof err);
    }
    free(image);
    return 0;
}
