"""Review of a training run (or one step directory of it), per tools.checkpoint and tools.train.metrics.

Checks:
- ``loads``: the reviewed step (``best``, else ``latest``, else the newest) loads as a
  LlamaForCausalLM;
- ``pointers``: a run directory's ``latest`` and ``best`` point at complete step directories whose
  trainer_state.json reads;
- ``tensors_finite``: every tensor of every kept step directory is finite;
- ``loss_decreased``: the mean train loss of the last tenth of the records is below that of the
  first tenth;
- ``nan_handled``: every NaN/Inf event in metrics.jsonl was rolled back, or the run it aborted was
  resumed later from an earlier step (the graph's resume_lower_lr), and no train/val record holds a
  non-finite loss;
- ``val_perplexity``: the validation perplexity at the reviewed step is below the tier's threshold
  (tools.tiers.ppl_threshold; the tier comes from the caller, else the run's config.yaml, else the
  parameter count).

Remedies: a non-finite or unhandled NaN state resumes from the newest finite step at half the
current LR scale; a loss that did not fall resumes from the best step at half the LR; a missed
threshold trains longer when validation loss still fell by more than ``STILL_IMPROVING`` over the
last interval (scaled to a whole evaluation interval), else asks the architect for more layers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tools.checkpoint import (
    BEST,
    LATEST,
    METRICS,
    MODEL_CONFIG,
    STEP_RE,
    load_model,
    load_trainer_state,
    load_weights,
    pointer_target,
    resolve_checkpoint,
    step_dirs,
)
from tools.config import ModelConfig
from tools.errors import InputError
from tools.review.findings import passed, rejected, remedy, rerun, short_of_target
from tools.tiers import ppl_threshold, tier_for_params
from tools.train.divergence import lowered
from tools.train.metrics import read_metrics
from tools.verdict import Finding, Remedy, Verdict

STILL_IMPROVING = 0.01


def step_number(step_dir: Path) -> int:
    m = STEP_RE.match(step_dir.name)
    if m is None:
        raise InputError(f"{step_dir}: not a step_<N> directory")
    return int(m.group(1))


def lr_scale(step_dir: Path) -> float:
    try:
        return load_trainer_state(step_dir).lr_scale
    except InputError:
        return 1.0


def lower_lr(steps: list[Path], from_step: int, why: str) -> Remedy:
    scale = lowered(lr_scale(steps[-1]) if steps else 1.0)
    return remedy(
        "train",
        "resume_lower_lr",
        f"{why}: resume from step {from_step} with the learning rate scaled by {scale:g}",
        lr_scale=scale,
        from_step=from_step,
    )


def resume_after_divergence(run_dir: Path, why: str) -> Remedy:
    """The remedy for a run that diverged past its rollbacks and stopped: resume from its newest
    step at a lowered LR scale."""
    steps = step_dirs(run_dir)
    return lower_lr(steps, step_number(steps[-1]) if steps else 0, why)


def check_pointers(run_dir: Path) -> Finding:
    problems = []
    for name in (LATEST, BEST):
        target = pointer_target(run_dir, name)
        if target is None:
            problems.append(f"no valid {name} pointer")
            continue
        try:
            load_trainer_state(target)
        except InputError as e:
            problems.append(str(e))
    if problems:
        return rejected(
            "pointers", "train", "; ".join(problems), rerun("train", "the run's checkpoints are incomplete")
        )
    return passed("pointers", "train", "latest and best point at complete step directories")


def non_finite(directory: Path) -> list[str]:
    """Names of the tensors of ``directory``'s model.safetensors holding NaN or Inf."""
    return [k for k, t in load_weights(directory).items() if not bool(t.float().isfinite().all())]


def check_finite(steps: list[Path]) -> Finding:
    bad: dict[str, list[str]] = {}
    for step in steps:
        names = non_finite(step)
        if names:
            bad[step.name] = names[:5]
    if not bad:
        return passed("tensors_finite", "train", f"all tensors finite in {len(steps)} step directories")
    good = [s for s in steps if s.name not in bad]
    from_step = step_number(good[-1]) if good else 0
    why = f"non-finite weights in {', '.join(bad)}"
    return rejected("tensors_finite", "train", why, lower_lr(steps, from_step, why), non_finite=bad)


