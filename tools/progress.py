"""Progress reporting shared by long-running tools.

Tools take an optional ``progress: ProgressFn`` and call it as work advances; they never draw
anything themselves. The CLI passes ``rich_progress()`` (bars on stderr); the graph passes a
function that feeds its live display and events.jsonl.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol


class ProgressFn(Protocol):
    def __call__(self, task: str, done: float, total: float | None = None, **fields: Any) -> None:
        """``task`` names the work ("encode", "train"); ``fields`` carry metrics (loss=..., eta_s=...)."""


def null_progress(task: str, done: float, total: float | None = None, **fields: Any) -> None:
    return None


@contextlib.contextmanager
def rich_progress(transient: bool = False) -> Iterator[ProgressFn]:
    """A ProgressFn drawing one rich bar per task on stderr, with the latest fields shown."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        transient=transient,
    )
    ids: dict[str, Any] = {}

    def update(task: str, done: float, total: float | None = None, **fields: Any) -> None:
        info = "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        if not ids:
            bars.start()  # lazily: a command that fails before any progress leaves stderr to its one-line error
        if task not in ids:
            ids[task] = bars.add_task(task, total=total, info=info)
        bars.update(ids[task], completed=done, total=total, info=info)

    try:
        yield update
    finally:
        if ids:
            bars.stop()
