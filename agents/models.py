"""The pydantic records agents produce and the graph keeps in its state.

- ``Plan``: what intake understood from the goal (tier, arch, tokenizer, quantization, budgets).
- ``DecisionRecord``: one decision and who made it (``llm``, ``offline`` policy, or ``fallback``
  to the offline policy after invalid LLM output or an unreachable endpoint).
- ``CostEntry``: the token usage and price of one LLM call (the run's cost ledger).
- ``StageRecord``: one execution of a stage: its artifacts, metrics, parameters, and error.
- ``ReviewRecord``: the Reviewer's verdict on one stage execution, reduced to what routing needs.
- ``Artifacts``: the typed references to the files a stage hands on (each stage module defines
  its own; the stage table in agents/stages.py names them).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field

from tools.tiers import Arch
from tools.verdict import Remedy, Stage

TierChoice = Literal["micro", "tiny", "small", "medium", "large"]
TokenizerChoice = Literal["bpe", "wordpiece", "sentencepiece"]
QuantType = Literal["Q8_0", "Q4_0"]
QuantMethod = Literal["rtn", "gptq", "awq"]
Profile = Literal["full", "micro"]
DecisionSource = Literal["llm", "offline", "fallback"]

# every run must cost less than this (success criterion 8, docs/pipeline.md)
SPEC_BUDGET_USD = 25.0


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Plan(BaseModel):
    """What the run will build; every field is decided at intake and may be edited by a fork."""

    goal: str
    profile: Profile = Field("full", description="'micro' shrinks every stage for tests and smoke runs")
    tier: TierChoice
    arch: Arch
    tokenizer: TokenizerChoice
    vocab_size: int = Field(gt=255)
    quant_type: QuantType
    quant_method: QuantMethod
    budget_minutes: float = Field(gt=0, description="wall-time budget of the whole run")
    train_minutes: float = Field(gt=0, description="the part of the budget given to training")
    budget_usd: float = Field(gt=0, description="money budget of the whole run (LLM calls + compute)")
    device: str = "auto"
    flops_per_s: float | None = Field(
        None, gt=0, description="assumed training FLOP/s of the goal's GPU card (none here to measure)"
    )
    data_max_bytes: int | None = Field(None, description="cap on cleaned corpus bytes (None: all)")
    eval_max_tokens: int = Field(gt=0, description="token cap of perplexity evaluation")
    eval_max_qa: int = Field(gt=0, description="held-out QA pairs used for task accuracy")
    tune_minutes: float = Field(
        5.0, gt=0, description="the task tuning's wall-clock budget (part of the overhead)"
    )
    tune_max_steps: int | None = Field(None, gt=0, description="fixed tuning length (None: on the clock)")
    finish_minutes: float = Field(
        10.0, gt=0, description="evaluation, quantization, export and the kernel (part of the overhead)"
    )
    task_examples: int = Field(20_000, gt=0, description="train examples of the task dataset")
    eval_task_examples: int = Field(300, gt=0, description="held-out task examples the evaluate stage scores")
    console_requests: int = Field(60, gt=0, description="held-out requests typed on the booted kernel")
    lr: float | None = Field(None, gt=0, description="learning-rate override of the architect's config")
    max_steps: int | None = Field(None, gt=0, description="training-steps override")
    ram_mb: int = Field(gt=0, description="RAM given to QEMU when the kernel boots")
    seed: int = 1337
    assumptions: list[str] = Field(default_factory=list, description="defaults intake filled in")


class DecisionRecord(BaseModel):
    agent: str
    stage: str
    attempt: int
    source: DecisionSource
    choice: dict[str, Any]
    reason: str = ""
    proposed: dict[str, Any] | None = Field(
        None, description="the LLM's parsed answer when a guard overruled it"
    )
    time: str = Field(default_factory=now_iso)


class CostEntry(BaseModel):
    agent: str
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0


class StageRecord(BaseModel):
    stage: Stage
    attempt: int
    status: Literal["ok", "failed"]
    outputs: dict[str, str] = Field(default_factory=dict, description="artifact name -> path")
    metrics: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    started: str = Field(default_factory=now_iso)
    wall_s: float = 0.0


class ReviewRecord(BaseModel):
    stage: Stage
    attempt: int
    kind: str
    path: str
    approved: bool
    failures: list[str] = Field(default_factory=list, description="one line per failing check")
    usable: bool = Field(False, description="approved, or rejected only for missed quality targets")
    remedy: Remedy | None = None
    time: str = Field(default_factory=now_iso)


class Artifacts(BaseModel):
    """What one stage hands on to the later ones: paths, typed per stage.

    A subclass sets ``stage`` and declares one field per artifact; ``StageRecord.outputs`` stores
    them as plain strings (the checkpointed state is JSON), ``StageInput.artifacts`` reads them back.
    """

    stage: ClassVar[Stage]

    def outputs(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.model_dump().items() if v is not None}


A = TypeVar("A", bound=Artifacts)


class StageInput(BaseModel):
    """What an agent needs to run one stage: the plan, upstream artifacts, and any remedy to apply."""

    stage: Stage
    attempt: int
    thread_id: str
    plan: Plan
    upstream: dict[str, StageRecord] = Field(default_factory=dict, description="latest record per stage")
    previous: StageRecord | None = Field(None, description="this stage's previous execution, if any")
    remedy: Remedy | None = Field(None, description="the Reviewer's remedy for this stage, to apply now")
    inject_nan_at_steps: list[int] = Field(default_factory=list)
    started: str | None = Field(None, description="when the run started (ISO), for what its budget leaves")

    def artifacts(self, kind: type[A]) -> A:
        """The artifacts of the stage that made ``kind`` (its latest execution)."""
        return kind.model_validate(self.upstream[kind.stage].outputs)


class StageOutcome(BaseModel):
    record: StageRecord
    decisions: list[DecisionRecord] = Field(default_factory=list)
    costs: list[CostEntry] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
