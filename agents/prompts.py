"""Prompts: one Markdown file per agent under prompts/, loaded by name.

The file is the system prompt (the agent's role, what it decides, its rules). The user message
carries the decision's context and the JSON schema of the answer, both as JSON.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

from tools.artifacts import REPO_ROOT
from tools.errors import InputError

PROMPTS_DIR = REPO_ROOT / "prompts"


@cache
def load(agent: str) -> str:
    path = PROMPTS_DIR / f"{agent}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise InputError(f"{path}: no prompt for agent {agent!r}") from None


def render(agent: str, context: dict[str, Any], schema: type[BaseModel]) -> tuple[str, str]:
    """(system, user) messages for one decision of ``agent``."""
    user = (
        "Context:\n```json\n"
        + json.dumps(context, indent=1, default=str)
        + "\n```\nAnswer with one JSON object that matches this schema, and nothing else:\n```json\n"
        + json.dumps(schema.model_json_schema())
        + "\n```"
    )
    return load(agent), user
