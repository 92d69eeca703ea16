"""The Reviewer's verdict: machine-readable, so the graph can route on it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Stage = Literal["data", "architect", "train", "evaluate", "quantize", "export", "integrate"]
Severity = Literal["info", "warning", "error"]


class Remedy(BaseModel):
    """What to do about a rejection: the stage to return to, an action and its parameters."""

    stage: Stage
    action: str = Field(description="machine-readable action, e.g. 'resume_lower_lr', 'rerun_architect'")
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


class Verdict(BaseModel):
    kind: str = Field(description="what was reviewed: dataset, config, launch, checkpoint, ...")
    path: str
    approved: bool
    findings: list[Finding]

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.passed and f.severity == "error"]

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
