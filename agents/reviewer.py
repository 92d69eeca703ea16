"""Reviewer: gates every stage with a tools.review verdict and picks the remedy of a rejection.

The verdict is deterministic (tools.review); the Reviewer's decision is which of the verdict's
remedies to apply, with a note. The trust rule holds here too: an LLM may not approve what the
checks rejected, nor reject what they approved, nor invent a remedy the verdict does not offer.
A stage whose tool failed outright is rejected with its stage's remedy for that failure (the
stage table, agents/stages.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from agents.context import AgentContext
from agents.decide import LLM, decide
from agents.models import CostEntry, DecisionRecord, ReviewRecord, StageInput, StageRecord
from agents.stages import SPECS
from tools.verdict import Finding, Remedy, Verdict


class ReviewDecision(BaseModel):
    approve: bool = Field(description="true to pass the stage on, false to send it back")
    remedy_action: str | None = Field(
        None, description="when rejecting: the action of one of the offered remedies"
    )
    note: str = Field("", description="one sentence for the run report")


@dataclass(frozen=True)
class ReviewOutcome:
    review: ReviewRecord
    decisions: list[DecisionRecord] = field(default_factory=list)
    costs: list[CostEntry] = field(default_factory=list)


def failed_stage_verdict(record: StageRecord, inp: StageInput) -> Verdict:
    finding = Finding(
        check="stage_completed",
        passed=False,
        severity="error",
        message=record.error or "the stage failed",
        stage=record.stage,
        remedy=SPECS[record.stage].on_failure(record, inp),
    )
    return Verdict.from_findings("stage", record.outputs.get("run", record.stage), [finding])


def verdict_for(record: StageRecord, inp: StageInput) -> Verdict:
    if record.status == "failed":
        return failed_stage_verdict(record, inp)
    from tools.review import review as run_review

    spec = SPECS[record.stage]
    artifacts = spec.artifacts.model_validate(record.outputs)
    return run_review(spec.review, spec.reviewed(artifacts), **spec.context(inp))


def offline_decision(verdict: Verdict) -> ReviewDecision:
    remedy = verdict.remedy
    return ReviewDecision(
        approve=verdict.approved,
        remedy_action=None if verdict.approved or remedy is None else remedy.action,
        note="all checks passed" if verdict.approved else verdict.failures[0].message,
    )


def guard(answer: ReviewDecision, verdict: Verdict) -> str | None:
    if answer.approve != verdict.approved:
        said = "approve" if answer.approve else "reject"
        return f"the checks {'approved' if verdict.approved else 'rejected'} the stage; the LLM said {said}"
    offered = [f.remedy.action for f in verdict.failures if f.remedy is not None]
    if not verdict.approved and answer.remedy_action is not None and answer.remedy_action not in offered:
        return (
            f"remedy {answer.remedy_action!r} is not one the verdict offers ({', '.join(offered) or 'none'})"
        )
    return None


def chosen_remedy(verdict: Verdict, action: str | None) -> Remedy | None:
    for f in verdict.failures:
        if f.remedy is not None and (action is None or f.remedy.action == action):
            return f.remedy
    return None


def review(record: StageRecord, inp: StageInput, ctx: AgentContext) -> ReviewOutcome:
    return judge(verdict_for(record, inp), record, ctx.llm)


def judge(verdict: Verdict, record: StageRecord, llm: LLM | None) -> ReviewOutcome:
    """The Reviewer's decision on ``verdict``: pass the stage on, or which remedy to apply."""
    failures = [f"{f.check}: {f.message}" for f in verdict.failures]
    decided = decide(
        "reviewer",
        stage=record.stage,
        attempt=record.attempt,
        schema=ReviewDecision,
        context={
            "stage": record.stage,
            "metrics": record.metrics,
            "checks": [
                {"check": f.check, "passed": f.passed, "message": f.message} for f in verdict.findings
            ],
            "approved_by_checks": verdict.approved,
            "remedies": [f.remedy.model_dump() for f in verdict.failures if f.remedy is not None],
        },
        offline=lambda: offline_decision(verdict),
        guard=lambda a: guard(a, verdict),
        llm=llm,
    )
    d = decided.value
    rec = ReviewRecord(
        stage=record.stage,
        attempt=record.attempt,
        kind=verdict.kind,
        path=verdict.path,
        approved=verdict.approved,
        failures=failures,
        usable=verdict.usable,
        remedy=None if verdict.approved else chosen_remedy(verdict, d.remedy_action),
    )
    return ReviewOutcome(rec, [decided.record], [decided.cost] if decided.cost else [])