def check_loss_decreased(records: list[dict[str, Any]], steps: list[Path], best: int) -> Finding:
    losses = [
        r["loss"] for r in records if r.get("event") == "train" and isinstance(r.get("loss"), (int, float))
    ]
    losses = [x for x in losses if math.isfinite(x)]
    if len(losses) < 2:
        return rejected(
            "loss_decreased",
            "train",
            f"{len(losses)} train records: nothing to compare",
            rerun("train", "no loss log"),
        )
    k = max(1, len(losses) // 10)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    evidence = {"first_mean": first, "last_mean": last, "records": len(losses), "window": k}
    if last < first:
        return passed(
            "loss_decreased", "train", f"train loss fell from {first:.3f} to {last:.3f}", **evidence
        )
    why = f"train loss did not fall ({first:.3f} -> {last:.3f})"
    return rejected("loss_decreased", "train", why, lower_lr(steps, best, why), **evidence)


def resumed_after(records: list[dict[str, Any]], i: int) -> bool:
    """Whether the run was resumed, after record ``i``, from a step before it: the graph's answer to
    an aborted run (resume_lower_lr), which handles that abort as a rollback would."""
    return any(r.get("event") == "resume" and r["step"] < records[i]["step"] for r in records[i + 1 :])


def check_nan_handled(records: list[dict[str, Any]], steps: list[Path]) -> Finding:
    events = [r for r in records if r.get("event") == "nan"]
    unhandled = [
        r
        for i, r in enumerate(records)
        if r.get("event") == "nan" and r.get("action") != "rollback" and not resumed_after(records, i)
    ]
    bad_records = [
        r["step"]
        for r in records
        if r.get("event") in ("train", "val")
        and any(isinstance(r.get(k), float) and not math.isfinite(r[k]) for k in ("loss", "val_loss"))
    ]
    rollbacks = sum(r.get("action") == "rollback" for r in events)
    evidence = {
        "nan_events": len(events),
        "rollbacks": rollbacks,
        "resumed": len(events) - rollbacks - len(unhandled),
    }
    if not unhandled and not bad_records:
        said = (
            f"{len(events)} NaN/Inf events, each rolled back or resumed from an earlier step"
            if events
            else "no NaN/Inf events"
        )
        return passed("nan_handled", "train", said, **evidence)
    at = [r["step"] for r in unhandled] + bad_records
    good = [s for s in steps if step_number(s) < min(at)]
    from_step = step_number(good[-1]) if good else 0
    why = f"NaN/Inf at step {min(at)} left unhandled"
    return rejected(
        "nan_handled", "train", why, lower_lr(steps, from_step, why), unhandled_steps=at, **evidence
    )


def interval_gain(vals: list[tuple[int, float]]) -> float:
    """The relative fall of the validation loss over its last interval, scaled to the run's
    evaluation interval (its longest): a run's final validation often comes a few steps after
    the one before it, and a short gap is not a plateau."""
    (s0, v0), (s1, v1) = vals[-2], vals[-1]
    interval = max(b - a for (a, _), (b, _) in zip(vals, vals[1:], strict=False))
    return (v0 - v1) / v0 * interval / max(1, s1 - s0)


def seconds_per_step(records: list[dict[str, Any]]) -> float | None:
    """The run's wall seconds per step between its first and last training records (validation
    and checkpoints included), or None with fewer than two."""
    trains = [r for r in records if r.get("event") == "train" and isinstance(r.get("time"), (int, float))]
    if len(trains) < 2 or trains[-1]["step"] <= trains[0]["step"]:
        return None
    return (trains[-1]["time"] - trains[0]["time"]) / (trains[-1]["step"] - trains[0]["step"])


def capacity_remedy(records: list[dict[str, Any]], cfg: ModelConfig | None) -> Remedy:
    """For a missed perplexity threshold: train longer while validation still improves, else grow.
    Longer is twice the steps the run trained (a run on the clock fits fewer than its config's on
    a slow machine), and the remedy says how many minutes that takes at the run's own pace, so
    that it starts only where the run's budget holds them (graph/routing.py)."""
    vals = [
        (r["step"], r["val_loss"])
        for r in records
        if r.get("event") == "val" and isinstance(r.get("val_loss"), (int, float))
    ]
    gain = interval_gain(vals) if len(vals) >= 2 else 0.0
    improving = gain > STILL_IMPROVING
    if cfg is None:
        return rerun("train" if improving else "architect", "the perplexity threshold was missed")
    steps = vals[-1][0] if vals else cfg.training.max_steps
    if improving:
        pace = seconds_per_step(records)
        minutes = {} if pace is None else {"minutes": math.ceil(steps * pace / 6) / 10}
        return remedy(
            "train",
            "train_longer",
            f"validation loss still fell by {gain:.1%} an interval: train to {2 * steps} steps"
            + (f" ({minutes['minutes']:g} more minutes)" if minutes else ""),
            max_steps=2 * steps,
            **minutes,
        )
    layers = cfg.model.n_layers + max(1, cfg.model.n_layers // 2)
    return remedy(
        "architect",
        "larger_model",
        f"validation loss plateaued: grow the model from {cfg.model.n_layers} to {layers} layers",
        n_layers=layers,
    )


def check_val_perplexity(
    records: list[dict[str, Any]], step: int, tier: str, cfg: ModelConfig | None
) -> Finding:
    vals = [r for r in records if r.get("event") == "val" and r.get("step", 0) <= step and "val_loss" in r]
    threshold = ppl_threshold(tier)
    if not vals:
        return rejected(
            "val_perplexity",
            "train",
            f"no validation record at or before step {step}",
            rerun("train", "the run has no validation loss"),
        )
    rec = vals[-1]
    ppl = math.exp(min(float(rec["val_loss"]), 700.0))
    evidence = {"step": rec["step"], "val_ppl": ppl, "threshold": threshold, "tier": tier}
    if ppl < threshold:
        return passed(
            "val_perplexity", "train", f"validation perplexity {ppl:.2f} < {threshold:g} ({tier})", **evidence
        )
    message = f"validation perplexity {ppl:.2f} at step {rec['step']} is not below the {tier} threshold {threshold:g}"
    return short_of_target("val_perplexity", "train", message, capacity_remedy(records, cfg), **evidence)


def run_config(run_dir: Path | None) -> ModelConfig | None:
    if run_dir is None or not (run_dir / MODEL_CONFIG).is_file():
        return None
    return ModelConfig.load(run_dir / MODEL_CONFIG)


def review_checkpoint(path: str | Path, tier: str | None = None) -> Verdict:
    """Review a run directory (or a step directory inside one) against ``tier``'s threshold."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such checkpoint")
    if tier is not None:
        try:
            ppl_threshold(tier)
        except ValueError:
            raise InputError(
                f"unknown tier {tier!r} (expected micro, tiny, small, medium or large)"
            ) from None
    is_step = STEP_RE.match(path.name) is not None
    run_dir = path.parent if is_step else path
    run_dir = run_dir if (run_dir / METRICS).is_file() or not is_step else None
    step = resolve_checkpoint(path)
    steps = step_dirs(run_dir) if run_dir is not None else [step]
    cfg = run_config(run_dir)
    findings: list[Finding] = []
    try:
        model = load_model(step)
        findings.append(passed("loads", "train", f"{step.name} loads", step=str(step)))
    except InputError as e:
        older = [s for s in steps if s.name < step.name]
        from_step = step_number(older[-1]) if older else 0
        fix = remedy(
            "train", "rerun", f"{step.name} is unreadable: re-run training, resuming from step {from_step}"
        )
        return Verdict.from_findings("checkpoint", str(path), [rejected("loads", "train", str(e), fix)])
    if run_dir is not None and not is_step:
        findings.append(check_pointers(run_dir))
    findings.append(check_finite(steps))
    if run_dir is None:
        findings.append(
            rejected("metrics", "train", f"no {METRICS} beside {step}", rerun("train", "no training log"))
        )
        return Verdict.from_findings("checkpoint", str(path), findings)
    records = read_metrics(run_dir / METRICS)
    tier = tier or (cfg.model.tier if cfg else tier_for_params(sum(p.numel() for p in model.parameters())))
    findings += [
        check_loss_decreased(records, steps, step_number(step)),
        check_nan_handled(records, steps),
        check_val_perplexity(records, step_number(step), tier, cfg),
    ]
    return Verdict.from_findings("checkpoint", str(path), findings)
