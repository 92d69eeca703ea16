"""Tuning batches: task exchanges (padded, loss on the model's turns) and pretraining windows.

Step ``s`` (1-based) is a pretraining step when ``floor(s * f) > floor((s - 1) * f)`` for the
pretraining fraction ``f`` (:func:`in_share`); task batch ``k`` is command-only by the same rule
for the command share. So every cursor is a function of the step alone and a resumed run sees
exactly the batches an uninterrupted one would. A command-only batch cuts each exchange after
the model's first turn (request -> command): about a fifth of a whole exchange's positions, so
it carries ``command_factor`` times as many requests for about the cost of a whole batch.
Exchanges are visited once per epoch of their pool in an order that depends on (seed, pool,
epoch) only, as tools.train.data does for windows.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from tokenizers import Tokenizer

from tools.dataset import PAD_ID
from tools.errors import InputError
from tools.task.build import TaskExample
from tools.tune.chat import IGNORE, ChatIds, encode_exchange


def steps_in_share(step: int, fraction: float) -> int:
    """How many of steps 1..step fall in a share ``fraction`` of the steps."""
    return math.floor(step * fraction + 1e-9)


def in_share(step: int, fraction: float) -> bool:
    return steps_in_share(step, fraction) > steps_in_share(step - 1, fraction)


def encode_examples(
    tok: Tokenizer, ids: ChatIds, examples: list[TaskExample], context: int, answers: bool
) -> list[tuple[list[int], list[bool]]]:
    out = []
    for e in examples:
        enc = encode_exchange(
            tok, ids, e.request, e.command, e.output, e.answer if answers else None, context
        )
        if enc is not None:
            out.append(enc)
    if not out:
        raise InputError(f"no task example fits the model's context of {context} tokens")
    return out


def collate(seqs: list[tuple[list[int], list[bool]]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) padded to the longest sequence; labels are IGNORE where nothing is learned."""
    width = max(len(s) for s, _ in seqs) - 1
    x = torch.full((len(seqs), width), PAD_ID, dtype=torch.long)
    y = torch.full((len(seqs), width), IGNORE, dtype=torch.long)
    for row, (s, learn) in enumerate(seqs):
        t = torch.tensor(s, dtype=torch.long)
        x[row, : len(s) - 1] = t[:-1]
        keep = torch.tensor(learn[1:], dtype=torch.bool)
        y[row, : len(s) - 1] = torch.where(keep, t[1:], torch.full_like(t[1:], IGNORE))
    return x, y


def command_only(seq: list[int], learn: list[bool]) -> tuple[list[int], list[bool]]:
    """The exchange cut after the model's first turn (its command and ``<|end|>``)."""
    first = learn.index(True)
    end = next((i for i in range(first, len(learn)) if not learn[i]), len(learn))
    return seq[:end], learn[:end]


class TaskBatches:
    """Task batch ``k`` (0-based): whole exchanges, or in a share ``command_share`` of the
    batches, ``command_factor`` times as many exchanges cut to request -> command."""

    def __init__(
        self,
        seqs: list[tuple[list[int], list[bool]]],
        seed: int,
        command_share: float = 0.0,
        command_factor: int = 4,
    ):
        self.pools = (seqs, [command_only(s, learn) for s, learn in seqs] if command_share else [])
        self.seed = seed
        self.command_share, self.command_factor = command_share, command_factor
        self._order = lru_cache(maxsize=4)(self._epoch_order)

    def _epoch_order(self, pool: int, epoch: int) -> np.ndarray:
        return np.random.default_rng((self.seed, pool, epoch)).permutation(len(self.pools[pool]))

    def _picks(self, pool: int, start: int, count: int) -> list[tuple[list[int], list[bool]]]:
        seqs = self.pools[pool]
        picks = []
        for s in range(start, start + count):
            epoch, pos = divmod(s, len(seqs))
            picks.append(seqs[int(self._order(pool, epoch)[pos])])
        return picks

    def consumed(self, k: int, size: int) -> int:
        """Exchanges in task batches 0..k-1."""
        shorts = steps_in_share(k, self.command_share)
        return (k - shorts) * size + shorts * size * self.command_factor

    def batch(self, k: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        shorts = steps_in_share(k, self.command_share)  # command-only batches before this one
        if in_share(k + 1, self.command_share):
            n = size * self.command_factor
            return collate(self._picks(1, shorts * n, n))
        return collate(self._picks(0, (k - shorts) * size, size))
