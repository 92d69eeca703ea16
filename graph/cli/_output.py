"""Output helpers shared by the CLI modules: JSON mode and rich rendering."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console

# Options that several commands share, spelled once.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output directory.")]
MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Score at most N test tokens (default: all).")
]
MaxQA = Annotated[
    int | None, typer.Option("--max-qa", min=0, help="Use at most N held-out QA pairs (default: all).")
]

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
