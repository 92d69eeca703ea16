/* The AUTON kernel's portable part: carve the SLM arena out of RAM, load the embedded model,
 * print the banner, then serve prompts on the serial console until `poweroff`.
 *
 * Everything a program needs to parse starts with "auton: " and is a list of key=value fields
 * (tools/kernel.py reads them):
 *   auton: boot arch=... machine="..." ram_start=0x... ram_bytes=N image_bytes=N
 *   auton: model name="..." params=N quant=Q8_0 tokenizer=gpt2 layers=N d_model=N heads=N
 *          kv_heads=N d_ff=N context=N vocab=N bytes=N sha256=HEX
 *   auton: arena bytes=N used=N peak=N kv_bytes=N
 *   auton: sampler max_tokens=N temperature=F top_p=F seed=N ids=0|1
 *   auton: ready
 * then for each prompt line: the echoed "> prompt", the answer text, a newline and
 *   auton: stats prompt_tokens=N tokens=N eos=0|1 prefill_us=N decode_us=N tok_s=F arena_peak=N
 *   auton: ids N N N ...                      (only with the setting ids=1)
 * (tok_s is the decode speed: the tokens - 1 forward passes after the prompt over decode_us).
 * or "auton: error: message". The last line is always "auton: exit code=N" (kernel.h), after
 * "auton: error: ..." for a fatal error; QEMU then ends with that code. */
#include "kernel.h"
#include "platform.h"
#include "slm.h"

#define LINE_MAX 1024
#define IDS_MAX 4096 /* token ids kept per answer for the "ids" line */

struct settings {
    int max_tokens;
    int show_ids; /* print the generated token ids after each answer */
    slm_sampler sampler;
};

struct answer_ids {
    int32_t ids[IDS_MAX];
    int n;
};

static void print_quoted(const char *s)
{
    kputs("\"");
    for (; *s; s++) {
        char c = (*s == '"' || (uint8_t)*s < 0x20) ? '?' : *s;
        kwrite(&c, 1);
    }
    kputs("\"");
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
static int apply_setting(struct settings *st, const char *key, size_t klen, const char *value)
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
    else {
        kprintf("auton: error: bad setting '%.*s=%s' (max_tokens=1..1048576, temperature>=0, "
                "top_p in (0,1], seed>=0, ids=0|1)\n",
                (int)klen, key, value);
        return -1;
    }
    return 0;
}

/* Apply every "key=value" word of `line` (words without '=' are skipped: on x86 the multiboot
 * command line starts with the kernel's file name). Modifies `line`. */
static int apply_settings(struct settings *st, char *line)
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

static void print_settings(const struct settings *st)
{
    kprintf("auton: sampler max_tokens=%d temperature=%.3f top_p=%.3f seed=%llu ids=%d\n", st->max_tokens,
            (double)st->sampler.temperature, (double)st->sampler.top_p, (unsigned long long)st->sampler.seed,
            st->show_ids);
}

static void emit_piece(int32_t token, const char *piece, size_t len, void *ctx)
{
    struct answer_ids *a = ctx;
    kwrite(piece, len);
    if (a->n < IDS_MAX)
        a->ids[a->n++] = token;
}

