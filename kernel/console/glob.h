/* Shell-style wildcard matching as modprobe applies modules.alias patterns (fnmatch with no
 * flags): '*' any run of bytes, '?' one byte, '[...]' a set ('!' or '^' negates, 'a-z' ranges,
 * a leading ']' is literal), '\' quotes the next byte. An unclosed '[' is a plain byte. */
#ifndef AUTON_GLOB_H
#define AUTON_GLOB_H

#include <stddef.h>

int glob_match(const char *pat, size_t plen, const char *s, size_t slen);

#endif
