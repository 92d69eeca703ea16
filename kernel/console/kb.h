/* The knowledge blob (docs/console.md, "Knowledge tables"): text sections of tab-separated
 * lines, found by name and searched in place, with no allocation. */
#ifndef AUTON_KB_H
#define AUTON_KB_H

#include <stddef.h>
#include <stdint.h>

#define KB_MAX_SECTIONS 16
#define KB_MAX_FIELDS   4

struct kb_section {
    const char *name, *data; /* name is not NUL-terminated */
    size_t name_len, len;    /* data: len bytes of lines, each ending in '\n' */
    uint32_t lines;
};

struct kb {
    size_t size;
    struct kb_section sec[KB_MAX_SECTIONS];
    int n;
};

/* One line without its '\n', split at tabs into at most KB_MAX_FIELDS fields (the last field
 * keeps any further tabs). */
struct kb_line {
    const char *s;
    size_t len;
    const char *f[KB_MAX_FIELDS];
    size_t flen[KB_MAX_FIELDS];
    int nf;
};

/* Parse the blob's section table. An empty blob (size 0) is an empty kb. Returns 0, or -1 with
 * a one-line message in err (the kb is then empty). */
int kb_open(struct kb *kb, const void *blob, size_t size, char *err, size_t errlen);

/* The section called `name`, or NULL. */
const struct kb_section *kb_section(const struct kb *kb, const char *name);
uint32_t kb_lines(const struct kb *kb, const char *name); /* 0 when absent */

/* The line at byte offset *off of the section, advancing *off past it; 0, or -1 at the end. */
int kb_next(const struct kb_section *sec, size_t *off, struct kb_line *line);

/* Byte offset of the first line whose first field is >= key (byte order): a binary search over
 * a sorted section. */
size_t kb_lower_bound(const struct kb_section *sec, const char *key, size_t klen);

/* The first line of a sorted section whose first field equals key: 0, or -1 if none. */
int kb_find(const struct kb *kb, const char *section, const char *key, size_t klen, struct kb_line *line);

/* Does field i of the line equal s[0..n)? */
int kb_field_is(const struct kb_line *line, int i, const char *s, size_t n);

#endif
