"""Review of a model/training config YAML (tools.config), optionally against its dataset.

Checks:
- ``parses``: the YAML is a valid ModelConfig;
- ``tier_bounds``: the exact parameter count (tools.arch.estimates) lies in the tier's bounds
  (the test-only micro tier has none); the remedy proposes the nearest shape that fits, changing
  n_layers first, then d_model/d_ff, then both;
- ``block_alignment``: every weight matrix row (d_model, d_ff, attention width) is a multiple of
  the 32-element GGUF quantization block;
- ``heads``: n_heads divides d_model with an even head_dim (RoPE rotates pairs), n_kv_heads
  divides n_heads;
- ``vocab_matches_tokenizer`` (with data): vocab_size equals the dataset tokenizer's;
- ``context_fits``: inference RAM at the lightest deployable type (Q4_0 weights + F32 KV cache at
  full context, tools.arch.estimates) fits the tier's RAM; with data, the val and test splits hold
  at least one full window and the train split two;
- ``training_schedule``: warmup shorter than the schedule, min_lr <= lr, evaluation and
  checkpoint intervals within the schedule (so a run leaves a validation record and a checkpoint).
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import ValidationError

from tools.arch.estimates import QUANT_BLOCK, all_matrices, inference_ram_all, param_count
from tools.config import ModelConfig, ModelSpec
from tools.dataset import Dataset
from tools.errors import InputError
from tools.review.findings import passed, rejected, remedy, rerun
from tools.tiers import MB, Tier, tier
from tools.verdict import Finding, Verdict

RAM_TYPE = "Q4_0"  # the lightest weight type the pipeline deploys
MAX_LAYERS = 64
MAX_D_MODEL = 4096


def _round_up(x: int, multiple: int) -> int:
    return -(-x // multiple) * multiple


def _width_step(n_heads: int) -> int:
    """d_model must be a multiple of this: 32-aligned rows, n_heads heads of even size."""
    return math.lcm(QUANT_BLOCK, 2 * n_heads)


def fit_tier(m: ModelSpec, t: Tier) -> dict[str, int] | None:
    """A nearby shape (n_layers, d_model, d_ff) whose parameter count lies in the tier's bounds:
    changing n_layers alone (within half to twice the current depth), else d_model/d_ff alone
    (within half to twice the width), else both, nearest the bounds' geometric mean."""

    def count(shape: dict[str, int]) -> int:
        return param_count(m.model_copy(update=shape))

    def fits(shape: dict[str, int]) -> bool:
        return t.min_params <= count(shape) <= t.max_params

    step = _width_step(m.n_heads)
    widths = [
        (d, _round_up(max(1, m.d_ff * d // m.d_model), QUANT_BLOCK))
        for d in range(step, MAX_D_MODEL + 1, step)
    ]
    depths = [{"n_layers": n} for n in range(max(1, m.n_layers // 2), 2 * m.n_layers + 1)]
    near = [{"d_model": d, "d_ff": f} for d, f in widths if m.d_model // 2 <= d <= 2 * m.d_model]
    for candidates, current in ((depths, m.n_layers), (near, m.d_model)):
        inside = [s for s in candidates if fits(s)]
        if inside:
            best = min(inside, key=lambda s: abs(next(iter(s.values())) - current))
            return {"n_layers": m.n_layers, "d_model": m.d_model, "d_ff": m.d_ff} | best
    target = math.sqrt(t.min_params * t.max_params)
    both = [{"n_layers": n, "d_model": d, "d_ff": f} for n in range(1, MAX_LAYERS + 1) for d, f in widths]
    inside = [s for s in both if fits(s)]
    return min(inside, key=lambda s: abs(math.log(count(s) / target))) if inside else None


def check_tier_bounds(cfg: ModelConfig) -> Finding:
    m = cfg.model
    n = param_count(m)
    if m.tier == "micro":
        return passed(
            "tier_bounds", "architect", f"micro tier (tests only): {n:,} parameters, no bounds", params=n
        )
    t = tier(m.tier)
    evidence = {"params": n, "min_params": t.min_params, "max_params": t.max_params}
    if t.min_params <= n <= t.max_params:
        return passed(
            "tier_bounds", "architect", f"{n:,} parameters within the {t.name.value} tier", **evidence
        )
    shape = fit_tier(m, t)
    message = f"{n:,} parameters outside the {t.name.value} tier's {t.min_params:,}..{t.max_params:,}"
    if shape is None:
        return rejected(
            "tier_bounds",
            "architect",
            message,
            rerun("architect", "no nearby shape fits the tier"),
            **evidence,
        )
    new = param_count(m.model_copy(update=shape))
    change = ", ".join(f"{k} {getattr(m, k)} -> {v}" for k, v in shape.items() if getattr(m, k) != v)
    fix = remedy("architect", "resize_model", f"resize the model ({change}: {new:,} parameters)", **shape)
    return rejected("tier_bounds", "architect", message, fix, **evidence)


def aligned_shape(m: ModelSpec) -> dict[str, int]:
    """d_model/d_ff/heads moved to the nearest valid values (heads first, then widths rounded up)."""
    heads = m.n_heads if m.d_model % m.n_heads == 0 and (m.d_model // m.n_heads) % 2 == 0 else None
    if heads is None:
        valid = [h for h in range(1, m.d_model // 2 + 1) if m.d_model % h == 0 and (m.d_model // h) % 2 == 0]
        heads = min(valid, key=lambda h: abs(h - m.n_heads)) if valid else m.n_heads
    kv = max(k for k in range(1, heads + 1) if heads % k == 0 and k <= max(1, m.n_kv_heads))
    return {
        "d_model": _round_up(m.d_model, _width_step(heads)),
        "d_ff": _round_up(m.d_ff, QUANT_BLOCK),
        "n_heads": heads,
        "n_kv_heads": kv,
    }


def _align_remedy(m: ModelSpec) -> tuple[str, dict[str, int]]:
    shape = aligned_shape(m)
    changed = {k: v for k, v in shape.items() if getattr(m, k) != v}
    return ", ".join(f"{k} {getattr(m, k)} -> {v}" for k, v in changed.items()), shape


def check_block_alignment(cfg: ModelConfig) -> Finding:
    m = cfg.model
    bad = sorted({c for _, c in all_matrices(m) if c % QUANT_BLOCK})
    if not bad:
        return passed("block_alignment", "architect", f"every matrix row is a multiple of {QUANT_BLOCK}")
    change, shape = _align_remedy(m)
    fix = remedy("architect", "align_dims", f"align the dimensions ({change})", **shape)
    message = f"matrix rows of length {bad} do not divide into {QUANT_BLOCK}-element quantization blocks"
    return rejected("block_alignment", "architect", message, fix, row_lengths=bad)


def check_heads(cfg: ModelConfig) -> Finding:
    m = cfg.model
    problems = []
    if m.d_model % m.n_heads:
        problems.append(f"n_heads {m.n_heads} does not divide d_model {m.d_model}")
    elif m.head_dim % 2:
        problems.append(f"head_dim {m.head_dim} is odd (RoPE rotates pairs)")
    if m.n_heads % m.n_kv_heads:
        problems.append(f"n_kv_heads {m.n_kv_heads} does not divide n_heads {m.n_heads}")
    if not problems:
        return passed("heads", "architect", f"{m.n_heads} heads of {m.head_dim}, {m.n_kv_heads} KV heads")
    change, shape = _align_remedy(m)
    fix = remedy("architect", "align_dims", f"fix the heads ({change})", **shape)
    return rejected("heads", "architect", "; ".join(problems), fix)


def check_vocab(cfg: ModelConfig, data: Dataset) -> Finding:
    ours, theirs = cfg.model.vocab_size, data.tokenizer.get_vocab_size()
    evidence = {
        "config_vocab": ours,
        "tokenizer_vocab": theirs,
        "tokenizer": str(data.path / "tokenizer.json"),
    }
    if ours == theirs:
        return passed(
            "vocab_matches_tokenizer", "architect", f"vocab_size {ours} matches the tokenizer", **evidence
        )
    message = f"vocab_size in config ({ours}) differs from the tokenizer ({theirs})"
    fix = remedy(
        "architect",
        "match_vocab",
        f"{message}: re-run the architect with vocab_size {theirs}",
        vocab_size=theirs,
    )
    return rejected("vocab_matches_tokenizer", "architect", message, fix, **evidence)


def _fitting_context(m: ModelSpec, budget: int) -> int | None:
    ctx = m.context
    while ctx > QUANT_BLOCK:
        ctx //= 2
        if inference_ram_all(m.model_copy(update={"context": ctx}))[RAM_TYPE] <= budget:
            return ctx
    return None


def check_context(cfg: ModelConfig, data: Dataset | None) -> Finding:
    m = cfg.model
    ram = inference_ram_all(m)
    evidence: dict[str, object] = {"context": m.context, "inference_ram_bytes": ram}
    problems = []
    fix = None
    if m.tier != "micro":
        budget = tier(m.tier).ram_max_mb * MB
        evidence["ram_budget_bytes"] = budget
        if ram[RAM_TYPE] > budget:
            problems.append(
                f"{RAM_TYPE} inference needs {ram[RAM_TYPE] / MB:.1f} MB, over the tier's {budget // MB} MB"
            )
            ctx = _fitting_context(m, budget)
            if ctx is None:
                fix = rerun(
                    "architect", "even a short context does not fit the tier's RAM: a smaller model is needed"
                )
            else:
                fix = remedy(
                    "architect",
                    "shorten_context",
                    f"shorten the context from {m.context} to {ctx}",
                    context=ctx,
                )
    if data is not None:
        need = {"train": 2 * m.context + 1, "val": m.context + 1, "test": m.context + 1}
        have = {s: data.meta.splits[s].tokens for s in need if s in data.meta.splits}
        short = [
            f"{s} has {have.get(s, 0)} tokens (needs {n})" for s, n in need.items() if have.get(s, 0) < n
        ]
        if short:
            problems.append("the context is too long for the data: " + "; ".join(short))
            ctx = m.context
            while ctx > QUANT_BLOCK and any(have.get(s, 0) < n * ctx // m.context for s, n in need.items()):
                ctx //= 2
            fix = fix or remedy(
                "architect", "shorten_context", f"shorten the context from {m.context} to {ctx}", context=ctx
            )
    if problems:
        return rejected("context_fits", "architect", "; ".join(problems), fix, **evidence)
    return passed("context_fits", "architect", f"context {m.context} fits", **evidence)


def check_schedule(cfg: ModelConfig) -> Finding:
    t = cfg.training
    problems = []
    if t.warmup_steps >= t.max_steps:
        problems.append(f"warmup_steps {t.warmup_steps} >= max_steps {t.max_steps}")
    if t.min_lr > t.lr:
        problems.append(f"min_lr {t.min_lr} > lr {t.lr}")
    for name in ("eval_interval", "checkpoint_interval"):
        if getattr(t, name) > t.max_steps:
            problems.append(f"{name} {getattr(t, name)} > max_steps {t.max_steps}")
    if not problems:
        return passed(
            "training_schedule", "architect", f"{t.max_steps} steps, warmup {t.warmup_steps}, lr {t.lr:g}"
        )
    return rejected(
        "training_schedule", "architect", "; ".join(problems), rerun("architect", "; ".join(problems))
    )


def review_config(path: str | Path, data: str | Path | None = None) -> Verdict:
    """Review a config YAML; ``data`` (a dataset directory) adds the vocabulary and data-length checks."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such config file")
    dataset = Dataset(data) if data is not None else None
    try:
        cfg = ModelConfig.load(path)
    except (InputError, ValidationError) as e:
        return Verdict.from_findings(
            "config",
            str(path),
            [rejected("parses", "architect", str(e), rerun("architect", "the config is invalid"))],
        )
    findings = [
        passed("parses", "architect", f"config {cfg.name!r}: {cfg.model.tier} tier, {cfg.model.arch.value}"),
        check_tier_bounds(cfg),
        check_block_alignment(cfg),
        check_heads(cfg),
        check_context(cfg, dataset),
        check_schedule(cfg),
    ]
    if dataset is not None:
        findings.insert(4, check_vocab(cfg, dataset))
    return Verdict.from_findings("config", str(path), findings)
