"""The checkpoint contract (DESIGN.md).

A training run directory ``SLM/models/checkpoints/<run>/`` holds:

- ``config.yaml``: the ModelConfig the run trains; ``launch.sh``: the command that started it;
- ``metrics.jsonl``: one JSON object per logged event (train steps, validation, NaN events);
- ``step_<N>/`` (N zero-padded to 8 digits): ``model.safetensors`` + HF ``config.json``
  (loadable with ``LlamaForCausalLM.from_pretrained``), ``tokenizer.json``,
  ``optimizer.pt`` and ``trainer_state.json`` (step, tokens seen, data cursor, RNG states);
- ``latest`` and ``best``: symlinks to step directories, replaced atomically;
- ``manifest.json``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tools.errors import InputError

STEP_RE = re.compile(r"^step_(\d{8})$")
LATEST, BEST = "latest", "best"
WEIGHTS = "model.safetensors"
METRICS = "metrics.jsonl"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER = "optimizer.pt"


def step_dir_name(step: int) -> str:
    return f"step_{step:08d}"


def step_dirs(run_dir: str | Path) -> list[Path]:
    """Complete step directories of a run, oldest first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [p for p in run_dir.iterdir() if STEP_RE.match(p.name) and (p / WEIGHTS).is_file()]
    return sorted(found, key=lambda p: p.name)


def set_pointer(run_dir: str | Path, name: str, target: Path) -> None:
    """Point ``run_dir/name`` at ``target`` (a step dir inside run_dir) with an atomic rename."""
    run_dir = Path(run_dir)
    tmp = run_dir / f".{name}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target.name, tmp)
    os.replace(tmp, run_dir / name)


def resolve_checkpoint(path: str | Path, prefer: str = BEST) -> Path:
    """Turn a run directory or a step directory into the step directory to load.

    ``prefer`` picks the pointer of a run directory (``best`` for evaluation and export,
    ``latest`` for resuming); a run without that pointer falls back to its newest step.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such checkpoint")
    if (p / WEIGHTS).is_file():
        return p
    for name in (prefer, LATEST, BEST):
        ptr = p / name
        if ptr.exists() and (ptr / WEIGHTS).is_file():
            return ptr.resolve()
    steps = step_dirs(p)
    if steps:
        return steps[-1]
    raise InputError(f"{p}: not a checkpoint (no {WEIGHTS}, no {LATEST}/{BEST} pointer, no step_* dirs)")


def load_model(path: str | Path, prefer: str = BEST, dtype=None):
    """Load an HF LlamaForCausalLM from a run or step directory, in eval mode, on the CPU."""
    import torch
    from transformers import LlamaForCausalLM

    step = resolve_checkpoint(path, prefer)
    try:
        model = LlamaForCausalLM.from_pretrained(step, dtype=dtype or torch.float32)
    except Exception as e:  # safetensors/transformers raise many types for a corrupt file
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise InputError(f"{step}: cannot load model ({first})") from None
    model.eval()
    return model
