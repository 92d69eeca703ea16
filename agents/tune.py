"""The tune stage (Trainer): tunes the pretrained model on the console task (tools.tune), then
scores it on the task's validation split, which the Reviewer gates on (tools.review.tuned).

The budget is the plan's tuning minutes on the clock (warmup-stable-decay sized from this run's
own throughput), or a fixed step count (micro). The run directory is named by what defines it
(pretrained checkpoint, task data, LR, budget): a crash resumes it; "tune longer" tunes again
from the pretrained model into a new one, since a decayed schedule cannot be stretched.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy
from agents.train import TrainArtifacts
from tools import checkpoint as ckpt
from tools.artifacts import atomic_write_json
from tools.review.tuned import VAL_JSON, TuneBudget
from tools.tiers import task_target
from tools.tune import TaskEvalRequest, TuneRequest, evaluate_task, tune
from tools.verdict import Stage

LR_RANGE = (1e-5, 1e-2)
VAL_SHARE = 2  # the validation check scores half as many examples as the test evaluation


class TuneArtifacts(Artifacts):
    stage: ClassVar[Stage] = "tune"
    run: Path = Field(description="the tuned run directory (tools.checkpoint layout, chat tokens added)")


class TuneDecision(BaseModel):
    minutes: float = Field(description="wall-clock budget of the tuning")
    max_steps: int | None = Field(None, description="fixed schedule length; null: sized on the clock")
    lr: float = Field(description="peak LR of the warmup-stable-decay schedule")


def offline_decision(inp: StageInput) -> TuneDecision:
    base = TuneDecision(
        minutes=inp.plan.tune_minutes,
        max_steps=inp.plan.tune_max_steps,
        lr=TuneRequest.model_fields["lr"].default,
    )
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: TuneDecision, want: TuneDecision) -> str | None:
    return first_objection(
        in_range("lr", answer.lr, *LR_RANGE),
        in_range("minutes", answer.minutes, 0.1, 2 * want.minutes),
        None
        if answer.max_steps == want.max_steps
        else f"max_steps {answer.max_steps} is not {want.max_steps}",
    )


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    want = offline_decision(inp)
    decided = decide(
        "trainer",
        stage="tune",
        attempt=inp.attempt,
        schema=TuneDecision,
        context={
            "plan": inp.plan.model_dump(mode="json"),
            "train": inp.upstream["train"].metrics,
            "remedy": inp.remedy and inp.remedy.model_dump(),
        },
        offline=lambda: want,
        guard=lambda a: guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    data = inp.artifacts(DataArtifacts)
    pretrained = ckpt.resolve_checkpoint(inp.artifacts(TrainArtifacts).run, prefer=ckpt.BEST)
    identity = {"model": str(pretrained), "task": str(data.task), **d.model_dump()}
    out = ctx.workspace.checkpoints / f"{inp.thread_id}-tune-{request_key(identity)}"
    result = tune(
        TuneRequest(
            model=pretrained,
            task=data.task,
            data=data.dataset,
            out=out,
            minutes=None if d.max_steps else d.minutes,
            max_steps=d.max_steps,
            lr=d.lr,
            resume=bool(ckpt.step_dirs(out)),
            device=inp.plan.device,  # type: ignore[arg-type]
            seed=inp.plan.seed,
        ),
        ctx.progress,
    )
    val = evaluate_task(
        TaskEvalRequest(
            model=out,
            task=data.task,
            split="val",
            limit=max(1, inp.plan.eval_task_examples // VAL_SHARE),
            answers=False,
        ),
        ctx.progress,
    )
    atomic_write_json(out / VAL_JSON, val)
    record = StageRecord(
        stage="tune",
        attempt=inp.attempt,
        status="ok" if result.status == "completed" else "failed",
        error=None if result.status == "completed" else f"tuning {result.status} at step {result.steps}",
        outputs=TuneArtifacts(run=out).outputs(),
        metrics={
            "steps": result.steps,
            "task_examples": result.task_examples,
            "best_val_loss": result.best_val_loss,
            "tokens_per_s": result.tokens_per_s,
            "wall_s": result.wall_s,
            "val_command_exact": val.command_exact,
            "val_intent_accuracy": val.intent_accuracy,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)


def budget(inp: StageInput) -> TuneBudget:
    p = inp.plan
    return TuneBudget(
        target=task_target(p.tier),
        minutes=p.tune_minutes,
        max_steps=p.tune_max_steps,
        task_examples=p.task_examples,
    )


def review_context(inp: StageInput) -> dict[str, object]:
    """The remedies of a short tuning grow from the plan's own tuning budget and task data."""
    return {"budget": budget(inp)}
