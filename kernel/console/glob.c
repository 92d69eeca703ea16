/* fnmatch-like matching (glob.h) with one backtrack point per '*': O(len(pat) * len(s)). */
#include "glob.h"

/* Match byte c against the set starting at pat[i] == '['. Returns 1/0, and sets *next past the
 * set; -1 if the set is not closed. */
static int in_set(const char *pat, size_t plen, size_t i, unsigned char c, size_t *next)
{
    size_t j = i + 1;
    int negate = j < plen && (pat[j] == '!' || pat[j] == '^'), hit = 0;
    if (negate)
        j++;
    for (size_t first = j; j < plen && (pat[j] != ']' || j == first);) {
        unsigned char lo = (unsigned char)pat[j], hi = lo;
        if (lo == '\\' && j + 1 < plen)
            lo = hi = (unsigned char)pat[++j];
        j++;
        if (j + 1 < plen && pat[j] == '-' && pat[j + 1] != ']') {
            hi = (unsigned char)pat[j + 1];
            if (hi == '\\' && j + 2 < plen)
                hi = (unsigned char)pat[++j + 1];
            j += 2;
        }
        if (c >= lo && c <= hi)
            hit = 1;
    }
    if (j >= plen)
        return -1;
    *next = j + 1;
    return hit != negate;
}

int glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0, star_p = 0, star_i = 0;
    int star = 0;
    while (i < slen) {
        if (p < plen) {
            char c = pat[p];
            size_t next = p + 1;
            int hit;
            if (c == '*') {
                star = 1;
                star_p = ++p;
                star_i = i;
                continue;
            }
            if (c == '?') {
                hit = 1;
            } else if (c == '[' && (hit = in_set(pat, plen, p, (unsigned char)s[i], &next)) >= 0) {
                /* hit set by in_set */
            } else {
                if (c == '\\' && p + 1 < plen) {
                    c = pat[p + 1];
                    next = p + 2;
                }
                hit = c == s[i];
            }
            if (hit) {
                p = next;
                i++;
                continue;
            }
        }
        if (!star)
            return 0;
        p = star_p;
        i = ++star_i;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
