/* The package commands over the kb blob: provides, whatis, pkg show, pkg search. Lookups are
 * binary searches of the sorted sections; `pkg search` intersects the word index's ascending
 * posting lists; nothing allocates. */
#include "console.h"
#include "kernel.h"

#define SEARCH_SHOWN  20
#define SHOW_COMMANDS 32

/* A header value: bare when it is one plain word, else quoted. */
static void con_value(const char *s, size_t n)
{
    int plain = n > 0;
    for (size_t i = 0; i < n; i++)
        plain &= s[i] != '"' && s[i] != ' ' && (uint8_t)s[i] >= 0x20 && s[i] != 0x7f;
    if (plain)
        kwrite(s, n);
    else
        con_quoted(s, n);
}

/* The section, or NULL after telling the user the table is missing. */
static const struct kb_section *need(const struct shell *sh, const char *section)
{
    const struct kb_section *sec = kb_section(&sh->kb, section);
    if (!sec)
        kprintf("this kernel has no '%s' table (built without KB=, or the kb lacks it)\n", section);
    return sec;
}

static int one_word(const char *command, struct words *a, const char *what)
{
    if (a->n == 2)
        return 0;
    return con_error(command, "%s takes one %s", command, what);
}

int cmd_provides(struct shell *sh, struct words *a)
{
    if (one_word("provides", a, "COMMAND"))
        return 2;
    const char *c = a->w[1];
    size_t cn = strlen(c);
    struct kb_line l;
    int found = kb_find(&sh->kb, "cmd", c, cn, &l) == 0 && l.nf >= 2;
    int count = 0;
    for (size_t i = 0; found && i < l.flen[1]; i++)
        count += i == 0 || l.f[1][i] == ',';
    kputs("auton: provides command=");
    con_value(c, cn);
    kprintf(" count=%d packages=", count);
    if (found)
        kwrite(l.f[1], l.flen[1]);
    kputs("\n");
    if (!need(sh, "cmd"))
        return con_end("provides", 1);
    if (!found) {
        kprintf("no package in the archive ships a command '%s'\n", c);
        return con_end("provides", 1);
    }
    kprintf("%s: ", c);
    for (size_t i = 0; i < l.flen[1]; i++)
        kputs(l.f[1][i] == ',' ? ", " : (char[2]){l.f[1][i], 0});
    kputs("\n");
    return con_end("provides", 0);
}

int cmd_whatis(struct shell *sh, struct words *a)
{
    if (one_word("whatis", a, "COMMAND"))
        return 2;
    const char *c = a->w[1];
    size_t cn = strlen(c), off0 = 0, off;
    const struct kb_section *sec = kb_section(&sh->kb, "whatis");
    struct kb_line l;
    int count = 0;
    if (sec) {
        off0 = off = kb_lower_bound(sec, c, cn);
        while (kb_next(sec, &off, &l) == 0 && kb_field_is(&l, 0, c, cn))
            count++;
    }
    kputs("auton: whatis command=");
    con_value(c, cn);
    kprintf(" count=%d\n", count);
    if (!need(sh, "whatis"))
        return con_end("whatis", 1);
    if (!count)
        kprintf("%s: nothing appropriate\n", c);
    off = off0;
    for (int i = 0; i < count && kb_next(sec, &off, &l) == 0; i++)
        kprintf("%.*s (%.*s) - %.*s\n", (int)l.flen[0], l.f[0], l.nf > 1 ? (int)l.flen[1] : 0, l.f[1],
                l.nf > 2 ? (int)l.flen[2] : 0, l.f[2]);
    return con_end("whatis", count ? 0 : 1);
}

/* Is `name` one of the comma-separated packages in field f? */
static int list_has(const char *f, size_t n, const char *name, size_t nn)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && f[j] != ',')
            j++;
        if (j - i == nn && !memcmp(f + i, name, nn))
            return 1;
        i = j + 1;
    }
    return 0;
}

