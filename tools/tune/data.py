"""Tuning batches: task exchanges (padded, loss on the model's turns) and pretraining windows.

Step ``s`` (1-based) is a pretraining step when ``floor(s * f) > floor((s - 1) * f)`` for the
pretraining fraction ``f``, so both cursors are functions of the step alone and a resumed run
sees exactly the batches an uninterrupted one would. Task exchanges are visited once per epoch
in an order that depends on (seed, epoch) only, as tools.train.data does for windows.
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


def pretrain_steps(step: int, fraction: float) -> int:
    """How many of steps 1..step are pretraining steps."""
    return math.floor(step * fraction + 1e-9)


def is_pretrain_step(step: int, fraction: float) -> bool:
    return pretrain_steps(step, fraction) > pretrain_steps(step - 1, fraction)


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


class TaskBatches:
    def __init__(self, seqs: list[tuple[list[int], list[bool]]], seed: int):
        self.seqs = seqs
        self.seed = seed
        self._order = lru_cache(maxsize=2)(self._epoch_order)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng((self.seed, epoch)).permutation(len(self.seqs))

    def batch(self, cursor: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks = []
        for s in range(cursor, cursor + size):
            epoch, pos = divmod(s, len(self.seqs))
            picks.append(self.seqs[int(self._order(epoch)[pos])])
        return collate(picks)
