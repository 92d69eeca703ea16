"""``metrics.jsonl`` of a run: one JSON object per line, appended and flushed as training goes.

Record shapes (every record has ``event``, ``step`` and ``time``, seconds since the epoch):

- ``{"event": "start", "step": 0, "params": N, "device": "cpu", "precision": "bf16", "world_size": 1,
  "tokens_per_step": T, "max_steps": S, "peak_flops": F}``; on ``--resume`` the same with
  ``"event": "resume"`` and the step resumed from;
- ``{"event": "train", "step": s, "loss": l, "ppl": exp(l), "lr": lr, "grad_norm": g,
  "tokens_seen": n, "tokens_per_s": t, "mfu": m, "epoch": e}``: ``loss``/``grad_norm`` are means
  over the steps since the previous train record (``step`` is the last of them);
- ``{"event": "val", "step": s, "val_loss": l, "val_ppl": exp(l), "best": bool}``;
- ``{"event": "checkpoint", "step": s, "path": "step_000000s0", "best": bool}``;
- ``{"event": "nan", "step": s, "what": "loss"|"grad", "action": "rollback", "to_step": k,
  "lr_scale": f}`` (the LR scale from then on, tools.train.divergence), or with
  ``"action": "abort"`` when the rollback budget is spent;
- ``{"event": "sized", "step": s, "max_steps": S, "step_s": t, "budget_s": b}``: a run with a time
  budget fitted its schedule to it at the step time measured over its first steps;
- ``{"event": "interrupted", "step": s, "signal": "SIGTERM"}``; ``{"event": "end", "step": s, ...}``.

When a run rolls back or resumes to step k, train and val records after k are dropped from
the file (they describe a trajectory that no longer exists), so the loss curve never has
duplicate steps; the nan/resume records stay as the history of what happened.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from tools.artifacts import atomic_write_text

CURVE_EVENTS = ("train", "val", "checkpoint")


def ppl(loss: float) -> float:
    return math.exp(min(loss, 50.0))


class MetricsLog:
    def __init__(self, path: str | Path, enabled: bool = True):
        self.path = Path(path)
        self.enabled = enabled

    def write(self, event: str, step: int, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "step": step, "time": round(time.time(), 3), **fields}
        if self.enabled:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return record

    def records(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def truncate_after(self, step: int) -> None:
        """Drop curve records (train/val/checkpoint) after ``step``; keep every other event."""
        if not self.enabled or not self.path.exists():
            return
        kept = [r for r in self.records() if r["event"] not in CURVE_EVENTS or r["step"] <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Records of a metrics.jsonl file; a torn last line (killed writer) is skipped."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
