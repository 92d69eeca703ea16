"""The model size tiers (docs/pipeline.md, Tiers) and the target architectures."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel


class Arch(str, Enum):
    x86_64 = "x86_64"
    aarch64 = "aarch64"
    riscv64 = "riscv64"


class TierName(str, Enum):
    tiny = "tiny"
    small = "small"
    medium = "medium"
    large = "large"


class Tier(BaseModel):
    name: TierName
    min_params: int
    max_params: int
    ram_min_mb: int
    ram_max_mb: int
    ppl_threshold: float  # validation perplexity must be below this (success criterion 2)
    use_case: str


MB = 1 << 20

# name, parameter bounds, RAM bounds (MB), validation perplexity threshold, use case
_ROWS = (
    (TierName.tiny, 10_000_000, 50_000_000, 64, 128, 50.0, "Embedded systems"),
    (TierName.small, 50_000_000, 150_000_000, 128, 256, 50.0, "Resource-constrained"),
    (TierName.medium, 150_000_000, 500_000_000, 256, 512, 20.0, "General-purpose"),
    (TierName.large, 500_000_000, 1_000_000_000, 512, 2048, 20.0, "High-end systems"),
)
TIERS: dict[TierName, Tier] = {
    row[0]: Tier(**dict(zip(Tier.model_fields, row, strict=True))) for row in _ROWS
}


def tier(name: TierName | str) -> Tier:
    return TIERS[TierName(name)]


# The 'micro' tier exists only for tests (tools/config.py): micro models (d_model 64, vocab 512,
# 300 steps, which reach about 50) must beat this validation perplexity, twice that and far below
# the uniform 512 of their vocabulary, so that a checkpoint which learned nothing is rejected.
MICRO_PPL_THRESHOLD = 100.0


def ppl_threshold(name: str) -> float:
    """The validation perplexity a model of tier ``name`` must stay below (micro included)."""
    if name == "micro":
        return MICRO_PPL_THRESHOLD
    return tier(name).ppl_threshold


def tier_for_params(params: int) -> str:
    """The tier whose parameter bounds hold ``params``; below the tiny tier it is 'micro'."""
    for t in TIERS.values():
        if params <= t.max_params:
            return t.name.value if params >= t.min_params else "micro"
    return TierName.large.value


# Held-out command exact match a tuned model must reach, on the task's validation split and end to
# end on the booted kernel (success criterion 7). A micro model (tests only) tunes for seconds on
# a small task set: it must beat choosing the commonest intent for everything (about 14% of
# requests), far below the real target.
TASK_TARGET = 0.9
MICRO_TASK_TARGET = 0.15


def task_target(name: str) -> float:
    return MICRO_TASK_TARGET if name == "micro" else TASK_TARGET