static void answer(slm_model *m, slm_arena *arena, const struct settings *st, const char *prompt)
{
    static struct answer_ids ids;
    char err[256];
    slm_stats stats = {0};
    ids.n = 0;
    int n = slm_generate(m, prompt, st->max_tokens, &st->sampler, emit_piece, &ids, &stats, err, sizeof err);
    kputs("\n");
    if (n < 0) {
        kprintf("auton: error: %s\n", err);
        return;
    }
    /* the first token comes from the prompt's logits: decode ran tokens - 1 forward passes */
    uint64_t passes = stats.generated_tokens > 1 ? (uint64_t)stats.generated_tokens - 1 : 0;
    uint64_t milli = stats.decode_us ? passes * 1000000000ull / stats.decode_us : 0;
    kprintf("auton: stats prompt_tokens=%d tokens=%d eos=%d prefill_us=%llu decode_us=%llu tok_s=%llu.%03llu "
            "arena_peak=%zu\n",
            stats.prompt_tokens, stats.generated_tokens, stats.stopped_at_eos, (unsigned long long)stats.prefill_us,
            (unsigned long long)stats.decode_us, (unsigned long long)(milli / 1000),
            (unsigned long long)(milli % 1000), arena->peak);
    if (st->show_ids) {
        kputs("auton: ids");
        for (int i = 0; i < ids.n; i++)
            kprintf(" %d", ids.ids[i]);
        kputs("\n");
    }
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static __attribute__((noreturn)) void prompt_loop(slm_model *m, slm_arena *arena, struct settings *st)
{
    static char line[LINE_MAX];
    kputs("auton: ready (type a question; 'help' lists the commands)\n");
    for (;;) {
        kputs("> ");
        if (kreadline(line, sizeof line) < 0)
            break;
        const char *q = skip_spaces(line);
        for (size_t n = strlen(line); n && (line[n - 1] == ' ' || line[n - 1] == '\t'); n--)
            line[n - 1] = '\0';
        if (!*q)
            continue;
        if (!strncmp(q, "poweroff", 9))
            break;
        if (!strncmp(q, "help", 5)) {
            kputs("commands: poweroff | set key=value ... (max_tokens, temperature, top_p, seed, ids) | "
                  "help; anything else is a question for the model\n");
        } else if (!strncmp(q, "set ", 4)) {
            if (apply_settings(st, line + (q - line) + 4) == 0)
                print_settings(st);
        } else {
            answer(m, arena, st, q);
        }
    }
    kexit(EXIT_OK);
}

void kexit(int code)
{
    kprintf("auton: exit code=%d\n", code);
    plat_exit(code);
}

void kpanic_trap(const char *what, uint64_t cause, uint64_t pc, uint64_t addr)
{
    kprintf("\nauton: error: %s: cause=0x%llx pc=0x%llx addr=0x%llx\n", what, (unsigned long long)cause,
            (unsigned long long)pc, (unsigned long long)addr);
    kexit(EXIT_TRAP);
}

void kmain(const struct boot_info *bi)
{
    uintptr_t image_end = (uintptr_t)_kernel_end;
    size_t image_bytes = (size_t)(_kernel_end - _kernel_start);
    size_t model_bytes = (size_t)(auton_model_end - auton_model_start);
    kprintf("\nAUTON kernel on %s (%s)\n", plat_arch_name(), bi->machine);
    kprintf("auton: boot arch=%s machine=", plat_arch_name());
    print_quoted(bi->machine);
    kprintf(" ram_start=0x%llx ram_bytes=%llu image_bytes=%zu\n", (unsigned long long)bi->ram_start,
            (unsigned long long)(bi->ram_end - bi->ram_start), image_bytes);
    if (image_end < bi->ram_start || image_end >= bi->ram_end) {
        kprintf("auton: error: the kernel image does not lie in the RAM the firmware reports\n");
        kexit(EXIT_BOOT);
    }

    slm_arena arena;
    slm_arena_init(&arena, (void *)image_end, bi->ram_end - image_end);
    slm_model *model = NULL;
    char err[256];
    if (slm_load(&model, auton_model_start, model_bytes, &arena, err, sizeof err) != 0) {
        kprintf("auton: error: model (%zu bytes, sha256 %.16s...): %s\n", model_bytes, auton_model_sha256, err);
        kexit(EXIT_MODEL);
    }
    slm_info info;
    slm_get_info(model, &info);
    kputs("auton: model name=");
    print_quoted(info.name ? info.name : "");
    kprintf(" params=%llu quant=%s tokenizer=%s layers=%u d_model=%u heads=%u kv_heads=%u d_ff=%u context=%u "
            "vocab=%u bytes=%zu sha256=%s\n",
            (unsigned long long)info.n_params, info.quant, info.tokenizer, info.n_layers, info.d_model,
            info.n_heads, info.n_kv_heads, info.d_ff, info.context, info.vocab_size, model_bytes,
            auton_model_sha256);
    kprintf("auton: arena bytes=%zu used=%zu peak=%zu kv_bytes=%llu\n", arena.size, arena.used, arena.peak,
            (unsigned long long)info.kv_bytes);

    static char cmdline[BOOT_CMDLINE_MAX];
    struct settings st = {.max_tokens = 128, .sampler = {.temperature = 0, .top_p = 1, .seed = 0}};
    memcpy(cmdline, bi->cmdline, sizeof cmdline);
    apply_settings(&st, cmdline);
    print_settings(&st);
    prompt_loop(model, &arena, &st);
}
