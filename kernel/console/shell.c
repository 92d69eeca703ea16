/* The console loop shared by the kernel (main.c) and the host build (slm-run --console): read a
 * line, run it as a command (console_command) or hand it to the model as a question.
 *
 * For each question: the echoed "> prompt", the answer text, a newline and
 *   auton: stats prompt_tokens=N tokens=N eos=0|1 prefill_us=N decode_us=N tok_s=F arena_peak=N
 *   auton: ids N N N ...                      (only with the setting ids=1)
 * (tok_s is the decode speed: the tokens - 1 forward passes after the prompt over decode_us),
 * or "auton: error: message". With a chat-tuned model a question is a request (request.c): the
 * "auton: command" line, the command's output, "auton: answer", then the same stats line. The
 * last line is always "auton: exit code=N". */
#include "console.h"
#include "hw.h"
#include "kernel.h"
#include "platform.h"
#include "request.h"

#define IDS_MAX 4096 /* token ids kept per answer for the "ids" line */

struct answer_ids {
    int32_t ids[IDS_MAX];
    int n;
};

void kexit(int code)
{
    kprintf("auton: exit code=%d\n", code);
    plat_exit(code);
}

/* A decimal number such as "0.8" or "12" (no exponent), for the sampler settings.
 * The digits are gathered as an integer and divided once in double precision, so the result
 * rounds like the host build's strtod ("0.9" is the float nearest 0.9, not 0.90000004). */
static int parse_float(const char *s, float *out)
{
    uint64_t mant = 0;
    double scale = 1;
    int digits = 0, frac = 0;
    for (; *s; s++) {
        if (*s == '.' && !frac) {
            frac = 1;
        } else if (*s >= '0' && *s <= '9' && digits < 18) {
            mant = mant * 10 + (uint64_t)(*s - '0');
            if (frac)
                scale *= 10;
            digits++;
        } else {
            return -1;
        }
    }
    if (!digits)
        return -1;
    *out = (float)((double)mant / scale);
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Apply one "key=value" setting; returns 0, or -1 with a message printed. */
static int apply_setting(struct shell_settings *st, const char *key, size_t klen, const char *value)
{
    uint64_t u;
    float f;
    if (klen == 10 && !strncmp(key, "max_tokens", klen) && !parse_u64(value, &u) && u >= 1 && u <= 1 << 20)
        st->max_tokens = (int)u;
    else if (klen == 11 && !strncmp(key, "temperature", klen) && !parse_float(value, &f) && f <= 100)
        st->sampler.temperature = f;
    else if (klen == 5 && !strncmp(key, "top_p", klen) && !parse_float(value, &f) && f > 0 && f <= 1)
        st->sampler.top_p = f;
    else if (klen == 4 && !strncmp(key, "seed", klen) && !parse_u64(value, &u))
        st->sampler.seed = u;
    else if (klen == 3 && !strncmp(key, "ids", klen) && !parse_u64(value, &u) && u <= 1)
        st->show_ids = (int)u;
    else if (klen == 3 && !strncmp(key, "isa", klen) && slm_set_isa(value) == 0)
        ; /* the block-kernel path, process-wide (slm.h) */
    else {
        kputs("auton: error: bad setting '");
        kwrite(key, klen);
        kprintf("=%.200s' (max_tokens=1..1048576, temperature>=0, top_p in (0,1], seed>=0, ids=0|1, isa=best|%s)\n",
                value, slm_isas());
        return -1;
    }
    return 0;
}

/* On x86 the multiboot command line starts with the kernel's file name: words without '=' are
 * skipped. */
int shell_apply_settings(struct shell_settings *st, char *line)
{
    int rc = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *word = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
        char *eq = word;
        while (*eq && *eq != '=')
            eq++;
        if (*eq == '=' && apply_setting(st, word, (size_t)(eq - word), eq + 1) != 0)
            rc = -1;
    }
    return rc;
}

void shell_print_settings(const struct shell_settings *st)
{
    kprintf("auton: sampler max_tokens=%d temperature=%.3f top_p=%.3f seed=%llu ids=%d\n", st->max_tokens,
            (double)st->sampler.temperature, (double)st->sampler.top_p, (unsigned long long)st->sampler.seed,
            st->show_ids);
}

