/* slm-run: the SLM runtime as a host program, for tests, fuzzing seeds and benchmarks.
 *
 *   slm-run MODEL.gguf [-p PROMPT] [-n N] [--temp T] [--top-p P] [--seed S] [--raw] [--json]
 *                      [--arena MB] [--logits FILE]
 *   slm-run MODEL.gguf --console [--kb FILE] [--dtb FILE.dtb] [--pci FILE] [-n N] [--temp T] ...
 *
 * --console (implied by --kb, --dtb and --pci) runs the kernel's console over stdin and stdout:
 * the banner, then each line a command (docs/console.md) or a question for the model, until
 * poweroff or the end of input, exactly as the kernel does. The hardware is what discovery finds
 * in the device tree blob --dtb (e.g. qemu-system-riscv64 -machine virt,dumpdtb=virt.dtb) and
 * in the simulated hardware file --pci (host/hwsim.c: PCI configuration spaces, MMIO windows
 * such as virtio-mmio slots); with --pci and no --dtb, PCI is enumerated from bus 0 as on x86.
 * --kb is the knowledge blob (tools/kb/).
 *
 * Without -p it loads the model and prints its facts. With -p it generates up to N tokens
 * (default 64) for PROMPT in the QA format (BOS <|q|> PROMPT <|a|>), or for the plain text
 * with --raw (BOS + PROMPT, special-token strings parsed), greedy unless --temp > 0. The text
 * streams to stdout and a stats line goes to stderr; --json prints one JSON document instead:
 * {"model": {...}, "prompt_ids": [...], "output_ids": [...], "text": "...", "stats": {...}}.
 * --logits FILE writes the logits each generated token was drawn from (float32, vocab_size per
 * token, native byte order), for numeric parity checks.
 * Exit status: 0 success, 1 the model failed to load or generate (the message is on stderr),
 * 2 bad usage or an unreadable file (or, for --console, a dtb, kb or PCI file that is not one). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "hw.h"
#include "hwsim.h"
#include "kernel.h"
#include "names.h"
#include "platform.h"
#include "pool.h"
#include "slm.h"

typedef struct {
    slm_model *m;
    FILE *logits;
    uint32_t vocab;
    int json;
    int32_t *ids;
    int n;
    char *text;
    size_t len, cap;
} output;

static void usage(const char *msg)
{
    fprintf(stderr,
            "slm-run: %s\n"
            "usage: slm-run MODEL.gguf [-p PROMPT] [-n N] [--temp T] [--top-p P] [--seed S] [--raw] [--json] "
            "[--arena MB] [--logits FILE] [--isa PATH] [--threads N]\n"
            "       slm-run MODEL.gguf --console [--kb FILE] [--dtb FILE.dtb] [--pci FILE] [-n N] [--temp T] ...\n",
            msg);
    exit(2);
}

static double number(const char *flag, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || !(d >= lo && d <= hi)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s needs a number from %g to %g", flag, lo, hi);
        usage(msg);
    }
    return d;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0)
        goto fail;
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    /* 64-byte aligned, like the kernel's page-aligned embedding, so GGUF's alignment holds */
    uint8_t *buf = aligned_alloc(64, ((size_t)size + 64) & ~(size_t)63);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto fail;
    fclose(f);
    *len = (size_t)size;
    return buf;
fail:
    fprintf(stderr, "slm-run: %s: %s\n", path, strerror(errno ? errno : EIO));
    exit(2);
}

static void bad_file(const char *path, const char *what)
{
    fprintf(stderr, "slm-run: %s: %s\n", path, what);
    exit(2);
}

