"""AdamW with decoupled weight decay on matrices only, and the LR schedules (warmup, then cosine or warmup-stable-decay)."""

from __future__ import annotations

import math

import torch

from tools.config import TrainSpec


def build_optimizer(model: torch.nn.Module, spec: TrainSpec, device: str) -> torch.optim.AdamW:
    """Matrices (embeddings, projections) decay; norm gains do not."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": spec.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups,
        lr=spec.lr,
        betas=(spec.beta1, spec.beta2),
        eps=1e-8,
        fused=device.startswith("cuda"),
    )


def decay_steps(total: int, decay_fraction: float) -> int:
    """The steps a warmup-stable-decay schedule of ``total`` steps decays over (at least one)."""
    return max(1, round(total * decay_fraction))


def decay_start(total: int, decay_fraction: float) -> int:
    """The 0-based step at which a warmup-stable-decay schedule of ``total`` steps starts its decay."""
    return total - decay_steps(total, decay_fraction)


def decay_left(step: int, total: int, decay_fraction: float) -> float:
    """The share of the way from the floor to the peak LR at 0-based step ``step`` of a
    warmup-stable-decay schedule: 1 until its decay, then linear to 0 at ``total``."""
    return min(1.0, max(0.0, (total - step) / decay_steps(total, decay_fraction)))


def lr_at(step: int, spec: TrainSpec) -> float:
    """LR for optimizer step ``step`` (0-based): linear warmup to ``lr``, then cosine decay to
    ``min_lr`` at ``max_steps``, or warmup-stable-decay (``lr`` held until the last
    ``decay_fraction`` of the steps, then linear to ``min_lr``), or constant ``lr``."""
    if spec.warmup_steps and step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    if spec.schedule == "constant":
        return spec.lr
    if spec.schedule == "wsd":
        return spec.min_lr + (spec.lr - spec.min_lr) * decay_left(step, spec.max_steps, spec.decay_fraction)
    span = max(1, spec.max_steps - spec.warmup_steps)
    progress = min(1.0, (step - spec.warmup_steps) / span)
    return spec.min_lr + 0.5 * (spec.lr - spec.min_lr) * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
