/* Requests: the model turns a console line into one command, the kernel runs it, the model
 * answers from its output. The exchange is tools/tune/chat.py's:
 *
 *   BOS <|request|> REQUEST <|command|> COMMAND <|end|> <|output|> OUTPUT <|answer|> ANSWER <|end|>
 *
 * COMMAND is decoded greedily under a mask (tools/tune/constrain.py, mirrored): a token is allowed when the text stays
 * a prefix of a valid command on this machine that can still be finished within the token budget (one token per
 * character at worst, <|end|> included), and <|end|> only where the command is complete. Valid commands
 * (tools/task/grammar.py, tools/task/completions.py): devices [CLASS], device ADDR, driver ADDR|CLASS, cpu, memory,
 * uptime, model, provides CMD, whatis CMD, pkg show PKG, pkg search WORD..., none; WORDs lowercase words. The
 * arguments a request names are copied, never recalled: ADDR is the address of a present device that the request types
 * (find_addresses); of its words (runs of [A-Za-z0-9._+-] without trailing dots), CMD is one that is a name of the
 * kb's cmd or whatis section, PKG one that is a name of its pkg section, and the WORDs are chosen from those that fit
 * a search word, lowercased. Words whose lowercase form is in the kb's phrase section (what requests are phrased in:
 * the, please, show) are passed over while the request holds other candidates of the same kind; when it holds none,
 * only those the section marks as well-known names (a second field: find, free, apt) remain (an old kb without the
 * section has none). A request that names no address offers no device (and driver only its classes), one that names no
 * command no provides or whatis, one that names no package no pkg show; one with no word that fits a search word
 * searches free words. Names are looked up by binary search (kb_find). help, set and poweroff are not in the grammar,
 * so no request can run them. The command runs through console_command, exactly as if typed; OUTPUT is what it printed
 * (\n line ends) but its closing "auton: end" line (read_len), or its longest head of whole lines that leaves
 * REQUEST_ANSWER_ROOM tokens of the context (fit_output). ANSWER is decoded best first under a grounding constraint
 * (tools/tune/constrain.py decode_answer, mirrored): tokens are tried in order of descending logit (ties: the lower
 * id), and the first whose text keeps the answer a prefix of a grounded one (answer.h) is taken, or <|end|> where the
 * answer may end; decoding stops at <|end|>, after REQUEST_ANSWER_TOKENS tokens or at the context's end, or when no
 * token fits, and an answer stopped where it may not end is cut back to the longest start of it that may. */
#include "request.h"

#include "answer.h"
#include "hw.h"
#include "fmt.h"
#include "kernel.h"
#include "platform.h"

#define COMMAND_MAX 512               /* bytes of command text */
#define OUTPUT_MAX  ANSWER_OUTPUT_MAX /* of a longer output, the model reads a head of this */
#define TOKENS_MAX  8192
#define CANDIDATES  16 /* the answer decoder's candidates per pass over the vocabulary */

/* tools/task/answers.py REFUSAL: what the model is taught to say for `none` */
static const char REFUSAL[] = "Sorry, I can only look up this machine's devices, drivers, memory, model and packages.";

enum { T_REQUEST, T_COMMAND, T_END, T_OUTPUT, T_ANSWER, T_CHAT };
static const char *const CHAT_TOKENS[T_CHAT] = {"<|request|>", "<|command|>", "<|end|>", "<|output|>", "<|answer|>"};

static const char *const CLASSES[] = {"all",   "network", "storage", "display", "serial",
                                      "input", "rng",     "bridge",  "usb",     "other"};
