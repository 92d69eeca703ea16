"""Token batches drawn from a memory-mapped token stream, addressed by a cursor.

The train stream is cut into windows of ``context + 1`` tokens (inputs and shifted targets).
Each epoch visits every window once in a shuffled order, with the window grid shifted by a
random offset so that the model sees different cut points across epochs; order and offset are
functions of (seed, epoch) only. A batch is therefore a pure function of the cursor (the number
of sequences consumed so far over all processes): saving the cursor is enough to resume the
exact data order, and process ``rank`` of ``world`` takes its own slice of each global batch.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from tools.errors import InputError


class TrainWindows:
    def __init__(self, tokens: np.ndarray, context: int, seed: int):
        self.tokens = tokens
        self.context = context
        self.seed = seed
        # one window is kept spare so that any shift in [0, context) stays inside the stream
        self.n_windows = (len(tokens) - 1) // context - 1
        if self.n_windows < 1:
            raise InputError(
                f"train split has {len(tokens)} tokens: too few for context {context} (need {2 * context + 1})"
            )
        self._epoch = lru_cache(maxsize=2)(self._epoch_plan)

    def _epoch_plan(self, epoch: int) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng((self.seed, epoch))
        return rng.permutation(self.n_windows), int(rng.integers(self.context))

    def starts(self, first: int, count: int) -> np.ndarray:
        """Start offsets of sequences ``first .. first+count-1`` in the global order."""
        out = np.empty(count, dtype=np.int64)
        for i, s in enumerate(range(first, first + count)):
            epoch, pos = divmod(s, self.n_windows)
            order, shift = self._epoch(epoch)
            out[i] = int(order[pos]) * self.context + shift
        return out

    def batch(
        self, cursor: int, batch_size: int, rank: int = 0, world: int = 1
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's (inputs, targets) of the global batch that starts at ``cursor``;
        the global batch holds ``batch_size * world`` sequences."""
        starts = self.starts(cursor + rank * batch_size, batch_size)
        return gather(self.tokens, starts, self.context)

    def epoch_of(self, cursor: int) -> float:
        return cursor / self.n_windows


def gather(tokens: np.ndarray, starts: np.ndarray, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = starts[:, None] + np.arange(context + 1)[None, :]
    seq = torch.from_numpy(np.asarray(tokens[idx], dtype=np.int64))
    return seq[:, :-1], seq[:, 1:]


def val_batches(tokens: np.ndarray, context: int, batch_size: int, n_batches: int) -> list[np.ndarray]:
    """Start offsets of a fixed set of validation batches: consecutive windows from the start,
    as many as the split holds up to ``n_batches`` full batches (at least one, maybe short)."""
    n_windows = (len(tokens) - 1) // context
    if n_windows < 1:
        raise InputError(f"val split has {len(tokens)} tokens: too few for context {context}")
    starts = np.arange(min(n_windows, batch_size * n_batches), dtype=np.int64) * context
    return [starts[i : i + batch_size] for i in range(0, len(starts), batch_size)]
