/* The kernel console (docs/console.md): the prompt loop shared by the kernel and the host build
 * (shell.c), the typed commands (commands.c, cmd_hw.c, cmd_kb.c) and their output helpers. */
#ifndef AUTON_CONSOLE_H
#define AUTON_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "kb.h"
#include "slm.h"

#define CONSOLE_LINE_MAX  1024 /* a longer line is cut at 1023 bytes */
#define CONSOLE_MAX_WORDS 16
#define SEARCH_WORDS      8 /* pkg search takes at most this many words */

struct shell_settings {
    int max_tokens;
    int show_ids; /* print the generated token ids after each answer */
    slm_sampler sampler;
};

struct shell {
    slm_model *model; /* NULL: no model (the console fuzz target); questions are an error */
    slm_arena *arena;
    slm_info info;
    size_t model_bytes, kb_bytes;
    size_t image_bytes; /* the kernel image in RAM (0 on the host) */
    const char *model_sha256;
    struct kb kb;
    struct shell_settings st;
    uint64_t boot_us;
};

/* A line cut into words (NUL-terminated in place). */
struct words {
    char *w[CONSOLE_MAX_WORDS];
    int n, more; /* more: the line had more than CONSOLE_MAX_WORDS words */
};

/* The banner lines: "auton: model ...", "auton: kb ...", "auton: inventory ...". */
void shell_print_model(const struct shell *sh);
void shell_print_tables(const struct shell *sh);
void shell_print_settings(const struct shell_settings *st);
/* Apply every "key=value" word of `line` (others are skipped); 0, or -1 with a message printed. */
int shell_apply_settings(struct shell_settings *st, char *line);
/* The line after an answer: "auton: stats ...", and "auton: ids ..." with the setting ids=1. */
void shell_print_stats(const struct shell *sh, const slm_stats *stats, const int32_t *ids, int n);
/* Serve console lines until poweroff (or the end of input), then kexit(EXIT_OK). */
__attribute__((noreturn)) void shell_run(struct shell *sh);

/* Run `line` as a command: its rc (0, 1, 2), or -1 when its first word is not a command (a
 * question for the model). `poweroff` returns -2. Modifies `line`. */
int console_command(struct shell *sh, char *line);

/* Output helpers: a quoted value ("..." with '"' and control bytes as '?'), the closing line,
 * the one-line error, a padded column. */
void con_quoted(const char *s, size_t n);
int con_end(const char *command, int rc);
int con_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void con_column(const char *s, size_t n, size_t width);

/* The commands (cmd_hw.c, cmd_kb.c): each prints its header, text and end line; returns rc. */
int cmd_devices(struct shell *sh, struct words *a);
int cmd_device(struct shell *sh, struct words *a);
int cmd_driver(struct shell *sh, struct words *a);
int cmd_cpu(struct shell *sh, struct words *a);
int cmd_memory(struct shell *sh, struct words *a);
int cmd_uptime(struct shell *sh, struct words *a);
int cmd_provides(struct shell *sh, struct words *a);
int cmd_whatis(struct shell *sh, struct words *a);
int cmd_pkg(struct shell *sh, struct words *a);

#endif
