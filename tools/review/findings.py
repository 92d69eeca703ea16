"""Constructors for the findings every reviewer writes: a pass, a warning, a rejection with a remedy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tools.artifacts import read_json
from tools.errors import InputError
from tools.verdict import Action, Finding, Remedy, Stage, Verdict

M = TypeVar("M", bound=BaseModel)


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


def short_of_target(check: str, stage: Stage, message: str, remedy: Remedy, **evidence: Any) -> Finding:
    """A rejection of an artifact that works but misses a quality target (a perplexity, an
    accuracy): the remedy may improve it, and later stages can still build on it as it is."""
    return rejected(check, stage, message, remedy, **evidence).model_copy(update={"short_of_target": True})


def remedy(stage: Stage, action: Action, text: str, **params: Any) -> Remedy:
    return Remedy(stage=stage, action=action, params=params, text=text)


def rerun(stage: Stage, why: str) -> Remedy:
    return Remedy(stage=stage, action="rerun", text=f"re-run the {stage} stage: {why}")


def read_artifact(path: Path, name: str, model: type[M]) -> M | str:
    """The JSON file ``name`` in directory ``path`` (or ``path`` itself) as a ``model``, or why it is
    not one (a rejection for the caller); a missing file is an InputError."""
    file = path / name if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{path}: no {name}")
    try:
        return model.model_validate(read_json(file))
    except ValidationError as e:
        return f"{file.name} is not a valid {model.__name__} ({str(e).splitlines()[0]})"


def unreadable(kind: str, path: Path, stage: Stage, why: str) -> Verdict:
    """The verdict on an artifact that is there but cannot be read: re-run the stage that made it."""
    return Verdict.from_findings(kind, str(path), [rejected("loads", stage, why, rerun(stage, why))])
