"""events.jsonl: every event of a run, one JSON object a line, under SLM/runs/<thread>/.

Event shapes (all carry ``time`` and ``event``):
``run`` (action start|resume|replay|fork, goal, checkpoint), ``stage_start`` (stage, attempt,
remedy), ``progress`` (stage, task, done, total, and the tool's fields: loss, eta_s, ...),
``stage_end`` (stage, attempt, status, error, wall_s), ``verdict`` (a ReviewRecord),
``decision`` (a DecisionRecord), ``node`` (node, next), ``warning`` (message), ``report``
(path, status), ``end`` (status). Progress events are thinned to one a second per task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.models import now_iso

EVENTS = "events.jsonl"


class EventLog:
    def __init__(self, run_dir: Path):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / EVENTS
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 -- closed by close()

    def write(self, event: dict[str, Any]) -> None:
        self._f.write(json.dumps({"time": now_iso(), **event}, default=str) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / EVENTS
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def events_from_chunk(mode: str, chunk: Any) -> list[dict[str, Any]]:
    """Turn one item of ``graph.stream(stream_mode=["updates", "custom"])`` into events."""
    if mode == "custom":
        return [chunk]
    out: list[dict[str, Any]] = []
    for node, update in (chunk or {}).items():
        if not isinstance(update, dict):
            continue
        out += [{"event": "decision", **d} for d in update.get("decisions", [])]
        out += [{"event": "warning", "message": w} for w in update.get("warnings", [])]
        out.append(
            {"event": "node", "node": node, "next": update.get("next_node"), "status": update.get("status")}
        )
    return out


def throttled(
    sink: Callable[[dict[str, Any]], None], min_interval_s: float = 1.0
) -> Callable[[dict[str, Any]], None]:
    """``sink`` with progress events of each (stage, task) thinned to one per ``min_interval_s``
    (the last one of a task, done == total, always passes); every other event passes."""
    last: dict[tuple[Any, Any], float] = {}

    def emit(ev: dict[str, Any]) -> None:
        if ev.get("event") == "progress":
            key, now = (ev.get("stage"), ev.get("task")), time.monotonic()
            final = ev.get("total") is not None and ev.get("done") == ev.get("total")
            if not final and now - last.get(key, -min_interval_s) < min_interval_s:
                return
            last[key] = now
        sink(ev)

    return emit
