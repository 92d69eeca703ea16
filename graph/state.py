"""The typed pipeline state the LangGraph graph carries from goal to kernel.

Nodes return partial updates; list fields are append-only (``operator.add``) and dict fields
merge key by key, so the checkpoint history shows every stage execution, review, decision and
LLM call. Updates are plain JSON values (see :func:`dump`), so checkpoints never depend on
importing our classes to be read back.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from agents.models import (
    CostEntry,
    DecisionRecord,
    Plan,
    Profile,
    ReviewRecord,
    StageRecord,
    now_iso,
)
from agents.providers import ProviderName
from tools.verdict import Remedy, Stage

Status = Literal["running", "done", "failed", "question"]


def merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    return {**left, **right}


class RunSettings(BaseModel):
    """How the run is executed (not what it builds: that is the Plan)."""

    llm: ProviderName = "offline"
    llm_strict: bool = False
    profile: Profile = "full"
    budget_minutes: float | None = Field(None, gt=0, description="overrides the plan's time budget")
    device: str | None = Field(None, description="overrides the plan's device: auto, cpu or cuda")
    until: Stage | None = Field(None, description="stop after this stage is approved (then write the report)")
    max_attempts_per_stage: int = Field(3, gt=0)
    max_stage_runs: int = Field(20, gt=0, description="stage executions allowed in the whole run")
    inject_nan_at_steps: list[int] = Field(
        default_factory=list, description="fault injection: NaN losses in the first training attempt"
    )


class PipelineState(BaseModel):
    goal: str
    settings: RunSettings = Field(default_factory=RunSettings)
    started: str = Field(default_factory=now_iso)
    finished: str | None = None
    plan: Plan | None = None
    question: str | None = Field(None, description="what intake asks back when the goal is unclear")
    stages: Annotated[dict[str, StageRecord], merge] = Field(
        default_factory=dict, description="the latest execution of each stage"
    )
    runs: Annotated[list[StageRecord], operator.add] = Field(
        default_factory=list, description="every stage execution, in order"
    )
    reviews: Annotated[list[ReviewRecord], operator.add] = Field(default_factory=list)
    attempts: Annotated[dict[str, int], merge] = Field(default_factory=dict)
    remedy: Remedy | None = Field(None, description="the remedy the next run of remedy.stage applies")
    decisions: Annotated[list[DecisionRecord], operator.add] = Field(default_factory=list)
    costs: Annotated[list[CostEntry], operator.add] = Field(default_factory=list)
    warnings: Annotated[list[str], operator.add] = Field(default_factory=list)
    status: Status = "running"
    failure: str | None = None
    report: str | None = Field(None, description="path of the run report (report.md)")
    last_node: str = ""
    next_node: str = Field("intake", description="where the router sends the run next")

    def attempt(self, stage: Stage) -> int:
        return self.attempts.get(stage, 0)


def dump(**fields: Any) -> dict[str, Any]:
    """A node's update as plain JSON values (pydantic models and lists of them dumped)."""

    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(mode="json")
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in fields.items()}
