"""The Reviewer's verdict: machine-readable, so the graph can route on it.

A rejection carries a Remedy: the stage to return to, one action of the closed set below, and
parameters named after the fields the stage's decision takes (the graph applies them as they are).

| action            | stage      | params                                   | meaning                                         |
|-------------------|------------|------------------------------------------|-------------------------------------------------|
| rerun             | any        | (none)                                   | run the stage again as it is (text says why)    |
| more_data         | data       | max_bytes                                | prepare with a larger corpus budget             |
| match_vocab       | architect  | vocab_size                               | redesign with the tokenizer's vocabulary size   |
| resize_model      | architect  | n_layers and/or d_model, d_ff            | shape that fits the tier's parameter bounds     |
| align_dims        | architect  | d_model, d_ff, n_heads, n_kv_heads       | rows multiples of 32, heads that divide d_model |
| shorten_context   | architect  | context                                  | a context whose KV cache fits the tier's RAM    |
| fewer_steps       | architect  | max_steps                                | a schedule the train split can feed             |
| larger_model      | architect  | n_layers                                 | more capacity: the loss plateaued too high      |
| resume_lower_lr   | train      | lr_scale, from_step                      | resume from a good step at a scaled-down LR     |
| train_longer      | train      | max_steps                                | continue: the loss was still falling            |
| tune_longer       | tune       | minutes                                  | tune again from the pretrained model, longer    |
| more_task_data    | data       | task_examples                            | build the task dataset with more examples       |
| requantize        | quantize   | method, qtype                            | a stronger method or a wider type               |
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, Field

# the pipeline's stages in their order (the stage table, agents/stages.py, runs them)
Stage = Literal["data", "architect", "train", "tune", "evaluate", "quantize", "export", "integrate"]
STAGES: tuple[Stage, ...] = get_args(Stage)
Severity = Literal["info", "warning", "error"]
Action = Literal[
    "rerun",
    "more_data",
    "match_vocab",
    "resize_model",
    "align_dims",
    "shorten_context",
    "fewer_steps",
    "larger_model",
    "resume_lower_lr",
    "train_longer",
    "tune_longer",
    "more_task_data",
    "requantize",
]


class Remedy(BaseModel):
    """What to do about a rejection: the stage to return to, an action and its parameters."""

    stage: Stage
    action: Action = Field(description="one of the closed set of actions in this module's docstring")
    params: dict[str, Any] = Field(default_factory=dict)
    text: str = Field(description="the same remedy in one sentence, for people and prompts")


class Finding(BaseModel):
    check: str = Field(description="name of the check, e.g. 'splits_disjoint'")
    passed: bool
    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)
    stage: Stage = Field(description="the stage responsible for what was checked")
    remedy: Remedy | None = None
    short_of_target: bool = Field(
        False, description="the artifact works but misses a quality target: later stages can build on it"
    )


class Verdict(BaseModel):
    kind: str = Field(description="what was reviewed: dataset, config, launch, checkpoint, ...")
    path: str
    approved: bool
    findings: list[Finding]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and f.severity == "error"]

    @property
    def usable(self) -> bool:
        """Approved, or rejected only for missed quality targets: the artifact can be carried on."""
        return all(f.short_of_target for f in self.failures)

    @property
    def remedy(self) -> Remedy | None:
        """The remedy of the first failing error finding: where the graph routes a rejection."""
        for f in self.failures:
            if f.remedy is not None:
                return f.remedy
        return None

    @classmethod
    def from_findings(cls, kind: str, path: str, findings: list[Finding]) -> Verdict:
        approved = not any(not f.passed and f.severity == "error" for f in findings)
        return cls(kind=kind, path=path, approved=approved, findings=findings)
