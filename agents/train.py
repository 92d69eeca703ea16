"""The train stage (Trainer): decides learning rate, steps and LR scale (the architect's config,
the plan's overrides, the Reviewer's remedy), then runs tools.train.train.

The run directory is named by what defines the run (model, data, peak LR, batch, seed): a crash,
"resume at a lower LR" or "train longer" continue the same directory from its latest checkpoint;
a fork with another LR gets a new one. A run that diverged past its rollbacks is sent back to
resume from its newest step at a lowered LR scale (tools.train.divergence).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from agents.architect import ArchitectArtifacts
from agents.context import AgentContext, request_key
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.plan import budget_left
from agents.policy import apply_remedy, rerun
from tools import checkpoint as ckpt
from tools.config import ModelConfig
from tools.review.checkpoint import resume_after_divergence
from tools.train import TrainingDiverged, TrainRequest
from tools.train import train as train_model
from tools.verdict import Remedy, Stage

LR_RANGE = (1e-5, 1e-2)
MIN_TRAIN_SHARE = 0.5  # pretraining keeps at least this share of its planned minutes


class TrainArtifacts(Artifacts):
    stage: ClassVar[Stage] = "train"
    run: Path = Field(description="the run directory (tools.checkpoint)")


class TrainDecision(BaseModel):
    lr: float = Field(description="peak learning rate")
    max_steps: int = Field(description="optimizer steps of the schedule")
    lr_scale: float | None = Field(
        None, description="LR scale to resume at after a divergence (the remedy's); null keeps the run's own"
    )


def offline_train(inp: StageInput, cfg: ModelConfig) -> TrainDecision:
    """The config's schedule, the plan's overrides (a fork's ``lr=...`` or ``max_steps=...``), and
    the remedy's parameters over both."""
    plan = inp.plan
    base = TrainDecision(lr=plan.lr or cfg.training.lr, max_steps=plan.max_steps or cfg.training.max_steps)
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def train_guard(answer: TrainDecision, want: TrainDecision) -> str | None:
    return first_objection(
        in_range("lr", answer.lr, *LR_RANGE),
        in_range("max_steps", answer.max_steps, 1, 4 * want.max_steps),
        None
        if answer.lr_scale == want.lr_scale
        else f"lr_scale {answer.lr_scale} ignores the remedy's {want.lr_scale}",
    )


def train_minutes(inp: StageInput) -> tuple[float, str | None]:
    """Pretraining's clock: the plan's minutes, or, when the stages before it ran long, what the
    run's budget leaves after tuning and the finishing stages (at least ``MIN_TRAIN_SHARE`` of
    the plan's), with a warning that says so."""
    plan = inp.plan
    left = budget_left(plan, inp.started)
    room = None if left is None else left - plan.tune_minutes - plan.finish_minutes
    if room is None or room >= plan.train_minutes:
        return plan.train_minutes, None
    minutes = max(room, MIN_TRAIN_SHARE * plan.train_minutes)
    note = (
        f"pretraining gets {minutes:.1f} of its planned {plan.train_minutes:g} minutes: the earlier "
        f"stages left {left:.1f} of the run's {plan.budget_minutes:g}, and tuning and the later "
        f"stages need {plan.tune_minutes + plan.finish_minutes:g}"
    )
    if minutes > room:
        note += f" (the floor is {MIN_TRAIN_SHARE:.0%} of the plan: the run will overrun its budget)"
    return minutes, note


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    cfg = ModelConfig.load(inp.artifacts(ArchitectArtifacts).config)
    want = offline_train(inp, cfg)
    decided = decide(
        "trainer",
        stage="train",
        attempt=inp.attempt,
        schema=TrainDecision,
        context={
            "config": cfg.model_dump(mode="json"),
            "plan": inp.plan.model_dump(mode="json"),
            "remedy": inp.remedy and inp.remedy.model_dump(),
            "previous": inp.previous and inp.previous.model_dump(),
        },
        offline=lambda: want,
        guard=lambda a: train_guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    cfg_steps = cfg.training.max_steps
    cfg = cfg.model_copy(
        update={"training": cfg.training.model_copy(update={"lr": d.lr, "max_steps": d.max_steps})}
    )
    data = str(inp.artifacts(DataArtifacts).dataset)
    # the run is what the model, data, peak LR and batch define; its length is not part of it, so
    # "train longer" and "resume at a lower LR" continue the same run from its latest checkpoint
    t = cfg.training
    identity = {
        "model": cfg.model.model_dump(mode="json"),
        "data": data,
        "lr": t.lr,
        "batch": t.batch_size,
        "grad_accum": t.grad_accum,
        "seed": t.seed,
    }
    out = ctx.workspace.checkpoints / f"{inp.thread_id}-{request_key(identity)}"
    resume = bool(ckpt.step_dirs(out))
    # A length the plan or the remedy fixed is passed on, so it replaces the one a resumed run has.
    # Otherwise a new run fits its schedule to the plan's training minutes from the step time it
    # measures on this machine (a slower machine trains fewer steps in the same time; when that
    # misses the perplexity threshold, the review's remedy is to train longer).
    fixed = inp.plan.max_steps is not None or d.max_steps != cfg_steps
    minutes, cut = train_minutes(inp)  # a resumed run keeps the length it fitted
    request = TrainRequest(
        config=cfg,
        data=Path(data),
        out=out,
        resume=resume,
        max_steps=d.max_steps if fixed else None,
        time_budget_s=None if fixed else minutes * 60,
        device=inp.plan.device,  # type: ignore[arg-type]
        lr_scale=d.lr_scale,
        inject_nan_at_steps=inp.inject_nan_at_steps,
    )
    if inp.plan.profile == "micro":
        torch.set_num_threads(
            1
        )  # a model this small trains fastest on one thread, above all on a busy machine
    try:
        result = train_model(request, ctx.progress)
    except TrainingDiverged as e:  # the Reviewer routes it back with a lower-LR remedy
        failed = StageRecord(
            stage="train",
            attempt=inp.attempt,
            status="failed",
            error=str(e),
            outputs=TrainArtifacts(run=out).outputs(),
            params=d.model_dump(),
        )
        return outcome(failed, decided)
    record = StageRecord(
        stage="train",
        attempt=inp.attempt,
        status="ok" if result.status == "completed" else "failed",
        error=None if result.status == "completed" else f"training {result.status} at step {result.steps}",
        outputs=TrainArtifacts(run=out).outputs(),
        metrics={
            "steps": result.steps,
            "resumed": resume,
            "final_loss": result.final_loss,
            "best_val_loss": result.best_val_loss,
            "best_val_ppl": result.best_val_ppl,
            "best_step": result.best_step,
            "nan_events": len(result.nan_events),
            "tokens_per_s": result.tokens_per_s,
            "mfu": result.mfu,
            "params": result.params,
            "device": result.device,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided, warnings=[cut] if cut and not (fixed or resume) else None)


def on_failure(record: StageRecord, inp: StageInput) -> Remedy:
    """A run that diverged past its rollbacks resumes from its newest step at a lowered LR scale."""
    if "run" not in record.outputs:  # failed before the run directory was chosen
        return rerun(record)
    run = TrainArtifacts.model_validate(record.outputs).run
    return resume_after_divergence(run, record.error or "training diverged")


def review_context(inp: StageInput) -> dict[str, object]:
    """The checkpoint review judges perplexity by the plan's tier."""
    return {"tier": inp.plan.tier}