void shell_print_model(const struct shell *sh)
{
    const slm_info *info = &sh->info;
    kputs("auton: model name=");
    con_quoted(info->name ? info->name : "", info->name ? strlen(info->name) : 0);
    kprintf(" params=%llu quant=%s tokenizer=%s layers=%u d_model=%u heads=%u kv_heads=%u d_ff=%u context=%u "
            "vocab=%u bytes=%zu sha256=%s\n",
            (unsigned long long)info->n_params, info->quant ? info->quant : "-",
            info->tokenizer ? info->tokenizer : "-", info->n_layers, info->d_model, info->n_heads, info->n_kv_heads,
            info->d_ff, info->context, info->vocab_size, sh->model_bytes, sh->model_sha256 ? sh->model_sha256 : "-");
}

void shell_print_tables(const struct shell *sh)
{
    const struct kb *kb = &sh->kb;
    kprintf("auton: kb bytes=%zu pci_vendors=%u pci_devices=%u pci_classes=%u aliases=%u packages=%u "
            "commands=%u whatis=%u\n",
            kb->size, kb_lines(kb, "pci_vendor"), kb_lines(kb, "pci_device"), kb_lines(kb, "pci_class"),
            kb_lines(kb, "alias"), kb_lines(kb, "pkg"), kb_lines(kb, "cmd"), kb_lines(kb, "whatis"));
    kprintf("auton: inventory devices=%d truncated=%d\n", hw_inv.n, hw_inv.truncated);
}

static void emit_piece(int32_t token, const char *piece, size_t len, void *ctx)
{
    struct answer_ids *a = ctx;
    kwrite(piece, len);
    if (a->n < IDS_MAX)
        a->ids[a->n++] = token;
}

static void answer(struct shell *sh, const char *prompt)
{
    static struct answer_ids ids;
    char err[256];
    slm_stats stats = {0};
    ids.n = 0;
    if (!sh->model) {
        kputs("\nauton: error: no model\n");
        return;
    }
    int n =
        slm_generate(sh->model, prompt, sh->st.max_tokens, &sh->st.sampler, emit_piece, &ids, &stats, err, sizeof err);
    kputs("\n");
    if (n < 0) {
        kprintf("auton: error: %s\n", err);
        return;
    }
    shell_print_stats(sh, &stats, ids.ids, ids.n);
}

void shell_print_stats(const struct shell *sh, const slm_stats *stats, const int32_t *ids, int n)
{
    /* the first token comes from the prompt's logits: decode ran tokens - 1 forward passes */
    uint64_t passes = stats->generated_tokens > 1 ? (uint64_t)stats->generated_tokens - 1 : 0;
    uint64_t milli = stats->decode_us ? passes * 1000000000ull / stats->decode_us : 0;
    kprintf("auton: stats prompt_tokens=%d tokens=%d eos=%d prefill_us=%llu decode_us=%llu tok_s=%llu.%03llu "
            "arena_peak=%zu\n",
            stats->prompt_tokens, stats->generated_tokens, stats->stopped_at_eos, (unsigned long long)stats->prefill_us,
            (unsigned long long)stats->decode_us, (unsigned long long)(milli / 1000),
            (unsigned long long)(milli % 1000), sh->arena->peak);
    if (sh->st.show_ids) {
        kputs("auton: ids");
        for (int i = 0; i < n; i++)
            kprintf(" %d", ids[i]);
        kputs("\n");
    }
}

void shell_run(struct shell *sh)
{
    static char line[CONSOLE_LINE_MAX];
    kputs("auton: ready (type a question; 'help' lists the commands)\n");
    for (;;) {
        kputs("> ");
        if (kreadline(line, sizeof line) < 0)
            break;
        for (size_t n = strlen(line); n && (line[n - 1] == ' ' || line[n - 1] == '\t'); n--)
            line[n - 1] = '\0';
        const char *q = line;
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q)
            continue;
        static char copy[CONSOLE_LINE_MAX];
        memcpy(copy, q, strlen(q) + 1);
        int rc = console_command(sh, copy);
        if (rc == -2)
            break;
        if (rc == -1 && request_serve(sh, q) != 0)
            answer(sh, q);
    }
    kexit(EXIT_OK);
}
