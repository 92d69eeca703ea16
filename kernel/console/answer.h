/* Grounded answers (tools/task/answers.py AnswerWords, mirrored): what an answer read off a
 * command's output may say. Its words are frame words (the sentence frames' own words, as
 * written, in lower case or capitalised) and the output's words and their ','/'/' parts, exactly
 * as written; a word is a run of letters and digits with inner _.:@/+,'- characters. Between
 * two words stands a frame separator (" ", ", ", ": ") or one that stands between two words of
 * the output on one line (no '\n', no two spaces); before the first word at most a space, after
 * the last nothing or a full stop. A word is used at most twice, or as often as the output has
 * it. The set is one output's at a time, built in static buffers (no allocation). */
#ifndef AUTON_ANSWER_H
#define AUTON_ANSWER_H

#include <stddef.h>

#define ANSWER_OUTPUT_MAX 16384 /* the longest output an answer is read off */
#define ANSWER_TEXT_MAX   4096  /* the longest answer text checked; a longer one never fits */

/* The word set of output[0..len) (len <= ANSWER_OUTPUT_MAX; beyond is cut). The output is
 * referred to, not copied: it must stay in place while answers are checked against it. */
void answer_words(const char *output, size_t len);

/* text[0..n) is a prefix of a grounded answer: its last word (with the inner characters after
 * it) can still grow into an allowed word, or that word is whole too and what follows it starts
 * a separator or the end (AnswerWords.could_start). */
int answer_could_start(const char *text, size_t n);

/* text[0..n) may end here: it all fits, and it ends in a word or a full stop
 * (AnswerWords.complete). */
int answer_complete(const char *text, size_t n);

#endif
