"""Intake: goal sentence -> Plan.

The deterministic reader (agents.goal) settles what the goal states explicitly, including what
its hardware words imply, and asks back when it is unclear or not a goal at all (before any LLM
is asked). With an LLM, the model reads the goal too; its answer must agree with every field the
deterministic reading found (else: fallback, and the decision log says why). Fields the goal does
not state take the documented defaults of agents.plan: a value the goal never mentioned is a
guess, and guesses are not plans.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.decide import LLM, decide
from agents.goal import GoalFields, read_goal
from agents.guards import intake_guard
from agents.models import CostEntry, DecisionRecord, Plan, Profile
from agents.plan import plan_from_fields


@dataclass(frozen=True)
class IntakeResult:
    plan: Plan
    decision: DecisionRecord
    cost: CostEntry | None


def intake(
    goal: str, llm: LLM | None, profile: Profile = "full", overrides: dict[str, object] | None = None
) -> IntakeResult:
    """Read ``goal`` into a Plan; raises agents.goal.Question when it must ask back.

    ``overrides`` (e.g. ``budget_minutes``, ``device`` from the command line) win over the goal.
    """
    reading = read_goal(goal)
    explicit = reading.fields
    decided = decide(
        "intake",
        stage="intake",
        attempt=1,
        schema=GoalFields,
        context={"goal": goal},
        offline=lambda: explicit,
        guard=lambda answer: intake_guard(answer, explicit),
        llm=llm,
    )
    # the LLM may only confirm what the goal states; unstated fields take the defaults
    stated = GoalFields.model_validate(
        {k: v for k, v in decided.value.model_dump().items() if getattr(explicit, k) is not None}
    )
    ignored = sorted(
        k for k, v in decided.value.model_dump(exclude_none=True).items() if getattr(explicit, k) is None
    )
    record = decided.record
    if ignored:
        record = record.model_copy(
            update={
                "reason": record.reason + f"; ignored values the goal does not state: {', '.join(ignored)}"
            }
        )
    stated = stated.model_copy(update={k: v for k, v in (overrides or {}).items() if v is not None})
    return IntakeResult(plan_from_fields(goal, stated, profile, reading.notes), record, decided.cost)
