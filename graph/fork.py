"""``--fork KEY=VALUE``: the edit a fork makes to a copy of a past checkpoint's state."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.models import Plan
from graph.state import PipelineState, RunSettings
from tools.errors import InputError


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def fork_update(state: PipelineState, forks: list[str]) -> dict[str, Any]:
    """The state update for ``--fork KEY=VALUE`` items: ``plan.FIELD`` or ``settings.FIELD``
    (a bare plan field such as ``lr`` means ``plan.lr``), validated as the models would."""
    assert state.plan is not None
    sections: dict[str, dict[str, Any]] = {
        "plan": state.plan.model_dump(mode="json"),
        "settings": state.settings.model_dump(mode="json"),
    }
    models: dict[str, type[BaseModel]] = {"plan": Plan, "settings": RunSettings}
    for item in forks:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--fork {item!r}: expected KEY=VALUE, e.g. plan.lr=3e-4")
        section, _, name = key.strip().rpartition(".")
        section = section or "plan"
        if section not in models or name not in models[section].model_fields:
            raise InputError(f"--fork {item!r}: unknown key (use plan.FIELD or settings.FIELD)")
        sections[section][name] = _parse_value(raw.strip())
    update: dict[str, Any] = {}
    for section, data in sections.items():
        try:
            update[section] = models[section].model_validate(data).model_dump(mode="json")
        except ValidationError as e:
            err = e.errors()[0]
            raise InputError(f"--fork: {section}.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return update
