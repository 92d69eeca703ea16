"""Warmup-stable-decay LR, and a schedule length sized from the throughput of the run itself.

Under a wall-clock budget the number of steps is unknown at the start. The LR warms up, then
holds at its peak; the length is set from the measured rate (steps per second of this process,
checkpoints and validation included) after the warmup and re-estimated at every log while the
LR is still stable. Once the decay has begun, the length is fixed, so the decay always runs to
its end. The estimate is kept in ``schedule.json`` of the run so a resumed run continues it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tools.artifacts import atomic_write_json, read_json
from tools.train.optim import decay_left, decay_start

SCHEDULE = "schedule.json"


class Schedule(BaseModel):
    lr: float
    warmup_steps: int
    decay_fraction: float
    total_steps: int | None = None  # None until sized
    max_steps: int | None = None  # a hard cap (the request's max_steps)
    budget_s: float | None = None
    elapsed_s: float = 0.0  # wall time spent by earlier processes of this run

    def decay_start(self) -> int | None:
        if self.total_steps is None:
            return None
        return decay_start(self.total_steps, self.decay_fraction)

    def lr_at(self, step: int) -> float:
        """LR of 1-based optimizer step ``step``: the warmup, then the decay of tools.train.optim's
        warmup-stable-decay, down to 0."""
        if self.warmup_steps and step <= self.warmup_steps:
            return self.lr * step / self.warmup_steps
        if self.total_steps is None:
            return self.lr
        return self.lr * decay_left(step - 1, self.total_steps, self.decay_fraction)

    def resize(
        self, step: int, elapsed_s: float, steps_this_process: int, seconds_this_process: float
    ) -> None:
        """Re-estimate the length from the rate so far, unless the decay has begun."""
        if self.budget_s is None:
            return
        start = self.decay_start()
        if start is not None and step >= start:
            return
        if steps_this_process < 1 or seconds_this_process <= 0:
            return
        rate = steps_this_process / seconds_this_process
        total = step + int(max(0.0, self.budget_s - elapsed_s) * rate)
        if self.max_steps is not None:
            total = min(total, self.max_steps)
        self.total_steps = max(total, step + 1)

    def done(self, step: int) -> bool:
        return self.total_steps is not None and step >= self.total_steps

    def save(self, run_dir: Path) -> None:
        atomic_write_json(run_dir / SCHEDULE, self)

    @classmethod
    def load(cls, run_dir: Path) -> Schedule:
        return cls.model_validate(read_json(run_dir / SCHEDULE))