static const char *const BARE[] = {"devices", "cpu", "memory", "uptime", "model", "none"};
enum arg { A_CLASS, A_ADDR, A_ADDR_CLASS, A_CMD, A_PKG, A_WORDS };
static const struct {
    const char *head;
    enum arg arg;
} HEADS[] = {{"devices ", A_CLASS}, {"device ", A_ADDR},  {"driver ", A_ADDR_CLASS}, {"provides ", A_CMD},
             {"whatis ", A_CMD},    {"pkg show ", A_PKG}, {"pkg search ", A_WORDS}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The request's words an argument copies, found once per request (find_named); an empty set
 * offers no provides/whatis (cmd), no pkg show (pkg), free words (search). A console line has
 * fewer than CONSOLE_LINE_MAX bytes, so at most CONSOLE_LINE_MAX / 2 words. */
enum { PHRASING_NAME = 1, PHRASING_ONLY = 2 };
struct named_words {
    struct {
        const char *s;
        size_t len;
        int phrasing; /* 0: not in the kb's phrase section; PHRASING_NAME: there as a well-known
                       * name; PHRASING_ONLY: there as a phrasing word alone */
    } w[CONSOLE_LINE_MAX / 2];
    int n;
};
static struct {
    struct named_words cmd, pkg, search; /* search: lowercased, in `lower` */
    char lower[CONSOLE_LINE_MAX];
    uint8_t addr[HW_MAX_DEVICES]; /* hw_inv.dev[i] is an address the request types */
} named;

/* The model's chat token ids, found once per model. */
static struct {
    const slm_model *model;
    int chat;                 /* the vocabulary has the five chat tokens, as control tokens */
    int32_t bos, ids[T_CHAT]; /* bos < 0: the model has none */
} ctx;

static int is_lower_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* COMMAND_NAME ^[A-Za-z0-9][A-Za-z0-9._+-]*$ and PACKAGE_NAME ^[a-z0-9][a-z0-9+.-]+$ over a
 * prefix (whole: the name itself, so a package name has two characters at least). */
static int name_ok(enum arg kind, const char *s, size_t n, int whole)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = kind == A_CMD ? is_alnum(c) || (i && (c == '.' || c == '_' || c == '+' || c == '-'))
                               : is_lower_digit(c) || (i && (c == '.' || c == '+' || c == '-'));
        if (!ok)
            return 0;
    }
    return !whole || n >= (kind == A_CMD ? 1u : 2u);
}

static int word_reach(const char *w, size_t wl, const char *s, size_t n, int limit)
{
    return n <= wl && !memcmp(w, s, n) && (int)(wl - n) <= limit;
}

static int list_reach(const char *const *list, size_t count, const char *s, size_t n, int limit)
{
    for (size_t i = 0; i < count; i++)
        if (word_reach(list[i], strlen(list[i]), s, n, limit))
            return 1;
    return 0;
}

/* A word of the set starting with s[0..n), at most limit longer. */
static int set_reach(const struct named_words *set, const char *s, size_t n, int limit)
{
    for (int i = 0; i < set->n; i++)
        if (word_reach(set->w[i].s, set->w[i].len, s, n, limit))
            return 1;
    return 0;
}

static int addr_reach(const char *s, size_t n, int limit)
{
    for (int i = 0; i < hw_inv.n; i++)
        if (named.addr[i] && word_reach(hw_inv.dev[i].addr, strlen(hw_inv.dev[i].addr), s, n, limit))
            return 1;
    return 0;
}

/* pkg search: 1 to SEARCH_WORDS words of [a-z0-9+.-] starting with [a-z0-9], one space between. */
static int words_reach(const char *s, size_t n, int limit)
{
    int in_word = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_word && c == ' ' && count < SEARCH_WORDS)
            in_word = 0;
        else if (is_lower_digit(c) || (in_word && (c == '+' || c == '.' || c == '-'))) {
            count += !in_word;
            in_word = 1;
        } else
            return 0;
    }
    return (in_word ? 0 : 1) <= limit;
}

/* pkg search over the request's words: 1 to SEARCH_WORDS of the set (repeats allowed), one
 * space between. */
static int chosen_reach(const struct named_words *set, const char *s, size_t n, int limit)
{
    size_t from = 0;
    int count = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ') {
            if (count++ == SEARCH_WORDS || !set_reach(set, s + from, i - from, 0))
                return 0;
            from = i + 1;
        }
    return set_reach(set, s + from, n - from, limit);
}