/* The kernel's console over stdin/stdout, on the hardware of the --dtb and --pci files. */
static void console(slm_model *m, slm_arena *arena, size_t model_bytes, const slm_sampler *sampler, int max_tokens,
                    const char *kb_path, const char *dtb_path, const char *pci_path)
{
    static struct shell sh;
    char err[256];
    size_t n;
    sh.model = m;
    sh.arena = arena;
    sh.model_bytes = model_bytes;
    sh.st = (struct shell_settings){.max_tokens = max_tokens ? max_tokens : 128, .sampler = *sampler};
    sh.boot_us = plat_time_us();
    slm_get_info(m, &sh.info);
    if (pci_path) {
        uint8_t *hw = read_file(pci_path, &n);
        if (hwsim_load(hw, n, err, sizeof err) != 0)
            bad_file(pci_path, err);
    }
    if (dtb_path) {
        uint8_t *dtb = read_file(dtb_path, &n);
        if (hw_dt_discover(dtb, n) != 0)
            bad_file(dtb_path, "not a valid device tree blob");
    } else if (pci_path) {
        static const struct pci_host all = {.bus_start = 0, .bus_end = 255};
        pci_enumerate(&all);
    }
    if (kb_path) {
        uint8_t *kb = read_file(kb_path, &sh.kb_bytes);
        if (kb_open(&sh.kb, kb, sh.kb_bytes, err, sizeof err) != 0)
            bad_file(kb_path, err);
    }
    names_resolve(&sh.kb);
    kprintf("auton: boot arch=%s machine=\"slm-run\" ram_start=0x%llx ram_bytes=%llu image_bytes=0\n", plat_arch_name(),
            (unsigned long long)(hw_mem.n ? hw_mem.bank[0].base : 0), (unsigned long long)hw_mem.total);
    shell_print_model(&sh);
    kprintf("auton: arena bytes=%zu used=%zu peak=%zu kv_bytes=%llu\n", arena->size, arena->used, arena->peak,
            (unsigned long long)sh.info.kv_bytes);
    shell_print_tables(&sh);
    shell_print_settings(&sh.st);
    shell_run(&sh);
}

static void emit(int32_t token, const char *piece, size_t len, void *ctx)
{
    output *o = ctx;
    o->ids[o->n++] = token;
    if (o->logits && fwrite(slm_logits(o->m), sizeof(float), o->vocab, o->logits) != o->vocab) {
        perror("slm-run: --logits");
        exit(2);
    }
    if (!o->json) {
        fwrite(piece, 1, len, stdout);
        fflush(stdout);
        return;
    }
    if (o->len + len > o->cap) {
        o->cap = (o->len + len) * 2 + 256;
        if (!(o->text = realloc(o->text, o->cap)))
            exit(1);
    }
    memcpy(o->text + o->len, piece, len);
    o->len += len;
}

/* The codepoint at t[*pos], advancing *pos, decoded as Python's errors="replace" (and WHATWG) do:
 * an invalid or cut sequence (generation can stop inside a character) is one U+FFFD for its
 * longest valid prefix; overlong forms and surrogates are invalid. */
static uint32_t utf8_or_replacement(const uint8_t *t, size_t n, size_t *pos)
{
    size_t i = *pos;
    uint8_t c = t[i++], lo = 0x80, hi = 0xbf;
    uint32_t cp;
    int need;
    if (c < 0x80) {
        *pos = i;
        return c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2, cp = c & 0x0f, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3, cp = c & 0x07, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        *pos = i;
        return 0xfffd;
    }
    for (; need; need--, lo = 0x80, hi = 0xbf) {
        if (i >= n || t[i] < lo || t[i] > hi) {
            *pos = i;
            return 0xfffd;
        }
        cp = cp << 6 | (t[i++] & 0x3f);
    }
    *pos = i;
    return cp;
}

