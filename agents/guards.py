"""Deterministic guards over LLM answers that already parsed into their pydantic models.

Each guard returns None when the answer may be used, or a one-line objection; the caller
(agents.decide) then lets the offline policy decide and logs the objection as the fallback's reason.
"""

from __future__ import annotations

import math
from typing import Any

from agents.goal import GoalFields


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return not math.isclose(float(a), float(b), rel_tol=1e-6)
    return getattr(a, "value", a) != getattr(b, "value", b)


def intake_guard(answer: GoalFields, explicit: GoalFields) -> str | None:
    """The LLM's reading must keep every field the goal states explicitly."""
    for name in GoalFields.model_fields:
        want, got = getattr(explicit, name), getattr(answer, name)
        if want is not None and (got is None or _differs(got, want)):
            shown = getattr(got, "value", got)
            return f"{name}={shown!r} contradicts the goal, which says {getattr(want, 'value', want)!r}"
    return None


def in_range(name: str, value: float | int | None, lo: float, hi: float) -> str | None:
    if value is None or lo <= value <= hi:
        return None
    return f"{name}={value:g} is outside [{lo:g}, {hi:g}]"


def first_objection(*objections: str | None) -> str | None:
    return next((o for o in objections if o), None)
