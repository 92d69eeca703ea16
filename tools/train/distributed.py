"""Single process, DDP or FSDP under ``torchrun``: process group, model wrapping, full state dicts.

``torchrun`` sets RANK/WORLD_SIZE/LOCAL_RANK; without them training runs in one process.
Checkpoints always hold full (unsharded) state dicts, written by rank 0, so a run can resume
with another world size or layout, and ``from_pretrained`` loads any step directory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from tools.errors import InputError


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    local_rank: int
    device: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over all processes (identity in one process)."""
        if not self.active:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def barrier(self) -> None:
        if self.active:
            dist.barrier()


def resolve_device(choice: str) -> str:
    if choice == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def init(device_choice: str) -> Dist:
    device = resolve_device(device_choice)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1:
        if device == "cuda":
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    if device == "cuda":
        device = f"cuda:{local_rank}"
    return Dist(rank=rank, world=world, local_rank=local_rank, device=device)


def shutdown(d: Dist) -> None:
    if d.active and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, d: Dist, *, fsdp: bool, compile: bool) -> torch.nn.Module:
    """The module to call for forward/backward. ``model`` keeps its own parameters (FSDP shards
    them in place), so state dicts are always taken from ``model``, never from the wrapper."""
    if fsdp and d.active:
        from torch.distributed.fsdp import fully_shard

        for layer in model.model.layers:
            fully_shard(layer)
        fully_shard(model)
    run = torch.compile(model) if compile else model
    if d.active and not fsdp:
        from torch.nn.parallel import DistributedDataParallel

        run = DistributedDataParallel(run, device_ids=[d.local_rank] if d.device.startswith("cuda") else None)
    return run


@contextlib.contextmanager
def grad_sync(run: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Skip the gradient all-reduce on accumulation micro-steps that are not the last."""
    if sync:
        yield
    elif hasattr(run, "no_sync"):  # DDP
        with run.no_sync():
            yield
    elif hasattr(run, "set_requires_gradient_sync"):  # FSDP2
        run.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            run.set_requires_gradient_sync(True)
    else:
        yield


_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Full model and optimizer state dicts on the CPU (every rank must call; rank 0 gets them)."""
    return get_model_state_dict(model, options=_FULL), get_optimizer_state_dict(
        model, optimizer, options=_FULL
    )


def load_full_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    weights: dict[str, Any],
    optim: dict[str, Any] | None,
) -> None:
    """Load full state dicts (as written by ``full_state``) into a plain, DDP or FSDP model."""
    if getattr(model.config, "tie_word_embeddings", False):
        weights = {**weights}
        weights.setdefault("lm_head.weight", weights.get("model.embed_tokens.weight"))
    opts = StateDictOptions(full_state_dict=True)
    try:
        set_model_state_dict(model, weights, options=opts)
        if optimizer is not None and optim is not None:
            set_optimizer_state_dict(model, optimizer, optim, options=opts)
    except (RuntimeError, KeyError, ValueError) as e:
        raise InputError(f"checkpoint does not fit the model ({str(e).splitlines()[0][:160]})") from None
