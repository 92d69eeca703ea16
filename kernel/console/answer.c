/* The word set of an output and the grounded-answer checks over it (answer.h). Sets are sorted
 * arrays of spans into their text, searched by binary search; the checks rescan the answer
 * text each time (it is short). */
#include "answer.h"

#include "kernel.h"

#define REPEATS  2 /* AnswerWords.REPEATS */
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* tools/task/answers.py FRAME_WORDS, sorted (tests/test_console_request.py checks the two agree) */
static const char FRAME_WORDS[][11] = {
    "All",       "And",     "Are",     "At",       "Been",       "Bridge",  "By",     "CPUs",    "Can",     "Command",
    "Device",    "Devices", "Display", "Driven",   "Driver",     "Drivers", "Entry",  "Example", "For",     "Found",
    "Free",      "Has",     "I",       "ISA",      "In",         "Input",   "Is",     "It",      "Look",    "Machine",
    "Machine's", "Manual",  "Match",   "Matches",  "Memory",     "MiB",     "Model",  "Network", "No",      "Of",
    "Only",      "Other",   "Package", "Packages", "Parameters", "Rng",     "Serial", "Ships",   "Sorry",   "Storage",
    "System",    "The",     "There",   "This",     "Up",         "Usb",     "Use",    "Uses",    "Were",    "With",
    "all",       "and",     "are",     "at",       "been",       "bridge",  "by",     "can",     "command", "cpus",
    "device",    "devices", "display", "driven",   "driver",     "drivers", "entry",  "example", "for",     "found",
    "free",      "has",     "i",       "in",       "input",      "is",      "isa",    "it",      "look",    "machine",
    "machine's", "manual",  "match",   "matches",  "memory",     "mib",     "model",  "network", "no",      "of",
    "only",      "other",   "package", "packages", "parameters", "rng",     "serial", "ships",   "sorry",   "storage",
    "system",    "the",     "there",   "this",     "up",         "usb",     "use",    "uses",    "were",    "with"};
static const char *const SEPARATORS[] = {" ", ", ", ": "}; /* FRAME_SEPARATORS */
static const char *const ENDS[] = {"", "."};

struct span {
    uint16_t off, len;
};

/* Strings of base at the spans v[0..n), in byte order (duplicates kept). */
struct sorted {
    const char *base;
    struct span *v;
    int n;
};

/* A text of ANSWER_OUTPUT_MAX bytes has at most (ANSWER_OUTPUT_MAX + 1) / 2 words (one byte
 * between two), and words with their ','/'/' parts at most ANSWER_OUTPUT_MAX + 1 (a word of m
 * bytes has at most (m + 1) / 2 parts). */
static struct span frame_v[COUNT(FRAME_WORDS)], have_v[ANSWER_OUTPUT_MAX + 2], uses_v[ANSWER_OUTPUT_MAX / 2 + 1],
    seps_v[ANSWER_OUTPUT_MAX / 2 + 1], found[ANSWER_TEXT_MAX / 2 + 1];
static struct sorted frame = {FRAME_WORDS[0], frame_v, 0};
static struct sorted have = {0, have_v, 0}; /* the output's words and their parts */
static struct sorted uses = {0, uses_v, 0}; /* the output's words, each as often as it has it */
static struct sorted seps = {0, seps_v, 0}; /* the strings between two words on one line */

static int is_inner(char c)
{
    return c == '_' || c == '.' || c == ':' || c == '@' || c == '/' || c == '+' || c == ',' || c == '\'' || c == '-';
}

/* The next word of s[*at..n) (_WORD, as re.finditer finds it): from the next letter or digit,
 * the run of letters, digits and inner characters there up to its last letter or digit. */
static int next_word(const char *s, size_t n, size_t *at, struct span *w)
{
    size_t i = *at;
    while (i < n && !is_alnum(s[i]))
        i++;
    if (i == n)
        return 0;
    size_t end = i + 1;
    w->off = (uint16_t)i;
    for (; i < n && (is_alnum(s[i]) || is_inner(s[i])); i++)
        if (is_alnum(s[i]))
            end = i + 1;
    w->len = (uint16_t)(end - w->off);
    *at = end;
    return 1;
}

static int order(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int span_order(const char *base, struct span a, struct span b)
{
    return order(base + a.off, a.len, base + b.off, b.len);
}

/* Heapsort: in place, no allocation, O(n log n) at worst. */
static void sift(struct sorted *s, int root, int n)
{
    for (int child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && span_order(s->base, s->v[child], s->v[child + 1]) < 0)
            child++;
        if (span_order(s->base, s->v[root], s->v[child]) >= 0)
            return;
        struct span t = s->v[root];
        s->v[root] = s->v[child];
        s->v[child] = t;
    }
}

static void sort(struct sorted *s)
{
    for (int i = s->n / 2 - 1; i >= 0; i--)
        sift(s, i, s->n);
    for (int end = s->n - 1; end > 0; end--) {
        struct span t = s->v[0];
        s->v[0] = s->v[end];
        s->v[end] = t;
        sift(s, 0, end);
    }
}

