"""``design``: propose a config for a tier, a target arch, a vocabulary and a training budget.

Shapes come from one family: head_dim 64 (32 below d_model 256), GQA with groups of 2 (4 from
8 heads up; widths whose head count the group does not divide are skipped), SwiGLU d_ff =
8/3 d_model, n_layers = d_model / 64, every width a multiple of the arch's SIMD-friendly step.
A step's tokens are fixed per tier; the micro-batch is the largest power of two whose training
memory fits the device (CUDA: its memory, else 80 GiB; CPU: RAM), the rest is accumulation. The budget is turned into tokens with the FLOP/s this machine
sustains on our training step (tools.arch.probe, measured once and cached); a candidate's
tokens/s is that divided by its training FLOPs per token. The pick: the largest candidate
inside the tier that the budget trains to ``tokens_per_param`` (Chinchilla's ~20), and when no
candidate gets there (a CPU budget), the smallest one in the tier, which gets the most tokens
per parameter the budget allows. Per arch: riscv64 boards get half the context and ship Q4_0;
x86_64 and aarch64 ship Q8_0.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from pydantic import BaseModel, Field

from tools.arch.estimates import WeightType, flops_per_token, param_count, train_memory, with_estimates
from tools.arch.validate import validate
from tools.config import ModelConfig, ModelSpec, TierField, TrainSpec
from tools.errors import InputError
from tools.tiers import Arch

MAX_D_MODEL = 4096
MEMORY_FRACTION = 0.7  # of the device's memory that training may plan to use
OVERHEAD = 0.9  # share of the training budget spent in training steps (the rest: eval, checkpoints)
# peak LR = LR_WIDTH / d_model (width scaling): 1.2e-3 at d_model 384, where a sweep of the tiny
# tier (6.2M tokens, batch 16 x 256) gave val ppl 32.6 at 1.2e-3, 37-42 at 1.95e-3, 58 at 3e-3;
# it gives 6e-4 at 768 and 3e-4 at 1536, near GPT-3's rates for those widths
LR_WIDTH = 0.46


@dataclass(frozen=True)
class ArchProfile:
    dim_multiple: int  # d_model/d_ff step: whole SIMD vectors per row, and 32-wide GGUF blocks
    context_scale: float
    quant: WeightType
    note: str


ARCH_PROFILES: dict[Arch, ArchProfile] = {
    Arch.x86_64: ArchProfile(
        64, 1.0, "Q8_0", "AVX2/AVX-512: 8-16 f32 lanes, rows in 64-float cache-line multiples"
    ),
    Arch.aarch64: ArchProfile(32, 1.0, "Q8_0", "NEON: 4 f32 lanes; SVE vectors are 128-bit multiples"),
    Arch.riscv64: ArchProfile(
        32, 0.5, "Q4_0", "RVV boards: short vectors and little RAM: half context, int4"
    ),
}
TIER_CONTEXT: dict[str, int] = {"micro": 128, "tiny": 512, "small": 512, "medium": 1024, "large": 2048}
TIER_TOKENS_PER_STEP: dict[str, int] = {
    "micro": 1024,
    "tiny": 4096,
    "small": 16384,
    "medium": 65536,
    "large": 262144,
}
DEFAULT_TRAIN_MINUTES: dict[str, float] = {"micro": 1, "tiny": 18, "small": 90, "medium": 480, "large": 1440}
MICRO_SHAPE = dict(d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=192)


class DesignRequest(BaseModel):
    tier: TierField
    arch: Arch
    vocab_size: int = Field(gt=0)
    train_minutes: float | None = Field(
        None, gt=0, description="training wall-time budget (default per tier)"
    )
    device: str = Field("auto", description="auto, cpu or cuda: where the budget is spent")
    tokens_per_param: float = Field(20.0, gt=0, description="the tokens-per-parameter ratio to aim for")
    flops_per_s: float | None = Field(
        None, gt=0, description="sustained training FLOP/s (default: measured probe)"
    )
    name: str | None = None


def round_up(x: float, step: int) -> int:
    return int(math.ceil(x / step) * step)


def shape_for(d_model: int, step: int) -> dict[str, int] | None:
    head_dim = 64 if d_model >= 256 else 32
    n_heads = d_model // head_dim
    group = 4 if n_heads >= 8 else 2
    if d_model % head_dim or n_heads % group:
        return None
    return dict(
        d_model=d_model,
        n_layers=max(2, round(d_model / 64)),
        n_heads=n_heads,
        n_kv_heads=n_heads // group,
        d_ff=round_up(8 * d_model / 3, step),
    )


def candidates(req: DesignRequest) -> list[ModelSpec]:
    """The tier's shapes for the arch, smallest first, each inside the tier's parameter and RAM
    bounds at the arch's weight type (micro: the one fixed micro shape)."""
    prof = ARCH_PROFILES[req.arch]
    context = max(128, int(TIER_CONTEXT[req.tier] * prof.context_scale))
    base = dict(tier=req.tier, arch=req.arch, vocab_size=req.vocab_size, context=context)
    if req.tier == "micro":
        return [ModelSpec(**base, **MICRO_SHAPE)]
    specs = []
    for d in range(prof.dim_multiple * 4, MAX_D_MODEL + 1, prof.dim_multiple):
        shape = shape_for(d, prof.dim_multiple)
        if shape is None:
            continue
        spec = ModelSpec(**base, **shape)
        if validate(ModelConfig(name="candidate", model=spec), quant=prof.quant).ok:
            specs.append(spec)
    return specs


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise InputError(f"unknown device {device!r} (expected auto, cpu or cuda)")
    return device


