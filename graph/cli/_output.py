"""Output helpers shared by the CLI modules: JSON mode and rich rendering."""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from rich.console import Console

console = Console()  # human-readable results (stdout)
progress_console = Console(stderr=True)  # progress bars and live displays: stdout stays clean for --json


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (the --json convention)."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def quiet_transformers() -> None:
    """Silence transformers' own progress bars (weight loading) that would clutter stderr."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
