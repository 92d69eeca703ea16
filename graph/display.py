"""The live view of a run on stderr: each stage's state, and the running tool's progress."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tools.verdict import STAGES

SHOWN_FIELDS = ("loss", "val_loss", "ppl", "tok_s", "tokens_per_s", "lr", "eta_s")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class LiveDisplay:
    """Feed it events (graph/events.py shapes); it redraws a table of stages and a progress line.

    Nothing is drawn before the first event, so a command that stops on bad input prints only
    its one-line error."""

    def __init__(self, console: Console, title: str):
        self.title = title
        self.rows: dict[str, dict[str, str]] = {
            s: {"state": "pending", "attempt": "", "time": "", "note": ""} for s in STAGES
        }
        self.progress = ""
        self.console = console
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self._started = False

    def __enter__(self) -> LiveDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._started:
            self._live.update(self._render())
            self._live.__exit__(*exc)

    def _render(self) -> Group:
        table = Table(title=self.title, expand=False)
        for col in ("stage", "state", "attempt", "time", "note"):
            table.add_column(col)
        styles = {
            "approved": "green",
            "rejected": "red",
            "failed": "red",
            "running": "yellow",
            "reviewing": "cyan",
        }
        for stage, row in self.rows.items():
            table.add_row(
                stage,
                Text(row["state"], style=styles.get(row["state"], "")),
                row["attempt"],
                row["time"],
                row["note"][:70],
            )
        return Group(table, Text(self.progress))

    def handle(self, ev: dict[str, Any]) -> None:
        if not self._started:
            self._live.__enter__()
            self._started = True
        kind, stage = ev.get("event"), ev.get("stage")
        if kind == "stage_start" and stage in self.rows:
            self.rows[stage].update(state="running", attempt=str(ev["attempt"]), note=ev.get("remedy") or "")
        elif kind == "stage_end" and stage in self.rows:
            state = "reviewing" if ev["status"] == "ok" else "failed"
            self.rows[stage].update(state=state, time=f"{ev['wall_s']:.0f}s", note=ev.get("error") or "")
            self.progress = ""
        elif kind == "verdict" and stage in self.rows:
            note = "; ".join(ev.get("failures") or [])
            self.rows[stage].update(state="approved" if ev["approved"] else "rejected", note=note)
        elif kind == "progress":
            total = ev.get("total")
            done = f"{_fmt(ev['done'])}/{_fmt(total)}" if total else _fmt(ev["done"])
            fields = "  ".join(f"{k}={_fmt(ev[k])}" for k in SHOWN_FIELDS if k in ev)
            self.progress = f"{stage}: {ev['task']} {done}  {fields}"
        elif kind == "warning":
            self.console.print(f"warning: {ev['message']}")
        if (
            not self.console.is_terminal
            and stage in self.rows
            and kind in ("stage_start", "stage_end", "verdict")
        ):
            row = self.rows[stage]  # a log, not a terminal: one line per change of a stage
            self.console.print(
                f"{stage}: {row['state']} (attempt {row['attempt']}) {row['time']} {row['note']}".rstrip()
            )
        self._live.update(self._render())
