/* libFuzzer target over the request side of the console that needs no model (console/request.c,
 * included here so its static parts can be reached): the input's first line is the request a
 * person typed (cut at CONSOLE_LINE_MAX - 1 bytes, no NULs, as kreadline does), whose words the
 * decoder may copy (find_named); the rest is a command line the model might write, every prefix
 * of which is checked against the grammar at several token budgets (reach). The same rest is
 * also an answer, every prefix of which is checked (answer_could_start, answer_complete) against
 * the word set of the whole input taken as a command's output, so that the answer's words are
 * often the output's own; an answer that may end must be one that may go on. The whole input is
 * also a captured output whose closing line the model does not read (read_len). The machine has
 * one device of each address form (PCI, virtio-mmio, a device-tree node with and without a unit
 * address), so the addresses a request types are found (find_addresses) and completed. The kb is
 * the real blob when $AUTON_FUZZ_KB names one. */
#include "fuzz_common.h"

#include "request.c" /* with answer.h */

static const char *const ADDRESSES[] = {"00:01.0", "virtio@10008000", "flash@20000000", "pmu"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[CONSOLE_LINE_MAX], text[COMMAND_MAX];
    fuzz_setup();
    if (!hw_inv.n)
        for (size_t a = 0; a < sizeof ADDRESSES / sizeof ADDRESSES[0]; a++)
            snprintf(hw_add()->addr, sizeof hw_inv.dev[0].addr, "%s", ADDRESSES[a]);
    size_t i = 0, n = 0;
    for (; i < size && data[i] != '\n'; i++)
        if (n + 1 < sizeof line && data[i])
            line[n++] = (char)data[i];
    line[n] = '\0';
    find_named(&fuzz_shell, line);
    size_t t = 0;
    for (i++; i < size && t < sizeof text; i++)
        text[t++] = (char)data[i];
    for (size_t k = 0; k <= t; k++)
        for (int limit = 0; limit <= 48; limit += 12)
            (void)reach(text, k, limit);
    if (read_len((const char *)data, size) > size)
        abort();
    answer_words((const char *)data, size);
    for (size_t k = 0; k <= t; k++)
        if (answer_complete(text, k) && !answer_could_start(text, k))
            abort();
    return 0;
}
