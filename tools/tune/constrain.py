"""Greedy decoding that can only write a valid command: a token mask from the completions automaton.

At each step the allowed tokens are those whose text walks the automaton of
tools/task/completions.py from the current state (joint walk of a trie of the vocabulary's
token texts and the automaton), and ``<|end|>`` when the state is terminal. A token is allowed
only if the command can still be finished within the token budget (the state's ``dist``
characters, one token each at worst, plus ``<|end|>``), so decoding always ends in a valid
command. This is the reference the kernel's C decoder mirrors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tokenizers import Tokenizer

from tools.errors import InputError
from tools.task.answers import AnswerWords
from tools.task.completions import State

BUDGET_CAP = 128  # budgets beyond this constrain nothing more (no name is that long)


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-unicode map, inverted: a byte-level BPE token's characters -> bytes."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def token_texts(tok: Tokenizer) -> dict[int, str]:
    """id -> the text a token writes, for the tokens that write printable ASCII (the only ones a
    command can hold); special tokens are left out. Byte-level BPE and SentencePiece vocabularies."""
    decoder = (json.loads(tok.to_str()).get("decoder") or {}).get("type")
    special = {a.content for a in tok.get_added_tokens_decoder().values() if a.special}
    out: dict[int, str] = {}
    bytemap = _byte_decoder() if decoder == "ByteLevel" else None
    if bytemap is None and decoder not in ("Metaspace", "Sequence"):
        raise InputError(
            f"constrained decoding needs a byte-level BPE or SentencePiece tokenizer (decoder {decoder})"
        )
    for piece, i in tok.get_vocab().items():
        if piece in special:
            continue
        if bytemap is not None:
            if any(ch not in bytemap for ch in piece):
                continue
            text = bytes(bytemap[ch] for ch in piece).decode("latin-1")
        elif piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6:
            text = chr(int(piece[3:5], 16))
        else:
            text = piece.replace("\u2581", " ")
        if text and text.isascii() and text.isprintable():
            out[i] = text
    return out


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)


class TokenMask:
    """The allowed next tokens of a tokenizer from an automaton state, cached per (state, budget)."""

    def __init__(self, tok: Tokenizer, end_id: int):
        self.end_id = end_id
        self.root = _Node()
        for i, text in token_texts(tok).items():
            node = self.root
            for ch in text:
                node = node.children.setdefault(ch, _Node())
            node.ids.append(i)
        self._cache: dict[tuple[int, int], tuple[torch.Tensor, list[State | None]]] = {}

    def allowed(self, state: State, budget: int) -> tuple[torch.Tensor, list[State | None]]:
        """(allowed ids, the state each leads to; None for ``<|end|>``) with ``budget`` tokens
        left, ``<|end|>`` included."""
        key = (state.uid, min(budget, BUDGET_CAP))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        ids: list[int] = []
        nexts: list[State | None] = []
        stack = [(self.root, state)]
        while stack:
            node, s = stack.pop()
            for ch, child in node.children.items():
                t = s.edges.get(ch)
                if t is None:
                    continue
                if child.ids and t.dist + 1 <= budget - 1:
                    ids += child.ids
                    nexts += [t] * len(child.ids)
                if child.children:
                    stack.append((child, t))
        if state.terminal:
            ids.append(self.end_id)
            nexts.append(None)
        hit = (torch.tensor(ids, dtype=torch.long), nexts)
        self._cache[key] = hit
        return hit


def decode_command(
    next_logits: Callable[[int | None], torch.Tensor], start: State, mask: TokenMask, max_tokens: int
) -> list[int]:
    """Greedy constrained decoding: ``next_logits(None)`` gives the logits after the prompt,
    ``next_logits(id)`` after feeding ``id``. Returns the command's ids, ``<|end|>`` excluded."""
    if start.dist + 1 > max_tokens:
        raise InputError(f"max_tokens {max_tokens} is too few for any command")
    out: list[int] = []
    state: State | None = start
    logits = next_logits(None)
    while state is not None:
        ids, nexts = mask.allowed(state, max_tokens - len(out))
        best = int(torch.argmax(logits[ids]))
        choice = int(ids[best])
        state = nexts[best]
        if state is None:
            break
        out.append(choice)
        logits = next_logits(choice)
    return out


def decode_answer(
    next_logits: Callable[[int | None], torch.Tensor],
    words: AnswerWords,
    texts: dict[int, str],
    end_id: int,
    max_tokens: int,
) -> list[int]:
    """Greedy decoding of a grounded answer (tools.task.answers.AnswerWords): the best token
    whose text keeps the answer a prefix of a grounded one, or ``<|end|>`` where the answer may
    end. Tokens are tried best first (ties: the lower id), so the choice is the argmax over the
    allowed ones without building the mask. Stops at ``<|end|>``, at ``max_tokens``, or when no
    token may follow; an answer stopped where it may not end is cut back to the longest start
    of it that may. Returns the answer's ids, ``<|end|>`` excluded."""
    out: list[int] = []
    text = ""
    whole = 0  # len(out) where the answer last could end
    logits = next_logits(None)
    while len(out) < max_tokens:
        order = torch.argsort(logits, descending=True, stable=True).tolist()
        choice = next(
            (
                t
                for t in order
                if (
                    words.complete(text) if t == end_id else t in texts and words.could_start(text + texts[t])
                )
            ),
            None,
        )
        if choice == end_id:
            return out
        if choice is None:
            break
        out.append(choice)
        text += texts[choice]
        whole = len(out) if words.complete(text) else whole
        if len(out) < max_tokens:
            logits = next_logits(choice)
    return out[:whole]
