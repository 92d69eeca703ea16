"""Tuning batches: task exchanges (packed into rows, loss on the model's turns) and pretraining windows.

Step ``s`` (1-based) is a pretraining step when ``floor(s * f) > floor((s - 1) * f)`` for the
pretraining fraction ``f`` (:func:`in_share`); task batch ``k`` is command-only by the same rule
for the command share. So every cursor is a function of the step alone and a resumed run sees
exactly the batches an uninterrupted one would. A command-only batch cuts each exchange after
the model's first turn (request -> command): about a fifth of a whole exchange's positions, so
it carries ``command_factor`` times as many requests in fewer positions than a whole batch.
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


def pack(
    seqs: list[tuple[list[int], list[bool]]], context: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, labels, positions) of exchanges packed first-fit into rows of at most ``context``
    positions; labels are IGNORE where nothing is learned and positions restart at 0 with each
    exchange, so :func:`packed_mask` keeps every exchange to itself and its loss is what it
    would be alone in a padded row, for about half the positions of one."""
    rows: list[list[tuple[list[int], list[bool]]]] = []
    fill: list[int] = []
    for s, learn in seqs:
        n = len(s) - 1
        if n > context:
            raise ValueError(f"an exchange of {n} positions does not fit a context of {context}")
        r = next((i for i, f in enumerate(fill) if f + n <= context), len(rows))
        if r == len(rows):
            rows.append([])
            fill.append(0)
        rows[r].append((s, learn))
        fill[r] += n
    width = max(fill)
    x = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    y = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    for row, segments in enumerate(rows):
        at = 0
        for s, learn in segments:
            t = torch.tensor(s, dtype=torch.long)
            n = len(s) - 1
            x[row, at : at + n] = t[:-1]
            keep = torch.tensor(learn[1:], dtype=torch.bool)
            y[row, at : at + n] = torch.where(keep, t[1:], torch.full_like(t[1:], IGNORE))
            pos[row, at : at + n] = torch.arange(n)
            at += n
    return x, y, pos


def packed_mask(pos: torch.Tensor) -> torch.Tensor:
    """The (rows, 1, width, width) attention mask of packed rows: causal within each exchange (a
    run of positions from 0), nothing across; a padding position sees only itself."""
    segment = torch.cumsum(pos == 0, dim=-1)
    causal = torch.tril(torch.ones(pos.size(1), pos.size(1), dtype=torch.bool, device=pos.device))
    return ((segment[:, :, None] == segment[:, None, :]) & causal)[:, None]


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

    def batch(self, k: int, size: int, context: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Task batch ``k`` packed (:func:`pack`) into rows of ``context`` positions."""
        shorts = steps_in_share(k, self.command_share)  # command-only batches before this one
        if in_share(k + 1, self.command_share):
            n = size * self.command_factor
            return pack(self._picks(1, shorts * n, n), context)
        return pack(self._picks(0, (k - shorts) * size, size), context)
