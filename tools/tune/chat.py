"""The chat format of the tuned model: special tokens, the sequence layout and its Jinja template.

One exchange is::

    <s><|request|>REQUEST<|command|>COMMAND<|end|><|output|>OUTPUT<|answer|>ANSWER<|end|>

REQUEST is the typed line with its ASCII letters lowercased (:func:`fold`): case carries nothing a
command needs, and a tiny model that saw "SHOW THE DISKS" as rarely as its pretraining text has
capitals would read it as a new request. The arguments keep the typed case, since they are copied
from the typed line itself (tools/task/completions.py). The model's own turns are COMMAND<|end|>
and ANSWER<|end|>; only they carry loss. The kernel
(and llama.cpp through :data:`CHAT_TEMPLATE`) prompts with everything up to ``<|command|>``,
stops at ``<|end|>``, runs the command, appends ``<|output|>OUTPUT<|answer|>`` (OUTPUT is empty
for ``none``) and generates the answer up to the next ``<|end|>``.

OUTPUT is what the command printed less its closing ``auton: end command=... rc=N`` line
(:func:`read_output`): the model wrote the command itself, and the header line already tells what
was found (``found=0``, ``count=0``). An OUTPUT too long for the context is cut to its longest
head of whole lines that leaves :data:`ANSWER_ROOM` tokens for the answer (:func:`fit_output`);
the header line comes first and holds the counts and names most answers need.

The special tokens are added to the pretrained tokenizer at tune time (after its vocabulary,
so every pretraining id keeps its meaning) and the embedding grows to match
(:func:`extend_tokenizer`); the GGUF export carries them as control tokens.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from tokenizers import AddedToken, Tokenizer

from tools.dataset import BOS_ID
from tools.task.answers import AnswerWords

REQUEST, COMMAND, END, OUTPUT, ANSWER = "<|request|>", "<|command|>", "<|end|>", "<|output|>", "<|answer|>"
CHAT_TOKENS = (REQUEST, COMMAND, END, OUTPUT, ANSWER)
IGNORE = -100  # label of a position that carries no loss
# tokens the output leaves for the answer (kernel/console/request.h REQUEST_ANSWER_ROOM): 99% of
# the task's answers are shorter; one may run on to the context's end
ANSWER_ROOM = 48
END_LINE = "auton: end "  # the start of the line that closes every command's output

_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Jinja's `lower` folds every script's capitals; the kernel folds ASCII only, and so does this
_FOLD_JINJA = "".join(f" | replace('{c}', '{c.lower()}')" for c in string.ascii_uppercase)

# messages: user (the request), assistant (the command), tool (the command's output), assistant
# (the answer). The prompt after a user or tool message already ends where the model writes.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}" + REQUEST + "{{ message['content']" + _FOLD_JINJA + " }}" + COMMAND + "{% endif %}"
    "{% if message['role'] == 'tool' %}" + OUTPUT + "{{ message['content'] }}" + ANSWER + "{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ message['content'] }}" + END + "{% endif %}"
    "{% endfor %}"
)


@dataclass(frozen=True)
class ChatIds:
    request: int
    command: int
    end: int
    output: int
    answer: int


def extend_tokenizer(tok: Tokenizer) -> ChatIds:
    """Add the chat tokens (special, matched in raw text) unless the tokenizer has them; their ids."""
    missing = [t for t in CHAT_TOKENS if tok.token_to_id(t) is None]
    if missing:
        tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in missing])
    return chat_ids(tok)


def chat_ids(tok: Tokenizer) -> ChatIds:
    ids = [tok.token_to_id(t) for t in CHAT_TOKENS]
    if None in ids:
        raise ValueError("tokenizer lacks the chat tokens (run extend_tokenizer)")
    return ChatIds(*ids)  # type: ignore[arg-type]


def encode_text(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False).ids


def fold(request: str) -> str:
    """The request as the model reads it: ASCII capitals lowercased (kernel/console/request.c
    decode_command folds the same way)."""
    return request.translate(_FOLD)


def command_prompt(tok: Tokenizer, ids: ChatIds, request: str) -> list[int]:
    """What the model sees before it writes the command."""
    return [BOS_ID, ids.request, *encode_text(tok, fold(request)), ids.command]


def answer_prompt(tok: Tokenizer, ids: ChatIds, output: str) -> list[int]:
    """What follows the model's ``COMMAND<|end|>`` before it writes the answer."""
    return [ids.output, *encode_text(tok, output), ids.answer]


def read_output(output: str) -> str:
    """A command's output as the model reads it: without a last line that starts ``auton: end``
    (kernel/console/request.c read_len)."""
    body = output[:-1] if output.endswith("\n") else output
    cut = body.rfind("\n") + 1
    return output[:cut] if body.startswith(END_LINE, cut) else output


def fit_output(tok: Tokenizer, output: str, context: int, before: int) -> str | None:
    """The output the model reads before its answer (:func:`read_output`), after ``before``
    tokens of prompt and command (its ``<|end|>`` not counted): all of it when its tokens leave ANSWER_ROOM of the
    context after ``<|end|><|output|>`` and ``<|answer|>``, else its longest head of whole lines
    that does, found by a binary search over the line count (kernel/console/request.c searches
    the same way), or None when not even the first line fits. Like the kernel's tokenizer, a
    text of more than max(4 * context, 1024) bytes does not fit (kernel/runtime/slm.c)."""
    output = read_output(output)
    room, max_bytes = context - before - 3 - ANSWER_ROOM, min(max(4 * context, 1024), 65536)

    def fits(text: str) -> bool:
        return room > 0 and len(text.encode()) <= max_bytes and len(encode_text(tok, text)) <= room

    if fits(output):
        return output
    ends = [i + 1 for i, c in enumerate(output) if c == "\n" and i + 1 < len(output)]
    lo, hi = 0, len(ends) + 1  # the head of lo lines fits (none: 0); of hi, the whole, does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(output[: ends[mid - 1]]) else (lo, mid)
    return output[: ends[lo - 1]] if lo else None


def encode_exchange(
    tok: Tokenizer, ids: ChatIds, request: str, command: str, output: str, answer: str | None, context: int
) -> tuple[list[int], list[bool]] | None:
    """Token ids of one exchange and, per id, whether the model learns to write it. The output
    is what :func:`fit_output` leaves of it. Without ``answer``, or when the answer does not fit
    or is not grounded in what is left of the output, only request -> command; None when even
    that does not fit."""
    head = command_prompt(tok, ids, request)
    body = encode_text(tok, command)
    cmd = [*body, ids.end]
    seq, learn = head + cmd, [False] * len(head) + [True] * len(cmd)
    seen = fit_output(tok, output, context, len(head) + len(body)) if answer is not None else None
    whole = seen == read_output(output)
    if answer is not None and seen is not None and (whole or AnswerWords(seen).complete(answer)):
        tail_prompt = answer_prompt(tok, ids, seen)
        ans = [*encode_text(tok, answer), ids.end]
        if len(seq) + len(tail_prompt) + len(ans) <= context + 1:
            seq, learn = seq + tail_prompt + ans, learn + [False] * len(tail_prompt) + [True] * len(ans)
    return (seq, learn) if len(seq) <= context + 1 else None
