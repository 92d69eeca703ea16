"""Where the run goes after the Reviewer: a pure function of the state and the review.

Approve -> the next stage of the flow (after ``integrate``, or the run's ``until`` stage: the
report). Reject -> the stage the verdict's remedy names, carrying the remedy in the state.
Bounded: a stage may run at most ``max_attempts_per_stage`` times and the run at most
``max_stage_runs`` stage executions, and a remedy starts only while the rest of the plan's time
budget holds the finishing stages' minutes (and its own, for one on the clock: tune for N
minutes; train N more steps, at the run's pace) and tuning's when it goes back before tuning.
At a bound the run is failed, with what was tried; a stage rejected only for missed
quality targets (an accuracy, a perplexity) hands its artifact on to the next stage, so the run
still builds and measures everything after it, and any other rejection goes to the report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.models import ReviewRecord
from agents.plan import budget_left
from graph.state import PipelineState, dump
from tools.verdict import STAGES, Remedy

REPORT = "report"


def next_stage(stage: str) -> str:
    i = STAGES.index(stage)  # type: ignore[arg-type]
    return STAGES[i + 1] if i + 1 < len(STAGES) else REPORT


def tried(state: PipelineState, stage: str) -> str:
    """One line per earlier execution of ``stage``: attempt, outcome, the remedy it applied."""
    lines = []
    for run in state.runs:
        if run.stage != stage:
            continue
        verdicts = [r for r in state.reviews if r.stage == stage and r.attempt == run.attempt]
        outcome = run.error or (
            "; ".join(verdicts[-1].failures) if verdicts and verdicts[-1].failures else "ok"
        )
        applied = run.params.get("remedy")
        lines.append(f"attempt {run.attempt}" + (f" ({applied})" if applied else "") + f": {outcome}")
    return "\n".join(lines)


def budget_spent(state: PipelineState, remedy: Remedy | None = None, now: datetime | None = None) -> str | None:
    """Why ``remedy`` may not start: what is left of the plan's wall-time budget cannot hold its
    own minutes (a remedy on the clock, tune for N minutes, or one that says what it takes, train
    N more steps), tuning's when the remedy goes back before it, and the finishing stages
    (evaluate to integrate). None while it may start."""
    if state.plan is None:
        return None
    plan = state.plan
    left = budget_left(plan, state.started, now)
    assert left is not None
    if left <= 0:
        return f"the run's {plan.budget_minutes:g}-minute budget is spent ({plan.budget_minutes - left:.0f} minutes in)"
    own = float(remedy.params.get("minutes", 0)) if remedy is not None else 0.0
    before_tune = remedy is not None and STAGES.index(remedy.stage) < STAGES.index("tune")
    tune = plan.tune_minutes if before_tune else 0.0
    if left >= own + tune + plan.finish_minutes:
        return None
    need = "".join(
        f"{m:g} {what} and " for m, what in ((own, "more"), (tune, "of tuning")) if m
    )
    return (
        f"{left:.0f} of the run's {plan.budget_minutes:g} minutes are left, too few for {need}the "
        f"{plan.finish_minutes:g} of the finishing stages"
    )


def after_review(state: PipelineState, review: ReviewRecord) -> dict[str, Any]:
    """The state update that routes the run after ``review``."""
    if review.approved:
        done = review.stage == state.settings.until
        return dump(remedy=None, next_node=REPORT if done else next_stage(review.stage))
    remedy = review.remedy or Remedy(
        stage=review.stage, action="rerun", text=f"re-run {review.stage} (the verdict named no remedy)"
    )
    target = remedy.stage
    settings = state.settings
    bound = None
    if state.attempt(target) >= settings.max_attempts_per_stage:
        bound = f"{target} already ran {state.attempt(target)} times (max {settings.max_attempts_per_stage})"
    elif len(state.runs) >= settings.max_stage_runs:
        bound = f"the run already executed {len(state.runs)} stages (max {settings.max_stage_runs})"
    else:
        bound = budget_spent(state, remedy)
    if not bound:
        return dump(remedy=remedy, next_node=target)
    failure = (
        f"{review.stage} rejected ({'; '.join(review.failures) or 'no detail'}) and {bound}.\n"
        f"Tried:\n{tried(state, target)}"
    )
    failure = f"{state.failure}\n{failure}" if state.failure else failure
    last = review.stage == settings.until or next_stage(review.stage) == REPORT
    onward = REPORT if last or not review.usable else next_stage(review.stage)
    return dump(remedy=None, status="failed", failure=failure, next_node=onward)
