/* The console's typed commands: the table, the dispatcher, `help`, `model`, `set`, and the
 * output helpers every command uses. */
#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "kernel.h"

void con_quoted(const char *s, size_t n)
{
    kputs("\"");
    for (size_t i = 0; i < n && s[i]; i++) {
        char c = (s[i] == '"' || (uint8_t)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        kwrite(&c, 1);
    }
    kputs("\"");
}

int con_end(const char *command, int rc)
{
    kprintf("auton: end command=%s rc=%d\n", command, rc);
    return rc;
}

int con_error(const char *command, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    slm_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++) /* the argument a person typed may hold anything */
        if ((uint8_t)*p < 0x20 || *p == 0x7f)
            *p = '?';
    kprintf("auton: error: %s (type 'help' for the commands)\n", buf);
    return con_end(command, 2);
}

void con_column(const char *s, size_t n, size_t width)
{
    kwrite(s, n);
    for (size_t i = n; i < width || i < n + 2; i++)
        kwrite(" ", 1);
}

static int cmd_help(struct shell *sh, struct words *a);
static int cmd_model(struct shell *sh, struct words *a);

static const struct command {
    const char *name, *usage, *what;
    int (*run)(struct shell *sh, struct words *a);
} commands[] = {
    {"devices", "devices [all|network|storage|display|serial|input|rng|bridge|usb|other]", "the devices found at boot",
     cmd_devices},
    {"device", "device ADDRESS", "one device in detail (ADDRESS as devices prints it)", cmd_device},
    {"driver", "driver ADDRESS|CLASS", "the Linux driver for a device or a class, and the alias that matched",
     cmd_driver},
    {"cpu", "cpu", "processors: count, ISA or model, timer frequency", cmd_cpu},
    {"memory", "memory", "RAM: total, kernel, model, tables, arena, free", cmd_memory},
    {"uptime", "uptime", "time since boot", cmd_uptime},
    {"model", "model", "the language model in this kernel", cmd_model},
    {"provides", "provides COMMAND", "the Debian package that ships a command", cmd_provides},
    {"whatis", "whatis COMMAND", "the one-line description of a command (man page)", cmd_whatis},
    {"pkg", "pkg show NAME | pkg search WORD...", "a Debian package, or packages matching all the words", cmd_pkg},
    {"help", "help", "this list", cmd_help},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int cmd_help(struct shell *sh, struct words *a)
{
    (void)sh;
    (void)a;
    kputs("auton: help\n"
          "commands: poweroff | set key=value ... (max_tokens, temperature, top_p, seed, ids, isa) | help\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        kputs("  ");
        con_column(commands[i].usage, strlen(commands[i].usage), 36);
        kprintf("%s\n", commands[i].what);
    }
    kputs("  set key=value ...                   the sampler (max_tokens, temperature, top_p, seed, ids), isa\n"
          "  poweroff                            end the machine\n"
          "anything else is a question for the model\n");
    return con_end("help", 0);
}

static int cmd_model(struct shell *sh, struct words *a)
{
    (void)a;
    const slm_info *in = &sh->info;
    shell_print_model(sh);
    kprintf("name:       %s\nparameters: %llu\nquant:      %s\ntokenizer:  %s\n", in->name ? in->name : "",
            (unsigned long long)in->n_params, in->quant ? in->quant : "-", in->tokenizer ? in->tokenizer : "-");
    kprintf("layers:     %u (d_model %u, %u heads, %u kv heads, d_ff %u)\ncontext:    %u tokens\nvocab:      %u\n",
            in->n_layers, in->d_model, in->n_heads, in->n_kv_heads, in->d_ff, in->context, in->vocab_size);
    kprintf("bytes:      %zu\nkv cache:   %llu bytes\nsha256:     %s\n", sh->model_bytes,
            (unsigned long long)in->kv_bytes, sh->model_sha256 ? sh->model_sha256 : "-");
    return con_end("model", 0);
}

/* Cut `line` into words at spaces and tabs. */
static void split_words(char *line, struct words *a)
{
    a->n = a->more = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (!*p)
            break;
        if (a->n == CONSOLE_MAX_WORDS) {
            a->more = 1;
            break;
        }
        a->w[a->n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
}

int console_command(struct shell *sh, char *line)
{
    struct words a;
    char *rest = line;
    while (*rest && *rest != ' ' && *rest != '\t')
        rest++;
    size_t first = (size_t)(rest - line);
    if (first == 8 && !strncmp(line, "poweroff", 8))
        return -2;
    if (first == 3 && !strncmp(line, "set", 3)) {
        int rc = shell_apply_settings(&sh->st, rest) == 0 ? 0 : 2;
        if (rc == 0)
            shell_print_settings(&sh->st);
        return con_end("set", rc);
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strlen(commands[i].name) == first && !strncmp(line, commands[i].name, first)) {
            split_words(line, &a);
            if (a.more)
                return con_error(commands[i].name, "too many words (at most %d)", CONSOLE_MAX_WORDS);
            return commands[i].run(sh, &a);
        }
    return -1;
}
