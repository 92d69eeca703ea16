"""The evaluate stage (Evaluator): decides how much of the test split and how many QA pairs to
score and which checkpoint pointer to evaluate, then runs tools.eval.evaluate on the tuned run
(perplexity over the text vocabulary) and tools.tune.evaluate_task on the task's held-out test
split (commands, intents, arguments, refusals, grounded answers; ``task.json`` in the report
directory). Hands on the report directory and the checkpoint it scored (which quantize starts
from)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from agents.context import AgentContext
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy
from agents.tune import TuneArtifacts
from tools.artifacts import atomic_write_json
from tools.eval import EvalRequest, evaluate
from tools.tune import TaskEvalRequest, TaskEvalResult, evaluate_task
from tools.verdict import Stage

TASK_JSON = "task.json"

MIN_TOKENS = 1024
MAX_TOKENS = 4_000_000


class EvaluateArtifacts(Artifacts):
    stage: ClassVar[Stage] = "evaluate"
    report: Path = Field(description="the evaluation report directory (tools.eval.report)")
    model: Path = Field(description="the checkpoint step directory that was scored")
    task: Path = Field(description="task.json: the held-out task scores (tools.tune.TaskEvalResult)")


class EvalDecision(BaseModel):
    checkpoint: Literal["best", "latest"] = Field(description="which checkpoint pointer of the run")
    max_tokens: int = Field(description="test tokens to score for perplexity")
    max_qa: int = Field(description="held-out QA pairs for task accuracy")
    task_examples: int | None = Field(None, description="held-out task examples to score; null: the plan's")


def offline_decision(inp: StageInput) -> EvalDecision:
    p = inp.plan
    base = EvalDecision(
        checkpoint="best",
        max_tokens=p.eval_max_tokens,
        max_qa=p.eval_max_qa,
        task_examples=p.eval_task_examples,
    )
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: EvalDecision, want: EvalDecision) -> str | None:
    return first_objection(
        in_range("max_tokens", answer.max_tokens, MIN_TOKENS, MAX_TOKENS),
        in_range("max_qa", answer.max_qa, 1, 10 * want.max_qa),
        in_range(
            "task_examples", answer.task_examples or want.task_examples, 1, 10 * (want.task_examples or 1)
        ),
        None
        if answer.max_tokens <= 4 * want.max_tokens
        else "max_tokens exceeds 4x the plan's evaluation budget",
    )


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    want = offline_decision(inp)
    decided = decide(
        "evaluator",
        stage="evaluate",
        attempt=inp.attempt,
        schema=EvalDecision,
        context={"plan": inp.plan.model_dump(mode="json"), "tune": inp.upstream["tune"].metrics},
        offline=lambda: want,
        guard=lambda a: guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    run_dir = str(inp.artifacts(TuneArtifacts).run)
    rep = evaluate(
        EvalRequest(
            model=run_dir,
            data=str(inp.artifacts(DataArtifacts).dataset),
            prefer=d.checkpoint,
            max_tokens=d.max_tokens,
            max_qa=d.max_qa,
        ),
        ctx.progress,
    )
    task = evaluate_task(
        TaskEvalRequest(
            model=rep.resolved,
            task=inp.artifacts(DataArtifacts).task,
            limit=d.task_examples or want.task_examples,
        ),
        ctx.progress,
    )
    task_json = atomic_write_json(Path(rep.report_dir) / TASK_JSON, task)
    record = StageRecord(
        stage="evaluate",
        attempt=inp.attempt,
        status="ok",
        outputs=EvaluateArtifacts(report=rep.report_dir, model=rep.resolved, task=task_json).outputs(),
        metrics={
            "perplexity": rep.perplexity,
            "ppl_threshold": rep.ppl_threshold,
            "passed": rep.passed,
            "bits_per_byte": rep.bits_per_byte,
            "next_token_accuracy": rep.next_token_accuracy,
            "task_accuracy": rep.task_accuracy,
            "qa_correct": rep.qa_correct,
            "qa_total": rep.qa_total,
            "tokens_scored": rep.tokens_scored,
            "whole_split": rep.whole_split,
            "params": rep.params,
            **task_metrics(task),
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)


def task_metrics(task: TaskEvalResult) -> dict[str, object]:
    """The task scores a stage record carries (the per-intent table stays in task.json)."""
    return {
        "task_examples": task.examples,
        "command_exact": task.command_exact,
        "intent_accuracy": task.intent_accuracy,
        "argument_accuracy": task.argument_accuracy,
        "refusal_precision": task.refusal_precision,
        "refusal_recall": task.refusal_recall,
        "grounded_accuracy": task.grounded_accuracy,
    }