/* The first index whose string is not before str[0..n). */
static int lower_bound(const struct sorted *s, const char *str, size_t n)
{
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (order(s->base + s->v[mid].off, s->v[mid].len, str, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* How many strings of s start with str[0..n) (exact: equal str), counted up to `enough`. */
static int starting(const struct sorted *s, const char *str, size_t n, int exact, int enough)
{
    int count = 0;
    for (int i = lower_bound(s, str, n); i < s->n && count < enough; i++, count++) {
        struct span w = s->v[i];
        if (w.len < n || (exact && w.len != n) || memcmp(s->base + w.off, str, n))
            break;
    }
    return count;
}

static int in_list(const char *const *list, size_t count, const char *s, size_t n, int prefix)
{
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(list[i]);
        if ((prefix ? len >= n : len == n) && !memcmp(list[i], s, n))
            return 1;
    }
    return 0;
}

/* s[0..n) holds no line end and no two spaces (a table's column gap). */
static int one_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == ' ' && i + 1 < n && s[i + 1] == ' '))
            return 0;
    return 1;
}

void answer_words(const char *output, size_t len)
{
    if (len > ANSWER_OUTPUT_MAX)
        len = ANSWER_OUTPUT_MAX;
    for (frame.n = 0; frame.n < (int)COUNT(FRAME_WORDS); frame.n++)
        frame_v[frame.n] =
            (struct span){(uint16_t)(frame.n * sizeof FRAME_WORDS[0]), (uint16_t)strlen(FRAME_WORDS[frame.n])};
    have.base = uses.base = seps.base = output;
    have.n = uses.n = seps.n = 0;
    struct span w, prev = {0, 0};
    for (size_t at = 0; next_word(output, len, &at, &w); prev = w) {
        have_v[have.n++] = uses_v[uses.n++] = w;
        for (size_t i = w.off, from = i, end = i + w.len; i <= end; i++)
            if (i == end || output[i] == ',' || output[i] == '/') {
                if (i > from && i - from < w.len)
                    have_v[have.n++] = (struct span){(uint16_t)from, (uint16_t)(i - from)};
                from = i + 1;
            }
        size_t from = prev.off + prev.len;
        if (uses.n > 1 && one_line(output + from, w.off - from))
            seps_v[seps.n++] = (struct span){(uint16_t)from, (uint16_t)(w.off - from)};
    }
    sort(&have);
    sort(&uses);
    sort(&seps);
}

/* The words of text[0..n) into found; how many. */
static int scan(const char *text, size_t n)
{
    int k = 0;
    for (size_t at = 0; next_word(text, n, &at, &found[k]);)
        k++;
    return k;
}

static int allowed(const char *w, size_t n)
{
    return starting(&have, w, n, 1, 1) || starting(&frame, w, n, 1, 1);
}

static int separator(const char *s, size_t n)
{
    return in_list(SEPARATORS, COUNT(SEPARATORS), s, n, 0) || starting(&seps, s, n, 1, 1);
}

/* AnswerWords._fits over the k words of text in found: the first `closed` are allowed and none
 * is used more than max(REPEATS, the output's count); before the first at most a space, and
 * between each two a separator. */
static int fits(const char *text, int k, int closed)
{
    if (k && found[0].off > (text[0] == ' '))
        return 0;
    for (int i = 1; i < k; i++) {
        size_t end = found[i - 1].off + found[i - 1].len;
        if (!separator(text + end, found[i].off - end))
            return 0;
    }
    for (int i = 0; i < closed; i++) {
        const char *w = text + found[i].off;
        int same = 1;
        if (!allowed(w, found[i].len))
            return 0;
        for (int j = 0; j < i; j++)
            same += found[j].len == found[i].len && !memcmp(text + found[j].off, w, found[i].len);
        if (same > REPEATS && starting(&uses, w, found[i].len, 1, same) < same)
            return 0;
    }
    return 1;
}

int answer_could_start(const char *text, size_t n)
{
    if (n > ANSWER_TEXT_MAX)
        return 0;
    int k = scan(text, n);
    if (!k)
        return n == 0 || (n == 1 && text[0] == ' ');
    size_t start = found[k - 1].off, end = start + found[k - 1].len, i = end;
    while (i < n && is_inner(text[i]))
        i++;
    if (i == n && (starting(&have, text + start, n - start, 0, 1) || starting(&frame, text + start, n - start, 0, 1)))
        return fits(text, k, k - 1);
    return fits(text, k, k) &&
           (in_list(SEPARATORS, COUNT(SEPARATORS), text + end, n - end, 1) ||
            in_list(ENDS, COUNT(ENDS), text + end, n - end, 1) || starting(&seps, text + end, n - end, 0, 1));
}

int answer_complete(const char *text, size_t n)
{
    if (n > ANSWER_TEXT_MAX)
        return 0;
    int k = scan(text, n);
    if (!k)
        return 0;
    size_t end = found[k - 1].off + found[k - 1].len;
    return fits(text, k, k) && in_list(ENDS, COUNT(ENDS), text + end, n - end, 0);
}
