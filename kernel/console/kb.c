/* The knowledge blob reader: section table, line iteration, binary search over line starts. */
#include "kb.h"
#include "fmt.h"
#include "kernel.h"

static const char MAGIC[] = "AUTONKB 1\n";

/* A decimal number at p (no sign), advancing p; -1 if none or too big. */
static int64_t number(const char **p, const char *end)
{
    int64_t v = 0;
    const char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9' && v < (1ll << 40))
        v = v * 10 + (*(*p)++ - '0');
    return *p == s || v >= (1ll << 40) ? -1 : v;
}

int kb_open(struct kb *kb, const void *blob, size_t size, char *err, size_t errlen)
{
    const char *b = blob, *p = b, *end = b + size;
    memset(kb, 0, sizeof *kb);
    if (size == 0)
        return 0;
    if (size < sizeof MAGIC - 1 || memcmp(b, MAGIC, sizeof MAGIC - 1) != 0) {
        slm_snprintf(err, errlen, "the blob does not start with 'AUTONKB 1'");
        return -1;
    }
    p += sizeof MAGIC - 1;
    for (;;) {
        if (end - p >= 4 && !memcmp(p, "@end", 4)) {
            kb->size = size;
            return 0;
        }
        if (end - p < 10 || memcmp(p, "@section ", 9) != 0)
            break;
        p += 9;
        const char *name = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        size_t name_len = (size_t)(p - name);
        int64_t lines = -1, bytes = -1;
        if (p < end && *p == ' ' && ++p && (lines = number(&p, end)) >= 0 && p < end && *p == ' ' && ++p)
            bytes = number(&p, end);
        if (bytes < 0 || p >= end || *p != '\n' || !name_len || (int64_t)(end - p - 1) < bytes)
            break;
        p++;
        if (bytes && p[bytes - 1] != '\n')
            break;
        if (kb->n == KB_MAX_SECTIONS) {
            slm_snprintf(err, errlen, "more than %d sections", KB_MAX_SECTIONS);
            kb->n = 0;
            return -1;
        }
        kb->sec[kb->n++] = (struct kb_section){name, p, name_len, (size_t)bytes, (uint32_t)lines};
        p += bytes;
    }
    slm_snprintf(err, errlen, "malformed section table at byte %zu", (size_t)(p - b));
    kb->n = 0;
    return -1;
}

const struct kb_section *kb_section(const struct kb *kb, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < kb->n; i++)
        if (kb->sec[i].name_len == n && !memcmp(kb->sec[i].name, name, n))
            return &kb->sec[i];
    return NULL;
}

uint32_t kb_lines(const struct kb *kb, const char *name)
{
    const struct kb_section *s = kb_section(kb, name);
    return s ? s->lines : 0;
}

static void split(struct kb_line *l)
{
    const char *p = l->s, *e = l->s + l->len;
    l->nf = 0;
    while (l->nf < KB_MAX_FIELDS) {
        const char *f = p;
        if (l->nf < KB_MAX_FIELDS - 1)
            while (p < e && *p != '\t')
                p++;
        else
            p = e;
        l->f[l->nf] = f;
        l->flen[l->nf++] = (size_t)(p - f);
        if (p >= e)
            break;
        p++;
    }
}

int kb_next(const struct kb_section *sec, size_t *off, struct kb_line *line)
{
    if (*off >= sec->len)
        return -1;
    const char *s = sec->data + *off, *e = s, *end = sec->data + sec->len;
    while (e < end && *e != '\n')
        e++;
    line->s = s;
    line->len = (size_t)(e - s);
    *off = (size_t)(e - sec->data) + 1;
    split(line);
    return 0;
}

/* Compare a line's first field (ending at '\t' or '\n') with key, in byte order. */
static int compare_key(const char *s, const char *end, const char *key, size_t klen)
{
    for (size_t i = 0;; i++, s++) {
        int c = s < end && *s != '\t' && *s != '\n' ? (uint8_t)*s : -1;
        int k = i < klen ? (uint8_t)key[i] : -1;
        if (c != k || c < 0)
            return c - k;
    }
}

size_t kb_lower_bound(const struct kb_section *sec, const char *key, size_t klen)
{
    const char *d = sec->data, *end = d + sec->len;
    size_t lo = 0, hi = sec->len; /* lines starting before lo are < key, those at hi or after >= key */
    while (lo < hi) {
        size_t s = lo + (hi - lo) / 2;
        while (s > lo && d[s - 1] != '\n')
            s--;
        if (compare_key(d + s, end, key, klen) < 0) {
            while (s < sec->len && d[s] != '\n')
                s++;
            lo = s + 1;
        } else {
            hi = s;
        }
    }
    return lo;
}

int kb_find(const struct kb *kb, const char *section, const char *key, size_t klen, struct kb_line *line)
{
    const struct kb_section *sec = kb_section(kb, section);
    if (!sec)
        return -1;
    size_t off = kb_lower_bound(sec, key, klen);
    if (kb_next(sec, &off, line) != 0 || !kb_field_is(line, 0, key, klen))
        return -1;
    return 0;
}

int kb_field_is(const struct kb_line *line, int i, const char *s, size_t n)
{
    return i < line->nf && line->flen[i] == n && !memcmp(line->f[i], s, n);
}