static int pkg_show(struct shell *sh, const char *name)
{
    size_t nn = strlen(name);
    struct kb_line l;
    int found = kb_find(&sh->kb, "pkg", name, nn, &l) == 0;
    kputs("auton: pkg show name=");
    con_value(name, nn);
    kprintf(" found=%d\n", found);
    if (!need(sh, "pkg"))
        return con_end("pkg", 1);
    if (!found) {
        kprintf("no package '%s' in the archive index\n", name);
        return con_end("pkg", 1);
    }
    kprintf("Package: %s\nDescription: %.*s\nCommands:", name, l.nf > 1 ? (int)l.flen[1] : 0, l.f[1]);
    const struct kb_section *cmds = kb_section(&sh->kb, "cmd");
    int n = 0;
    struct kb_line c;
    for (size_t off = 0; cmds && kb_next(cmds, &off, &c) == 0;)
        if (c.nf >= 2 && list_has(c.f[1], c.flen[1], name, nn) && n++ < SHOW_COMMANDS)
            kprintf("%s%.*s", n > 1 ? ", " : " ", (int)c.flen[0], c.f[0]);
    if (n > SHOW_COMMANDS)
        kprintf(" ... (%d in all)", n);
    kputs(n ? "\n" : " -\n");
    return con_end("pkg", 0);
}

struct postings {
    const char *p, *end;
    uint64_t cur; /* UINT64_MAX once exhausted */
};

static void postings_next(struct postings *s)
{
    while (s->p < s->end && (*s->p < '0' || *s->p > '9'))
        s->p++;
    if (s->p >= s->end) {
        s->cur = UINT64_MAX;
        return;
    }
    uint64_t v = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9' && v < (1ull << 40))
        v = v * 10 + (uint64_t)(*s->p++ - '0');
    s->cur = v;
}

static int pkg_search(struct shell *sh, struct words *a)
{
    static char words[SEARCH_WORDS][CONSOLE_LINE_MAX / 4];
    struct postings list[SEARCH_WORDS];
    uint64_t shown[SEARCH_SHOWN];
    int nw = a->n - 2, count = 0, nshown = 0, missing = 0;
    if (nw < 1)
        return con_error("pkg", "pkg search needs at least one WORD");
    if (nw > SEARCH_WORDS)
        return con_error("pkg", "pkg search takes at most %d words", SEARCH_WORDS);
    for (int i = 0; i < nw; i++) {
        size_t n = strlen(a->w[i + 2]);
        if (n >= sizeof words[i])
            return con_error("pkg", "word %d is too long", i + 1);
        for (size_t j = 0; j <= n; j++) {
            char ch = a->w[i + 2][j];
            words[i][j] = to_lower(ch);
        }
        struct kb_line l;
        if (kb_find(&sh->kb, "word", words[i], n, &l) != 0 || l.nf < 2) {
            missing = 1;
            continue;
        }
        list[i] = (struct postings){l.f[1], l.f[1] + l.flen[1], 0};
        postings_next(&list[i]);
    }
    /* the intersection: advance every list to the largest current value until all agree */
    while (!missing) {
        uint64_t top = 0;
        for (int i = 0; i < nw; i++)
            top = list[i].cur > top ? list[i].cur : top;
        if (top == UINT64_MAX)
            break;
        int agree = 1;
        for (int i = 0; i < nw; i++) {
            while (list[i].cur < top)
                postings_next(&list[i]);
            agree &= list[i].cur == top;
        }
        if (!agree)
            continue;
        if (nshown < SEARCH_SHOWN)
            shown[nshown++] = top;
        count++;
        postings_next(&list[0]);
    }
    const struct kb_section *pkg = kb_section(&sh->kb, "pkg");
    kputs("auton: pkg search words=\"");
    for (int i = 0; i < nw; i++)
        kprintf("%s%s", i ? " " : "", words[i]);
    kprintf("\" count=%d shown=%d\n", count, pkg ? nshown : 0);
    if (!need(sh, "word") || !need(sh, "pkg"))
        return con_end("pkg", 1);
    struct kb_line l;
    uint64_t line = 0;
    for (size_t off = 0, k = 0; k < (size_t)nshown && kb_next(pkg, &off, &l) == 0; line++)
        for (; k < (size_t)nshown && shown[k] == line; k++)
            kprintf("%.*s - %.*s\n", (int)l.flen[0], l.f[0], l.nf > 1 ? (int)l.flen[1] : 0, l.f[1]);
    if (!count)
        kputs("no package matches all the words\n");
    return con_end("pkg", count ? 0 : 1);
}

int cmd_pkg(struct shell *sh, struct words *a)
{
    if (a->n >= 2 && !strncmp(a->w[1], "show", 5)) {
        if (a->n != 3)
            return con_error("pkg", "pkg show takes one package NAME");
        return pkg_show(sh, a->w[2]);
    }
    if (a->n >= 2 && !strncmp(a->w[1], "search", 7))
        return pkg_search(sh, a);
    return con_error("pkg", "pkg needs 'show NAME' or 'search WORD...'");
}