/* A JSON string in pure ASCII: non-ASCII as \u escapes (surrogate pairs above U+FFFF). */
static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n;) {
        uint32_t cp = utf8_or_replacement((const uint8_t *)s, n, &i);
        if (cp == '"' || cp == '\\')
            printf("\\%c", (int)cp);
        else if (cp < 0x20 || (cp >= 0x80 && cp < 0x10000))
            printf("\\u%04x", (unsigned)cp);
        else if (cp < 0x80)
            putchar((int)cp);
        else
            printf("\\u%04x\\u%04x", (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
                   (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
    }
    putchar('"');
}

static void json_ids(const char *key, const int32_t *ids, int n)
{
    printf("\"%s\": [", key);
    for (int i = 0; i < n; i++)
        printf(i ? ", %d" : "%d", ids[i]);
    printf("]");
}

static void json_model(const slm_info *in, const slm_arena *a)
{
    printf("\"model\": {\"name\": ");
    json_string(in->name, strlen(in->name));
    printf(", \"quant\": \"%s\", \"tokenizer\": \"%s\", \"params\": %llu, \"weight_bytes\": %llu, "
           "\"kv_bytes\": %llu, \"layers\": %u, \"d_model\": %u, \"heads\": %u, \"kv_heads\": %u, \"d_ff\": %u, "
           "\"context\": %u, \"vocab\": %u, \"arena_used\": %zu, \"arena_peak\": %zu, \"isa\": \"%s\", "
           "\"isas\": \"%s\", \"isa_rates\": \"%s\"}",
           in->quant, in->tokenizer, (unsigned long long)in->n_params, (unsigned long long)in->weight_bytes,
           (unsigned long long)in->kv_bytes, in->n_layers, in->d_model, in->n_heads, in->n_kv_heads, in->d_ff,
           in->context, in->vocab_size, a->used, a->peak, in->isa, in->isas, in->isa_rates);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *prompt = NULL, *logits = NULL, *kb = NULL, *dtb = NULL, *pci = NULL;
    int max_tokens = 64, raw = 0, json = 0, con = 0, max_set = 0, threads = 1;
    double arena_mb = 512;
    slm_sampler sampler = {0.0f, 1.0f, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!v)
                usage("-p needs a prompt");
            prompt = v, i++;
        } else if (!strcmp(a, "-n")) {
            max_tokens = (int)number(a, v, 0, 1 << 20), i++, max_set = 1;
        } else if (!strcmp(a, "--threads")) {
            threads = (int)number(a, v, 1, 256), i++;
        } else if (!strcmp(a, "--temp")) {
            sampler.temperature = (float)number(a, v, 0, 100), i++;
        } else if (!strcmp(a, "--top-p")) {
            sampler.top_p = (float)number(a, v, 0, 1), i++;
        } else if (!strcmp(a, "--seed")) {
            sampler.seed = (uint64_t)number(a, v, 0, 9007199254740992.0), i++;
        } else if (!strcmp(a, "--arena")) {
            arena_mb = number(a, v, 0.01, 1 << 20), i++;
        } else if (!strcmp(a, "--logits")) {
            if (!v)
                usage("--logits needs a file");
            logits = v, i++;
        } else if (!strcmp(a, "--kb") || !strcmp(a, "--dtb") || !strcmp(a, "--pci")) {
            if (!v)
                usage(a[2] == 'k' ? "--kb needs a file" : a[2] == 'd' ? "--dtb needs a file" : "--pci needs a file");
            *(a[2] == 'k' ? &kb : a[2] == 'd' ? &dtb : &pci) = v, i++, con = 1;
        } else if (!strcmp(a, "--console")) {
            con = 1;
        } else if (!strcmp(a, "--raw")) {
            raw = 1;
        } else if (!strcmp(a, "--isa")) {
            if (!v || slm_set_isa(v) != 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "--isa needs a kernel path this CPU runs: best %s", slm_isas());
                usage(msg);
            }
            i++;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] == '-' && a[1]) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown option %s", a);
            usage(msg);
        } else if (!path) {
            path = a;
        } else {
            usage("only one model file");
        }
    }
    if (!path)
        usage("no model file");

    size_t len, arena_bytes = (size_t)(arena_mb * 1048576.0);
    uint8_t *gguf = read_file(path, &len);
    void *mem = malloc(arena_bytes);
    if (!mem)
        usage("cannot allocate the arena");
    slm_arena arena;
    slm_arena_init(&arena, mem, arena_bytes);
    slm_model *m;
    char err[256];
    if (slm_load(&m, gguf, len, &arena, err, sizeof err) < 0) {
        fprintf(stderr, "slm-run: %s: %s\n", path, err);
        return 1;
    }
    if (threads > 1) {
        pool *workers = pool_start((uint32_t)threads);
        if (!workers)
            usage("cannot start the threads");
        slm_set_workers(m, (uint32_t)threads, pool_fork, workers);
    }
    if (con) {
        if (prompt || json || raw || logits)
            usage("--console does not take -p, --json, --raw or --logits");
        console(m, &arena, len, &sampler, max_set ? max_tokens : 0, kb, dtb, pci);
    }
    slm_info info;
    slm_get_info(m, &info);
    if (!prompt) {
        if (json) {
            printf("{");
            json_model(&info, &arena);
            printf("}\n");
        } else {
            printf("%s: %s, %llu params, %s, %s tokenizer, %u layers, d_model %u, %u/%u heads, d_ff %u, context %u, "
                   "vocab %u; arena %zu bytes used\n",
                   path, info.name[0] ? info.name : "(unnamed)", (unsigned long long)info.n_params, info.quant,
                   info.tokenizer, info.n_layers, info.d_model, info.n_heads, info.n_kv_heads, info.d_ff, info.context,
                   info.vocab_size, arena.used);
        }
        return 0;
    }

    int32_t *prompt_ids = malloc(sizeof(int32_t) * info.context);
    output out = {m, NULL, info.vocab_size, json, malloc(sizeof(int32_t) * ((size_t)max_tokens + 1)), 0, NULL, 0, 0};
    if (logits && !(out.logits = fopen(logits, "wb"))) {
        fprintf(stderr, "slm-run: %s: %s\n", logits, strerror(errno));
        return 2;
    }
    int n = raw ? slm_tokenize(m, prompt, strlen(prompt), 1, prompt_ids, (int)info.context, err, sizeof err)
                : slm_tokenize_prompt(m, prompt, prompt_ids, (int)info.context, err, sizeof err);
    slm_stats st;
    if (n >= 0)
        n = slm_generate_tokens(m, prompt_ids, n, max_tokens, &sampler, emit, &out, &st, err, sizeof err);
    if (n < 0) {
        fprintf(stderr, "slm-run: %s\n", err);
        return 1;
    }
    if (out.logits)
        fclose(out.logits);
    double tok_s = st.decode_us ? (st.generated_tokens - 1) * 1e6 / (double)st.decode_us : 0.0;
    if (json) {
        printf("{");
        json_model(&info, &arena);
        printf(", ");
        json_ids("prompt_ids", prompt_ids, st.prompt_tokens);
        printf(", ");
        json_ids("output_ids", out.ids, out.n);
        printf(", \"text\": ");
        json_string(out.text ? out.text : "", out.len);
        printf(", \"stats\": {\"prompt_tokens\": %d, \"generated_tokens\": %d, \"stopped_at_eos\": %s, "
               "\"prefill_us\": %llu, \"decode_us\": %llu, \"decode_tok_s\": %.2f}}\n",
               st.prompt_tokens, st.generated_tokens, st.stopped_at_eos ? "true" : "false",
               (unsigned long long)st.prefill_us, (unsigned long long)st.decode_us, tok_s);
    } else {
        printf("\n");
        fprintf(stderr, "slm-run: %d prompt tokens in %.1f ms, %d generated in %.1f ms (%.1f tok/s)%s\n",
                st.prompt_tokens, st.prefill_us / 1e3, st.generated_tokens, st.decode_us / 1e3, tok_s,
                st.stopped_at_eos ? ", stopped at end of text" : "");
    }
    return 0;
}
