"""Review of a tuned run directory (tools.tune: manifest.json of kind ``tune_run``, and val.json,
the task scores on the validation split that the tune stage measured).

Checks:
- ``loads``: the manifest is a tune run's and val.json is a TaskEvalResult;
- ``completed``: the run finished its schedule with a finite validation loss;
- ``command_accuracy``: validation command exact match at least the tier's target (tools.tiers).

A missed target asks for the next of (:func:`task_remedy`): tuning twice as long (up to twice the
plan's budget), twice the task data, a larger model. The Integrator's review applies the same
ladder to the accuracy on the booted kernel.
"""

from __future__ import annotations

import math
from pathlib import Path

from pydantic import BaseModel

from tools.artifacts import MANIFEST, read_manifest
from tools.errors import InputError
from tools.review.checkpoint import run_config
from tools.review.findings import passed, read_artifact, rejected, remedy, rerun, short_of_target, unreadable
from tools.task.build import TaskData
from tools.tiers import TASK_TARGET
from tools.tune.request import TaskEvalResult
from tools.verdict import Remedy, Verdict

VAL_JSON = "val.json"
GROWTH = 2  # each remedy doubles; none goes past twice the plan's figure


class TuneBudget(BaseModel):
    """The plan's tuning budget and task data (the remedies grow from them, to ``GROWTH`` times)
    and the command exact match the tuned model must reach (tools.tiers.task_target)."""

    target: float = TASK_TARGET
    minutes: float
    max_steps: int | None = None
    task_examples: int


def task_remedy(run: Path, why: str, budget: TuneBudget | None) -> Remedy:
    """The next thing to try when the tuned model's commands fall short: tune longer, then more
    task data, then a larger model (``budget`` None: no cap, always tune longer)."""
    req = read_manifest(run).parameters.get("request", {})
    steps, tuned = req.get("max_steps"), req.get("minutes")
    if steps is not None and (
        budget is None or budget.max_steps is None or steps < GROWTH * budget.max_steps
    ):
        return remedy(
            "tune", "tune_longer", f"{why}: tune for {GROWTH * steps} steps", max_steps=GROWTH * steps
        )
    if tuned is not None and (budget is None or tuned < GROWTH * budget.minutes):
        longer = GROWTH * tuned if budget is None else min(GROWTH * tuned, GROWTH * budget.minutes)
        return remedy("tune", "tune_longer", f"{why}: tune for {longer:g} minutes", minutes=longer)
    task_examples = budget.task_examples if budget else None
    have = len(TaskData(req["task"]).examples("train")) if req.get("task") else 0
    if task_examples is None or have < GROWTH * task_examples:
        more = GROWTH * max(have, 1)
        return remedy("data", "more_task_data", f"{why}: build {more} task examples", task_examples=more)
    cfg = run_config(run)
    if cfg is None:
        return rerun("architect", f"{why}, after longer tuning on more data: a larger model is needed")
    layers = cfg.model.n_layers + max(1, cfg.model.n_layers // 2)
    text = f"{why}, after longer tuning on more data: grow the model from {cfg.model.n_layers} to {layers} layers"
    return remedy("architect", "larger_model", text, n_layers=layers)


def review_tuned(path: str | Path, budget: TuneBudget | None = None) -> Verdict:
    """Review a tuned run directory (``budget``: the plan's, which bounds the remedies)."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise InputError(f"{path}: no {MANIFEST} (not a tuned run directory)")
    manifest = read_manifest(path)
    if manifest.kind != "tune_run":
        return unreadable("tuned", path, "tune", f"manifest kind {manifest.kind!r}, not 'tune_run'")
    val = read_artifact(path, VAL_JSON, TaskEvalResult)
    if isinstance(val, str):
        return unreadable("tuned", path, "tune", val)
    m = manifest.metrics
    findings = [
        passed("loads", "tune", f"tuned run of {m.get('steps')} steps, {val.examples} validation examples")
    ]
    loss = m.get("best_val_loss")
    if m.get("status") != "completed" or not (isinstance(loss, (int, float)) and math.isfinite(loss)):
        why = f"tuning {m.get('status')} with validation loss {loss}"
        findings.append(rejected("completed", "tune", why, rerun("tune", why)))
        return Verdict.from_findings("tuned", str(path), findings)
    findings.append(passed("completed", "tune", f"completed, best validation loss {loss:.3f}"))
    target = budget.target if budget else TASK_TARGET
    evidence = {"command_exact": val.command_exact, "intent_accuracy": val.intent_accuracy, "target": target}
    if val.command_exact >= target:
        message = f"validation command exact match {val.command_exact:.1%} >= {target:.0%}"
        findings.append(passed("command_accuracy", "tune", message, **evidence))
    else:
        why = f"validation command exact match {val.command_exact:.1%} < {target:.0%}"
        fix = task_remedy(path, why, budget)
        findings.append(short_of_target("command_accuracy", fix.stage, why, fix, **evidence))
    return Verdict.from_findings("tuned", str(path), findings)
