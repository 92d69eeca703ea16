#include "unicode.h"

int unicode_class(uint32_t cp)
{
    if (cp > 0x10ffff)
        return UC_UNDEFINED;
    uint32_t lo = 0, hi = unicode_class_nruns; /* find the last run starting at or before cp */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((unicode_class_runs[mid] >> 2) <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return (int)(unicode_class_runs[lo] & 3);
}

int unicode_is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

size_t utf8_len(uint8_t c)
{
    static const uint8_t lens[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lens[c >> 4];
}

static int cont(const uint8_t *t, size_t len, size_t i)
{
    return i < len && (t[i] & 0xc0) == 0x80;
}

uint32_t utf8_next(const uint8_t *t, size_t len, size_t *pos)
{
    size_t i = *pos;
    uint8_t c = t[i];
    if (!(c & 0x80)) {
        *pos = i + 1;
        return c;
    }
    if ((c & 0xe0) == 0xc0 && cont(t, len, i + 1)) {
        *pos = i + 2;
        return ((uint32_t)(c & 0x1f) << 6) | (t[i + 1] & 0x3f);
    }
    if ((c & 0xf0) == 0xe0 && cont(t, len, i + 1) && cont(t, len, i + 2)) {
        *pos = i + 3;
        return ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(t[i + 1] & 0x3f) << 6) | (t[i + 2] & 0x3f);
    }
    if ((c & 0xf8) == 0xf0 && cont(t, len, i + 1) && cont(t, len, i + 2) && cont(t, len, i + 3)) {
        *pos = i + 4;
        return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(t[i + 1] & 0x3f) << 12) | ((uint32_t)(t[i + 2] & 0x3f) << 6) |
               (t[i + 3] & 0x3f);
    }
    *pos = i + 1;
    return 0xfffd;
}

size_t utf8_decode(const uint8_t *t, size_t len, uint32_t *out)
{
    size_t n = 0, i = 0;
    while (i < len)
        out[n++] = utf8_next(t, len, &i);
    return n;
}

size_t utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | ((cp >> 18) & 0x07));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Codepoint classes seen by the split; positions past the end read as "no class". */
typedef struct {
    const uint32_t *cps;
    size_t n;
} span;

enum { F_LETTER = 1, F_NUMBER = 2, F_SPACE = 4, F_DEFINED = 8 };

static int flags_at(span s, size_t i)
{
    if (i >= s.n)
        return 0;
    int c = unicode_class(s.cps[i]);
    int f = c == UC_LETTER ? F_LETTER : c == UC_NUMBER ? F_NUMBER : 0;
    if (unicode_is_space(s.cps[i]))
        f |= F_SPACE;
    if (c != UC_UNDEFINED)
        f |= F_DEFINED;
    return f;
}

static int is_punct_run(int f)
{
    return !(f & (F_SPACE | F_LETTER | F_NUMBER)) && (f & F_DEFINED);
}

size_t gpt2_split(const uint32_t *cps, size_t n, uint32_t *lens)
{
    span s = {cps, n};
    size_t words = 0, start = 0, pos = 0;
#define CUT(end)                                                                                                       \
    do {                                                                                                               \
        if ((end) > start)                                                                                             \
            lens[words++] = (uint32_t)((end)-start);                                                                   \
        start = (end);                                                                                                 \
    } while (0)
    while (pos < n) {
        uint32_t c = cps[pos];
        /* 's 't 're 've 'm 'll 'd */
        if (c == '\'' && pos + 1 < n) {
            uint32_t c1 = cps[pos + 1];
            if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') {
                pos += 2;
                CUT(pos);
                continue;
            }
            if (pos + 2 < n) {
                uint32_t c2 = cps[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                    pos += 3;
                    CUT(pos);
                    continue;
                }
            }
        }
        int f = flags_at(s, c == ' ' ? pos + 1 : pos);
        if (f & F_LETTER) { /* ' ?\p{L}+' */
            pos += c == ' ';
            while (flags_at(s, pos) & F_LETTER)
                pos++;
            CUT(pos);
            continue;
        }
        if (f & F_NUMBER) { /* ' ?\p{N}+' */
            pos += c == ' ';
            while (flags_at(s, pos) & F_NUMBER)
                pos++;
            CUT(pos);
            continue;
        }
        if (is_punct_run(f)) { /* ' ?[^\s\p{L}\p{N}]+' */
            pos += c == ' ';
            while (is_punct_run(flags_at(s, pos)))
                pos++;
            CUT(pos);
            continue;
        }
        size_t spaces = 0;
        while (flags_at(s, pos + spaces) & F_SPACE)
            spaces++;
        if (spaces > 1 && pos + spaces < n) { /* '\s+(?!\S)': leave the last space to the next word */
            pos += spaces - 1;
            CUT(pos);
            continue;
        }
        if (spaces > 0) {
            pos += spaces;
            CUT(pos);
            continue;
        }
        pos++; /* no match: a word of its own */
        CUT(pos);
    }
#undef CUT
    return words;
}

/* Bytes GPT-2 keeps as themselves: '!'..'~', 0xA1..0xAC, 0xAE..0xFF; the other 68 map to
 * U+0100 onwards in byte order. */
static int printable(uint32_t b)
{
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

uint32_t gpt2_byte_to_cp(uint8_t b)
{
    if (printable(b))
        return b;
    uint32_t n = 0;
    for (uint32_t i = 0; i < b; i++)
        n += !printable(i);
    return 256 + n;
}

int gpt2_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return printable(cp) ? (int)cp : -1;
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; b++)
        if (!printable(b) && 256 + n++ == cp)
            return (int)b;
    return -1;
}
