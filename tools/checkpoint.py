"""The checkpoint contract (docs/artifacts.md).

A training run directory ``SLM/models/checkpoints/<run>/`` holds:

- ``config.yaml``: the ModelConfig the run trains; ``launch.sh``: the command that started it;
- ``metrics.jsonl``: one JSON object per logged event (train steps, validation, NaN events);
- ``step_<N>/`` (N zero-padded to 8 digits): ``model.safetensors`` + HF ``config.json``
  (loadable with ``LlamaForCausalLM.from_pretrained``), ``tokenizer.json``,
  ``optimizer.pt`` and ``trainer_state.json`` (step, tokens seen, data cursor, RNG states);
- ``latest`` and ``best``: symlinks to step directories, replaced atomically; old steps are pruned
  to the newest ``keep_last`` plus the ``best`` one (``save_step``);
- ``manifest.json``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from tools.artifacts import atomic_write_json, read_json, staging_dir
from tools.errors import InputError

STEP_RE = re.compile(r"^step_(\d{8})$")
LATEST, BEST = "latest", "best"
WEIGHTS = "model.safetensors"
METRICS = "metrics.jsonl"
TRAINER_STATE = "trainer_state.json"
OPTIMIZER = "optimizer.pt"
TOKENIZER = "tokenizer.json"
MODEL_CONFIG = "config.yaml"


class TrainerState(BaseModel):
    """``trainer_state.json``: everything besides weights and optimizer needed to resume exactly."""

    step: int = Field(ge=0, description="optimizer steps taken")
    tokens_seen: int = Field(ge=0)
    data_cursor: int = Field(ge=0, description="train sequences consumed, over all processes")
    lr_scale: float = Field(1.0, gt=0, description="product of the NaN-rollback LR reductions so far")
    rollbacks: int = Field(0, ge=0)
    max_steps: int | None = Field(
        None, gt=0, description="the schedule's length when the run sized it to its time budget"
    )
    best_val_loss: float | None = None
    best_step: int | None = None
    world_size: int = Field(1, gt=0)
    rng: dict[str, Any] = Field(default_factory=dict, description="python/numpy/torch/cuda RNG states")


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


def save_step(
    run_dir: str | Path,
    state: TrainerState,
    *,
    model: Any,
    weights: dict[str, Any],
    optimizer: dict[str, Any],
    tokenizer: str | Path,
    keep_last: int,
    is_best: bool,
) -> Path:
    """Write ``step_<N>/`` atomically, move ``latest`` (and ``best``) to it, prune old steps.

    ``model`` is the HF model (its config is written as config.json); ``weights`` is its full
    state dict (a tied LM head is stored once, as the embedding, the way ``from_pretrained``
    expects); ``optimizer`` is the optimizer's full state dict.
    """
    import torch
    from safetensors.torch import save_file

    run_dir = Path(run_dir)
    target = run_dir / step_dir_name(state.step)
    if getattr(model.config, "tie_word_embeddings", False):
        weights = {k: v for k, v in weights.items() if k != "lm_head.weight"}
    with staging_dir(target, overwrite=True) as tmp:
        model.config.save_pretrained(tmp)
        save_file({k: v.contiguous() for k, v in weights.items()}, tmp / WEIGHTS, metadata={"format": "pt"})
        torch.save(optimizer, tmp / OPTIMIZER)
        shutil.copyfile(tokenizer, tmp / TOKENIZER)
        atomic_write_json(tmp / TRAINER_STATE, state)
    set_pointer(run_dir, LATEST, target)
    if is_best:
        set_pointer(run_dir, BEST, target)
    prune_steps(run_dir, keep_last)
    return target


def pointer_target(run_dir: str | Path, name: str) -> Path | None:
    ptr = Path(run_dir) / name
    return ptr.resolve() if ptr.is_symlink() and ptr.exists() else None


def prune_steps(run_dir: str | Path, keep_last: int) -> None:
    """Delete step dirs other than the newest ``keep_last`` and the ``best``/``latest`` targets,
    and any staging leftovers of a killed writer."""
    run_dir = Path(run_dir)
    keep = {p.resolve() for p in step_dirs(run_dir)[-keep_last:]}
    keep |= {t for t in (pointer_target(run_dir, BEST), pointer_target(run_dir, LATEST)) if t is not None}
    for p in step_dirs(run_dir):
        if p.resolve() not in keep:
            shutil.rmtree(p, ignore_errors=True)
    for p in run_dir.glob(".step_*.partial"):
        shutil.rmtree(p, ignore_errors=True)


def model_config_of(step_dir: str | Path):
    """The ModelConfig (tier, arch, shape) of a step directory: its own config.yaml (a quantized
    directory), else its run's."""
    from tools.config import ModelConfig

    step_dir = Path(step_dir)
    for d in (step_dir, step_dir.parent):
        if (d / MODEL_CONFIG).is_file():
            return ModelConfig.load(d / MODEL_CONFIG)
    raise InputError(f"{step_dir}: no {MODEL_CONFIG} beside the checkpoint (its tier and arch are unknown)")


def load_trainer_state(step_dir: str | Path) -> TrainerState:
    f = Path(step_dir) / TRAINER_STATE
    try:
        return TrainerState.model_validate(read_json(f))
    except ValidationError as e:
        raise InputError(f"{f}: invalid trainer state ({e.errors()[0]['msg']})") from None


def load_optimizer(step_dir: str | Path) -> dict[str, Any]:
    import torch

    f = Path(step_dir) / OPTIMIZER
    try:
        return torch.load(f, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{f}: no such file") from None
    except Exception as e:  # torch.load raises many types for a truncated or foreign file
        raise InputError(f"{f}: cannot load optimizer state ({str(e).splitlines()[0][:120]})") from None


def load_weights(step_dir: str | Path) -> dict[str, Any]:
    """The step's weights as a CPU state dict (tied weights appear once, under the embedding)."""
    from safetensors.torch import load_file

    f = Path(step_dir) / WEIGHTS
    try:
        return load_file(f, device="cpu")
    except FileNotFoundError:
        raise InputError(f"{f}: no such file") from None
    except Exception as e:  # safetensors raises SafetensorError and others for a corrupt file
        raise InputError(f"{f}: cannot load weights ({str(e).splitlines()[0][:120]})") from None
