"""The evaluate stage (Evaluator): decides how much of the test split and how many QA pairs to
score and which checkpoint pointer to evaluate, then runs tools.eval.evaluate on the trained run.
Hands on the report directory and the checkpoint it scored (which quantize starts from)."""

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
from agents.train import TrainArtifacts
from tools.eval import EvalRequest, evaluate
from tools.verdict import Stage

MIN_TOKENS = 1024
MAX_TOKENS = 4_000_000


class EvaluateArtifacts(Artifacts):
    stage: ClassVar[Stage] = "evaluate"
    report: Path = Field(description="the evaluation report directory (tools.eval.report)")
    model: Path = Field(description="the checkpoint step directory that was scored")


class EvalDecision(BaseModel):
    checkpoint: Literal["best", "latest"] = Field(description="which checkpoint pointer of the run")
    max_tokens: int = Field(description="test tokens to score for perplexity")
    max_qa: int = Field(description="held-out QA pairs for task accuracy")


def offline_decision(inp: StageInput) -> EvalDecision:
    base = EvalDecision(checkpoint="best", max_tokens=inp.plan.eval_max_tokens, max_qa=inp.plan.eval_max_qa)
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: EvalDecision, want: EvalDecision) -> str | None:
    return first_objection(
        in_range("max_tokens", answer.max_tokens, MIN_TOKENS, MAX_TOKENS),
        in_range("max_qa", answer.max_qa, 1, 10 * want.max_qa),
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
        context={"plan": inp.plan.model_dump(mode="json"), "train": inp.upstream["train"].metrics},
        offline=lambda: want,
        guard=lambda a: guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    run_dir = str(inp.artifacts(TrainArtifacts).run)
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
    record = StageRecord(
        stage="evaluate",
        attempt=inp.attempt,
        status="ok",
        outputs=EvaluateArtifacts(report=rep.report_dir, model=rep.resolved).outputs(),
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
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)
