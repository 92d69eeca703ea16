/* Requests (docs/console.md, "Requests"): a console line that is not a command, served by a
 * chat-tuned model (tools/tune/chat.py). The model writes one command, decoded greedily under
 * a mask that keeps it a valid command of this machine (tools/task/completions.py); the kernel
 * prints and runs it, then the model reads its output and writes a one-sentence answer. */
#ifndef AUTON_REQUEST_H
#define AUTON_REQUEST_H

#include <stddef.h>

#include "console.h"

#define REQUEST_COMMAND_TOKENS 48 /* the command's token budget, <|end|> included */
#define REQUEST_ANSWER_TOKENS  64 /* the answer's, <|end|> included, unless the context ends first */
#define REQUEST_ANSWER_ROOM    48 /* what the output leaves for the answer (tools/tune/chat.py ANSWER_ROOM) */

/* Serve `line` as a request: 0 when done (the lines below printed), -1 when the model has no
 * chat tokens (the caller then generates freely, as before). */
int request_serve(struct shell *sh, const char *line);

#endif
