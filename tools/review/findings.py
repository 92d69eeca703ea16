"""Constructors for the findings every reviewer writes: a pass, a warning, a rejection with a remedy."""

from __future__ import annotations

from typing import Any

from tools.verdict import Action, Finding, Remedy, Stage


def passed(check: str, stage: Stage, message: str, **evidence: Any) -> Finding:
    return Finding(check=check, passed=True, severity="info", message=message, evidence=evidence, stage=stage)


def warning(check: str, stage: Stage, message: str, **evidence: Any) -> Finding:
    return Finding(
        check=check, passed=False, severity="warning", message=message, evidence=evidence, stage=stage
    )


def rejected(check: str, stage: Stage, message: str, remedy: Remedy, **evidence: Any) -> Finding:
    return Finding(
        check=check,
        passed=False,
        severity="error",
        message=message,
        evidence=evidence,
        stage=stage,
        remedy=remedy,
    )


def remedy(stage: Stage, action: Action, text: str, **params: Any) -> Remedy:
    return Remedy(stage=stage, action=action, params=params, text=text)


def rerun(stage: Stage, why: str) -> Remedy:
    return Remedy(stage=stage, action="rerun", text=f"re-run the {stage} stage: {why}")
