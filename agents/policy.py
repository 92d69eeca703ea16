"""The deterministic offline policy: every decision an agent makes, without an LLM.

It is the default provider (``--llm offline``) and the fallback whenever LLM output fails
validation or a guard. Intake's decision, the plan and its tier defaults, is agents.plan's.
"""

from __future__ import annotations

from pydantic import BaseModel

from agents.models import StageRecord
from tools.verdict import Remedy


def apply_remedy(decision: BaseModel, remedy: Remedy | None) -> BaseModel:
    """``decision`` with the remedy's parameters that name its fields applied over it."""
    if remedy is None:
        return decision
    update = {k: v for k, v in remedy.params.items() if k in type(decision).model_fields}
    return type(decision).model_validate({**decision.model_dump(), **update})


def rerun(record: StageRecord) -> Remedy:
    """The remedy when a stage's tool failed and nothing better is known: run it again."""
    return Remedy(stage=record.stage, action="rerun", text=f"run {record.stage} again")