static int arg_reach(enum arg kind, const char *s, size_t n, int limit)
{
    if (limit < 0)
        return 0;
    switch (kind) {
    case A_CLASS:
        return list_reach(CLASSES, COUNT(CLASSES), s, n, limit);
    case A_ADDR:
        return addr_reach(s, n, limit);
    case A_ADDR_CLASS:
        return addr_reach(s, n, limit) || list_reach(CLASSES, COUNT(CLASSES), s, n, limit);
    case A_CMD:
        return set_reach(&named.cmd, s, n, limit);
    case A_PKG:
        return set_reach(&named.pkg, s, n, limit);
    case A_WORDS:
        return named.search.n ? chosen_reach(&named.search, s, n, limit) : words_reach(s, n, limit);
    }
    return 0;
}

static void add(struct named_words *set, const char *s, size_t n, int phrasing)
{
    for (int i = 0; i < set->n; i++)
        if (set->w[i].len == n && !memcmp(set->w[i].s, s, n))
            return;
    set->w[set->n].s = s;
    set->w[set->n].len = n;
    set->w[set->n++].phrasing = phrasing;
}

/* The set's words of the lowest phrasing level it holds, none of PHRASING_ONLY
 * (tools/task/completions.py IndexStates.named). */
static void pass_over_phrasing(struct named_words *set)
{
    int level = PHRASING_ONLY;
    for (int i = 0; i < set->n; i++)
        if (set->w[i].phrasing < level)
            level = set->w[i].phrasing;
    int kept = 0;
    for (int i = 0; i < set->n; i++)
        if (set->w[i].phrasing == level && level != PHRASING_ONLY)
            set->w[kept++] = set->w[i];
    set->n = kept;
}

/* One request word w[0..n): into the sets it belongs to (lw: its place in named.lower). */
static void take(const struct kb *kb, const char *w, size_t n, char *lw)
{
    struct kb_line l;
    for (size_t i = 0; i < n; i++)
        lw[i] = to_lower(w[i]);
    int phrasing = kb_find(kb, "phrase", lw, n, &l) != 0 ? 0 : l.nf > 1 ? PHRASING_NAME : PHRASING_ONLY;
    if (name_ok(A_CMD, w, n, 1) && (kb_find(kb, "cmd", w, n, &l) == 0 || kb_find(kb, "whatis", w, n, &l) == 0))
        add(&named.cmd, w, n, phrasing);
    if (name_ok(A_PKG, w, n, 1) && kb_find(kb, "pkg", w, n, &l) == 0)
        add(&named.pkg, w, n, phrasing);
    if (name_ok(A_PKG, lw, n, 0)) /* SEARCH_WORD ^[a-z0-9][a-z0-9+.-]*$ */
        add(&named.search, lw, n, phrasing);
}

static int is_addr_char(char c)
{
    return is_alnum(c) || c == '@' || c == ':' || c == ',' || c == '.' || c == '_' || c == '+' || c == '-';
}

/* The devices whose address the request types (tools/task/grammar.py named_addresses): equal,
 * case aside, to a maximal run of [A-Za-z0-9@:,._+-] in the line without trailing dots, commas
 * and colons. */
static void find_addresses(const char *line, size_t len)
{
    for (int i = 0; i < hw_inv.n; i++)
        named.addr[i] = 0;
    for (size_t i = 0, from = 0; i <= len; i++) {
        if (i < len && is_addr_char(line[i]))
            continue;
        size_t end = i;
        while (end > from && (line[end - 1] == '.' || line[end - 1] == ',' || line[end - 1] == ':'))
            end--;
        for (int d = 0; d < hw_inv.n && end > from; d++) {
            const char *a = hw_inv.dev[d].addr;
            size_t k = 0;
            while (k < end - from && a[k] && to_lower(line[from + k]) == to_lower(a[k]))
                k++;
            if (k == end - from && !a[k])
                named.addr[d] = 1;
        }
        from = i + 1;
    }
}

