/* The Unicode that the tokenizers need: UTF-8 decoding as llama.cpp does it, codepoint classes
 * for the GPT-2 pre-tokenizer, its split into words, and GPT-2's byte <-> codepoint map. */
#ifndef AUTON_UNICODE_H
#define AUTON_UNICODE_H

#include <stddef.h>
#include <stdint.h>

enum { UC_UNDEFINED = 0, UC_LETTER = 1, UC_NUMBER = 2, UC_OTHER = 3 };

extern const uint32_t unicode_class_runs[];
extern const uint32_t unicode_class_nruns;

int unicode_class(uint32_t cp);
int unicode_is_space(uint32_t cp); /* the White_Space property */

/* Bytes of the UTF-8 sequence that starts with byte c, judged from its high bits (1..4). */
size_t utf8_len(uint8_t c);

/* Decode the codepoint at t[*pos] (pos < len) and advance *pos: an invalid sequence yields
 * U+FFFD and skips one byte, as llama.cpp's unicode_cpts_from_utf8 does. */
uint32_t utf8_next(const uint8_t *t, size_t len, size_t *pos);

/* Decode text into codepoints (out has room for len); returns the count. */
size_t utf8_decode(const uint8_t *text, size_t len, uint32_t *out);

/* Encode one codepoint (<= 0x10FFFF); returns the bytes written (1..4) to out[4]. */
size_t utf8_encode(uint32_t cp, uint8_t *out);

/* GPT-2's pre-tokenizer regex, as llama.cpp implements it:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * Writes the length (in codepoints) of each word of cps[0..n) to lens; returns the count. */
size_t gpt2_split(const uint32_t *cps, size_t n, uint32_t *lens);

/* GPT-2's reversible byte -> printable codepoint map, and its inverse (-1 if none). */
uint32_t gpt2_byte_to_cp(uint8_t b);
int gpt2_cp_to_byte(uint32_t cp);

#endif