def measured_flops(device: str) -> float:
    import torch

    from tools.arch.probe import train_flops_per_s

    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("no CUDA device here to measure: pass the GPU's sustained FLOP/s (--flops-per-s)")
    return train_flops_per_s(device)


def device_memory(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_properties(0).total_memory if torch.cuda.is_available() else 80 << 30
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def micro_batch(spec: ModelSpec, seqs: int, memory: int) -> int:
    """The largest power-of-two divisor of ``seqs`` whose bf16 training memory fits ``memory``."""
    b = seqs & -seqs
    while b > 1 and train_memory(spec, b, act_bytes=2).total > memory:
        b //= 2
    return b


def schedule_interval(steps: int) -> int:
    """Steps between evaluations and checkpoints: ~10 per run, a multiple of 10, never past the run's end."""
    return min(steps, max(10, round_up(steps / 10, 10)))


def rescale_schedule(t: TrainSpec, steps: int) -> TrainSpec:
    """``t`` stretched or shrunk to ``steps`` optimizer steps: warmup stays the same share of the
    run (at most 5%), evaluation and checkpoints stay ~10 per run."""
    interval = schedule_interval(steps)
    return t.model_copy(
        update={
            "max_steps": steps,
            "warmup_steps": min(max(1, steps // 20), t.warmup_steps * steps // max(t.max_steps, 1))
            if steps > 1
            else 0,
            "checkpoint_interval": interval,
            "eval_interval": interval,
        }
    )


def training_for(spec: ModelSpec, tokens: float, tier: str, device: str) -> TrainSpec:
    seqs = max(1, TIER_TOKENS_PER_STEP[tier] // spec.context)
    batch = micro_batch(spec, seqs, int(MEMORY_FRACTION * device_memory(device)))
    steps = max(1, int(tokens // (seqs * spec.context)))
    lr = 3e-3 if tier == "micro" else float(f"{LR_WIDTH / spec.d_model:.3g}")
    interval = schedule_interval(steps)
    return TrainSpec(
        batch_size=batch,
        grad_accum=seqs // batch,
        lr=lr,
        min_lr=float(f"{lr / 10:.3g}"),
        schedule="wsd",  # 400 tiny steps on 2 cores: val ppl 135 against cosine's 161
        warmup_steps=min(max(1, steps // 20), 2000) if steps > 1 else 0,
        max_steps=steps,
        checkpoint_interval=interval,
        eval_interval=interval,
        eval_batches=max(4, min(20, 65536 // (batch * spec.context))),
    )


def design(req: DesignRequest) -> ModelConfig:
    """The proposed config, with its estimates block and the design's reasoning in it."""
    specs = candidates(req)
    if not specs:
        raise InputError(
            f"no {req.tier} shape for {req.arch.value} with vocab {req.vocab_size} fits the tier"
        )
    minutes = req.train_minutes or DEFAULT_TRAIN_MINUTES[req.tier]
    device = resolve_device(req.device)
    flops = req.flops_per_s or measured_flops(device)

    def tokens(spec: ModelSpec) -> float:
        return flops / flops_per_token(spec) * minutes * 60 * OVERHEAD

    enough = [s for s in specs if tokens(s) >= req.tokens_per_param * param_count(s)]
    spec = enough[-1] if enough else specs[0]
    budget = tokens(spec)
    cfg = ModelConfig(
        name=req.name or f"{req.tier}-{req.arch.value}",
        model=spec,
        training=training_for(spec, budget, req.tier, device),
    )
    est = with_estimates(cfg).estimates
    assert est is not None
    extra = dict(
        recommended_quant=ARCH_PROFILES[req.arch].quant,
        device=device,
        train_minutes=minutes,
        train_flops_per_s=flops,
        tokens_per_s=flops / flops_per_token(spec),
        tokens_budget=int(budget),
        tokens_per_param=round(budget / param_count(spec), 3),
        candidates=len(specs),
    )
    return cfg.model_copy(update={"estimates": est.model_copy(update=extra)})


# Below this many training tokens per parameter no tier's perplexity gate is within reach (the
# committed tiny config passes at about 0.5, Chinchilla's optimum is about 20).
UNDERTRAINED_TOKENS_PER_PARAM = 0.1


def budget_warning(cfg: ModelConfig) -> str | None:
    """A sentence when ``cfg``'s schedule trains far too few tokens for its size, else None. The
    tokens come from the schedule itself, so a step count fixed after design is judged too."""
    t = cfg.training
    tokens = t.max_steps * t.batch_size * t.grad_accum * cfg.model.context
    params = param_count(cfg.model)
    if tokens >= UNDERTRAINED_TOKENS_PER_PARAM * params:
        return None
    est = cfg.estimates.model_dump() if cfg.estimates else {}
    budget = f"{est['train_minutes']:g} minutes of training on {est['device']}: " if "device" in est else ""
    return (
        f"{budget}{t.max_steps:,} steps train {tokens:,} tokens for {params / 1e6:.1f}M parameters "
        f"({tokens / params:.2g} per parameter): far too few to pass the perplexity gate; give more "
        "time (--budget-minutes) or a GPU (--device cuda)"
    )