/* The request's words (tools/task/grammar.py request_words): maximal runs of [A-Za-z0-9._+-]
 * in the line, trailing dots removed, empty ones dropped; then each set passes over its phrasing
 * words (tools/task/completions.py IndexStates.named). */
static void find_named(const struct shell *sh, const char *line)
{
    size_t len = 0;
    while (len < CONSOLE_LINE_MAX - 1 && line[len])
        len++;
    named.cmd.n = named.pkg.n = named.search.n = 0;
    for (size_t i = 0, from = 0; i <= len; i++) {
        char c = line[i];
        if (i < len && (is_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-'))
            continue;
        size_t end = i;
        while (end > from && line[end - 1] == '.')
            end--;
        if (end > from)
            take(&sh->kb, line + from, end - from, named.lower + from);
        from = i + 1;
    }
    pass_over_phrasing(&named.cmd);
    pass_over_phrasing(&named.pkg);
    pass_over_phrasing(&named.search);
    find_addresses(line, len);
}

/* Whether s[0..n) is a prefix of a valid command of this machine that at most `limit` more
 * characters finish (limit 0: a whole command). */
static int reach(const char *s, size_t n, int limit)
{
    if (limit < 0)
        return 0;
    if (list_reach(BARE, COUNT(BARE), s, n, limit))
        return 1;
    for (size_t i = 0; i < COUNT(HEADS); i++) {
        const char *h = HEADS[i].head;
        size_t hl = strlen(h);
        if (n <= hl && !memcmp(h, s, n) && arg_reach(HEADS[i].arg, "", 0, limit - (int)(hl - n)))
            return 1;
        if (n > hl && !memcmp(h, s, hl) && arg_reach(HEADS[i].arg, s + hl, n - hl, limit))
            return 1;
    }
    return 0;
}

/* The chat tokens: each a single control token (it tokenizes to one id that prints nothing). */
static int find_chat_tokens(slm_model *m)
{
    if (ctx.model == m)
        return ctx.chat;
    char err[128];
    int32_t ids[2];
    ctx.model = m;
    ctx.chat = 0;
    ctx.bos = slm_tokenize(m, "", 0, 1, ids, 2, err, sizeof err) == 1 ? ids[0] : -1;
    for (int i = 0; i < T_CHAT; i++) {
        size_t len;
        if (slm_tokenize(m, CHAT_TOKENS[i], strlen(CHAT_TOKENS[i]), 0, ids, 2, err, sizeof err) != 1)
            return 0;
        slm_token_piece(m, ids[0], &len);
        if (len)
            return 0;
        ctx.ids[i] = ids[0];
    }
    return ctx.chat = 1;
}

/* One exchange's model state: the tokens fed so far and the timings. */
struct exchange {
    struct shell *sh;
    int pos, prompt_tokens, cmd_tokens, generated;
    uint64_t prefill_us, busy_us; /* busy: the model and the mask, the prompt's prefill included */
    int32_t out[REQUEST_COMMAND_TOKENS + REQUEST_ANSWER_TOKENS + 2];
    char err[160];
};

static int feed(struct exchange *x, const int32_t *ids, int n)
{
    uint64_t t0 = plat_time_us();
    int rc = slm_feed(x->sh->model, ids, n, x->pos, x->err, sizeof x->err);
    x->busy_us += plat_time_us() - t0;
    x->pos += n;
    return rc;
}

static int printable(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((uint8_t)p[i] < 0x20 || (uint8_t)p[i] > 0x7e)
            return 0;
    return len > 0;
}

/* The masked argmax after text[0..n) with `budget` tokens left (<|end|> included): a token id,
 * or -1 for <|end|>, -2 when nothing is allowed. Ties go to the lowest id, and tokens before
 * <|end|>, as torch.argmax over constrain.py's candidate list. */
static int32_t masked_argmax(struct exchange *x, char *text, size_t n, int budget)
{
    const slm_model *m = x->sh->model;
    const float *logits = slm_logits(m);
    int32_t best = -2;
    for (uint32_t id = 0; id < x->sh->info.vocab_size; id++) {
        size_t len;
        const char *piece = slm_token_piece(m, (int32_t)id, &len);
        if (n + len >= COMMAND_MAX || !printable(piece, len) || (best >= 0 && !(logits[id] > logits[best])))
            continue;
        memcpy(text + n, piece, len);
        if (reach(text, n + len, budget - 2))
            best = (int32_t)id;
    }
    if (reach(text, n, 0) && (best < 0 || logits[ctx.ids[T_END]] > logits[best]))
        best = -1;
    return best;
}

/* The command text, NUL-terminated, into text (COMMAND_MAX bytes); 0 or -1 (x->err). The model
 * reads the line with its ASCII capitals lowercased (tools/tune/chat.py fold); the arguments
 * copy the line as typed (find_named). */
static int decode_command(struct exchange *x, const char *line, char *text)
{
    static int32_t prompt[TOKENS_MAX];
    static char folded[CONSOLE_LINE_MAX];
    size_t line_len = 0;
    for (; line_len < CONSOLE_LINE_MAX - 1 && line[line_len]; line_len++)
        folded[line_len] = to_lower(line[line_len]);
    slm_model *m = x->sh->model;
    int context = (int)x->sh->info.context, n = 0, keep = context - REQUEST_COMMAND_TOKENS;
    if (ctx.bos >= 0)
        prompt[n++] = ctx.bos;
    prompt[n++] = ctx.ids[T_REQUEST];
    int k = slm_tokenize(m, folded, line_len, 0, prompt + n, TOKENS_MAX - n - 1, x->err, sizeof x->err);
    if (k < 0)
        return -1;
    n += k;
    prompt[n++] = ctx.ids[T_COMMAND];
    int from = n > keep ? n - keep : 0; /* as tools/tune/evaluate.py: the prompt's last tokens */
    find_named(x->sh, line);
    if (keep < 1) {
        slm_snprintf(x->err, sizeof x->err, "the model's context of %d tokens is too short", context);
        return -1;
    }
    uint64_t t0 = plat_time_us();
    if (feed(x, prompt + from, n - from) < 0)
        return -1;
    x->prefill_us = plat_time_us() - t0;
    x->prompt_tokens = n - from;
    size_t len = 0;
    while (x->generated < REQUEST_COMMAND_TOKENS) {
        uint64_t t0 = plat_time_us();
        int32_t t = masked_argmax(x, text, len, REQUEST_COMMAND_TOKENS - x->generated);
        x->busy_us += plat_time_us() - t0;
        if (t < 0) {
            x->out[x->generated++] = ctx.ids[T_END];
            if (t == -2) /* a vocabulary without the characters a command needs */
                len = 0;
            break;
        }
        size_t plen;
        const char *piece = slm_token_piece(m, t, &plen);
        memcpy(text + len, piece, plen);
        len += plen;
        x->out[x->generated++] = t;
        x->cmd_tokens++;
        if (feed(x, &t, 1) < 0)
            return -1;
    }
    text[len] = '\0';
    if (!len || !reach(text, len, 0))
        memcpy(text, "none", 5);
    return 0;
}

/* Whether token `id` may follow the answer text[0..n) (text has ANSWER_TEXT_MAX + 1 bytes). */
static int answer_fits(const slm_model *m, char *text, size_t n, int32_t id)
{
    size_t len;
    const char *piece = slm_token_piece(m, id, &len);
    if (id == ctx.ids[T_END])
        return answer_complete(text, n);
    if (!printable(piece, len) || n + len > ANSWER_TEXT_MAX)
        return 0;
    memcpy(text + n, piece, len);
    return answer_could_start(text, n + len);
}

/* a is tried before b: the higher logit, or on a tie the lower id */
static int before(const float *logits, uint32_t a, uint32_t b)
{
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
}

/* The first token in best-first order that may follow text[0..n), or -1 when none does. Each
 * pass over the vocabulary collects the CANDIDATES best tokens after the last one tried. */
static int32_t best_fitting(struct exchange *x, char *text, size_t n)
{
    const slm_model *m = x->sh->model;
    const float *logits = slm_logits(m);
    uint32_t top[CANDIDATES];
    for (int64_t last = -1;;) {
        int k = 0;
        for (uint32_t id = 0; id < x->sh->info.vocab_size; id++) {
            if ((last >= 0 && !before(logits, (uint32_t)last, id)) ||
                (k == CANDIDATES && !before(logits, id, top[k - 1])))
                continue;
            int j = k < CANDIDATES ? k++ : k - 1;
            for (; j > 0 && before(logits, id, top[j - 1]); j--)
                top[j] = top[j - 1];
            top[j] = id;
        }
        for (int i = 0; i < k; i++)
            if (answer_fits(m, text, n, (int32_t)top[i]))
                return (int32_t)top[i];
        if (k < CANDIDATES)
            return -1;
        last = top[k - 1];
    }
}

/* Bytes of out[0..len) up to and including its n-th '\n'. */
static size_t line_end(const char *out, size_t len, int n)
{
    size_t i = 0;
    for (; i < len && n > 0; i++)
        n -= out[i] == '\n';
    return i;
}

/* The head of the output the model reads (tools/tune/chat.py fit_output): all of it when its
 * tokens fit in room, else its longest head of whole lines that does, by a binary search over
 * the line count; its length in bytes, its tokens at ids (*k), or 0 when not even the first
 * line fits. A text longer than the tokenizer takes at once does not fit. */
static size_t fit_output(struct exchange *x, const char *out, size_t len, int32_t *ids, int room, int *k)
{
    slm_model *m = x->sh->model;
    if (room <= 0)
        return 0;
    if ((*k = slm_tokenize(m, out, len, 0, ids, room, x->err, sizeof x->err)) >= 0)
        return len;
    int lines = 0;
    for (size_t i = 0; i + 1 < len; i++)
        lines += out[i] == '\n';
    int lo = 0, hi = lines + 1; /* the head of lo lines fits (none: 0); of hi, the whole, does not */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (slm_tokenize(m, out, line_end(out, len, mid), 0, ids, room, x->err, sizeof x->err) >= 0)
            lo = mid;
        else
            hi = mid;
    }
    size_t n = line_end(out, len, lo);
    return lo && (*k = slm_tokenize(m, out, n, 0, ids, room, x->err, sizeof x->err)) >= 0 ? n : 0;
}

/* The bytes of the output the model reads (tools/tune/chat.py read_output): all but a last line
 * that starts "auton: end " (the command's closing line). */
static size_t read_len(const char *out, size_t len)
{
    static const char END[] = "auton: end ";
    size_t cut = len && out[len - 1] == '\n' ? len - 1 : len;
    while (cut > 0 && out[cut - 1] != '\n')
        cut--;
    return len - cut >= sizeof END - 1 && !memcmp(out + cut, END, sizeof END - 1) ? cut : len;
}

/* The answer after the command's output (or the head of it that fits), into ans
 * (ANSWER_TEXT_MAX + 1 bytes): its length, 0 when not even the output's first line fits the
 * context (no answer), -1 on an error (x->err). */
static int decode_answer(struct exchange *x, const char *output, size_t output_len, char *ans, int *eos)
{
    static int32_t tail[TOKENS_MAX];
    slm_model *m = x->sh->model;
    int n = 0, k, cmd_tokens = x->cmd_tokens; /* the command's <|end|> is fed with the tail */
    int context = (int)x->sh->info.context;
    tail[n++] = ctx.ids[T_END];
    tail[n++] = ctx.ids[T_OUTPUT];
    int room = context - x->prompt_tokens - cmd_tokens - 3 - REQUEST_ANSWER_ROOM;
    room = room < TOKENS_MAX - 3 ? room : TOKENS_MAX - 3;
    output_len = fit_output(x, output, read_len(output, output_len), tail + n, room, &k);
    if (!output_len)
        return 0;
    n += k;
    tail[n++] = ctx.ids[T_ANSWER];
    int max_tokens = context - x->prompt_tokens - cmd_tokens - n;
    max_tokens = max_tokens < REQUEST_ANSWER_TOKENS ? max_tokens : REQUEST_ANSWER_TOKENS;
    x->pos = x->prompt_tokens + cmd_tokens;
    if (feed(x, tail, n) < 0)
        return -1;
    uint64_t t0 = plat_time_us();
    answer_words(output, output_len);
    x->busy_us += plat_time_us() - t0;
    size_t len = 0, whole = 0; /* whole: the length where the answer last could end */
    for (int i = 0; i < max_tokens; i++) {
        t0 = plat_time_us();
        int32_t best = best_fitting(x, ans, len);
        if (best >= 0 && best != ctx.ids[T_END]) {
            size_t plen;
            const char *piece = slm_token_piece(m, best, &plen);
            memcpy(ans + len, piece, plen);
            len += plen;
            whole = answer_complete(ans, len) ? len : whole;
        }
        x->busy_us += plat_time_us() - t0;
        if (best < 0)
            break;
        x->out[x->generated++] = best;
        if (best == ctx.ids[T_END]) {
            *eos = 1;
            break;
        }
        if (i + 1 < max_tokens && feed(x, &best, 1) < 0)
            return -1;
    }
    len = whole;     /* an answer stopped where it may not end: cut back to where it may */
    size_t from = 0; /* the pieces are printable: only spaces to strip */
    while (from < len && ans[from] == ' ')
        from++;
    while (len > from && ans[len - 1] == ' ')
        len--;
    memmove(ans, ans + from, len - from);
    ans[len - from] = '\0';
    return (int)(len - from);
}

int request_serve(struct shell *sh, const char *line)
{
    static struct exchange x;
    static char text[COMMAND_MAX], run[COMMAND_MAX], output[OUTPUT_MAX], ans[ANSWER_TEXT_MAX + 1];
    if (!sh->model || !find_chat_tokens(sh->model))
        return -1;
    x = (struct exchange){.sh = sh};
    int eos = 0, got = 0;
    if (decode_command(&x, line, text) < 0) {
        kprintf("auton: error: %s\n", x.err);
        return 0;
    }
    kputs("auton: command ");
    kputs(text);
    kputs("\n");
    if (!memcmp(text, "none", 5)) {
        eos = 1;
        kputs("auton: answer ");
        kputs(REFUSAL);
        kputs("\n");
    } else {
        size_t out_len;
        memcpy(run, text, strlen(text) + 1);
        kcapture(output, sizeof output, &out_len);
        int rc = console_command(sh, run);
        kcapture(NULL, 0, NULL);
        if (rc < 0) { /* cannot happen: every command of the grammar is a console command */
            kputs("auton: error: the command is not a console command\n");
            return 0;
        }
        got = decode_answer(&x, output, out_len < sizeof output ? out_len : sizeof output, ans, &eos);
        if (got < 0) {
            kprintf("auton: error: %s\n", x.err);
            return 0;
        }
        if (got > 0) {
            kputs("auton: answer ");
            kputs(ans);
            kputs("\n");
        }
    }
    slm_stats st = {.prompt_tokens = x.prompt_tokens,
                    .generated_tokens = x.generated,
                    .stopped_at_eos = eos,
                    .prefill_us = x.prefill_us,
                    .decode_us = x.busy_us - x.prefill_us};
    shell_print_stats(sh, &st, x.out, x.generated);
    return 0;
}
