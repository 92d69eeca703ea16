"""The chat format of the tuned model: special tokens, the sequence layout and its Jinja template.

One exchange is::

    <s><|request|>REQUEST<|command|>COMMAND<|end|><|output|>OUTPUT<|answer|>ANSWER<|end|>

The model's own turns are COMMAND<|end|> and ANSWER<|end|>; only they carry loss. The kernel
(and llama.cpp through :data:`CHAT_TEMPLATE`) prompts with everything up to ``<|command|>``,
stops at ``<|end|>``, runs the command, appends ``<|output|>OUTPUT<|answer|>`` (OUTPUT is empty
for ``none``) and generates the answer up to the next ``<|end|>``.

The special tokens are added to the pretrained tokenizer at tune time (after its vocabulary,
so every pretraining id keeps its meaning) and the embedding grows to match
(:func:`extend_tokenizer`); the GGUF export carries them as control tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenizers import AddedToken, Tokenizer

from tools.dataset import BOS_ID

REQUEST, COMMAND, END, OUTPUT, ANSWER = "<|request|>", "<|command|>", "<|end|>", "<|output|>", "<|answer|>"
CHAT_TOKENS = (REQUEST, COMMAND, END, OUTPUT, ANSWER)
IGNORE = -100  # label of a position that carries no loss

# messages: user (the request), assistant (the command), tool (the command's output), assistant
# (the answer). The prompt after a user or tool message already ends where the model writes.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}" + REQUEST + "{{ message['content'] }}" + COMMAND + "{% endif %}"
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


def command_prompt(tok: Tokenizer, ids: ChatIds, request: str) -> list[int]:
    """What the model sees before it writes the command."""
    return [BOS_ID, ids.request, *encode_text(tok, request), ids.command]


def answer_prompt(tok: Tokenizer, ids: ChatIds, output: str) -> list[int]:
    """What follows the model's ``COMMAND<|end|>`` before it writes the answer."""
    return [ids.output, *encode_text(tok, output), ids.answer]


def encode_exchange(
    tok: Tokenizer, ids: ChatIds, request: str, command: str, output: str, answer: str | None, context: int
) -> tuple[list[int], list[bool]] | None:
    """Token ids of one exchange and, per id, whether the model learns to write it. Without
    ``answer``, or when the whole exchange does not fit ``context``, only request -> command;
    None when even that does not fit."""
    head = command_prompt(tok, ids, request)
    cmd = [*encode_text(tok, command), ids.end]
    seq, learn = head + cmd, [False] * len(head) + [True] * len(cmd)
    if answer is not None:
        tail_prompt = answer_prompt(tok, ids, output)
        ans = [*encode_text(tok, answer), ids.end]
        if len(seq) + len(tail_prompt) + len(ans) <= context + 1:
            seq, learn = seq + tail_prompt + ans, learn + [False] * len(tail_prompt) + [True] * len(ans)
    return (seq, learn) if len(seq) <= context + 1 else None
