"""Run, resume, inspect and time-travel pipeline runs (threads of the checkpointer).

- ``start``: a new thread from a goal; ``resume``: continue a thread from its last checkpoint
  (after a crash or kill, the interrupted stage runs again; completed stages do not).
- ``history``: every checkpoint of a thread with its branch, stage, verdict and time.
- ``replay``: re-run from a past checkpoint (``fork`` edits a copy of its state first, e.g.
  ``plan.lr=3e-4``); either way the new checkpoints form a new branch of the thread.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agents.context import Workspace
from agents.decide import LLM, connect
from agents.goal import parse_goal
from graph.build import build_graph
from graph.events import EventLog, events_from_chunk, throttled
from graph.fork import fork_update
from graph.persistence import open_checkpointer
from graph.state import PipelineState, RunSettings
from tools.errors import InputError

EventSink = Callable[[dict[str, Any]], None]


class RunSummary(BaseModel):
    thread_id: str
    status: str
    checkpoint_id: str | None = None
    question: str | None = None
    failure: str | None = None
    request: str | None = Field(None, description="the demo request typed on the booted kernel")
    command: str | None = Field(None, description="the command the model chose for it")
    answer: str | None = Field(None, description="its one-sentence answer (None: it did not fit the context)")
    command_exact: float | None = Field(None, description="held-out command exact match on the booted kernel")
    report: str | None = None
    warnings: list[str] = []


class HistoryEntry(BaseModel):
    checkpoint_id: str
    parent_id: str | None
    branch: int
    step: int
    source: str
    node: str = ""
    next: list[str]
    verdict: str = ""
    time: str


def new_thread_id() -> str:
    return datetime.now().strftime("run-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def make_llm(settings: RunSettings) -> tuple[LLM | None, list[str]]:
    return connect(settings.llm, settings.llm_strict)


def summary(
    thread_id: str, state: PipelineState, checkpoint_id: str | None, warnings: list[str]
) -> RunSummary:
    integrate = state.stages.get("integrate")
    m = integrate.metrics if integrate else {}
    return RunSummary(
        thread_id=thread_id,
        status=state.status,
        checkpoint_id=checkpoint_id,
        question=state.question,
        failure=state.failure,
        request=m.get("prompt"),
        command=m.get("command"),
        answer=m.get("answer"),
        command_exact=m.get("command_exact"),
        report=state.report,
        warnings=warnings,
    )


@dataclass
class Runs:
    """The runs of one workspace and checkpointer."""

    workspace: Workspace
    saver: Any

    def app(self, llm: LLM | None):
        return build_graph(llm, self.workspace).compile(checkpointer=self.saver)

    def _config(self, thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
        conf: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
        if checkpoint_id:
            conf["checkpoint_id"] = checkpoint_id
        return {"configurable": conf}

    def _snapshot(self, thread_id: str, checkpoint_id: str | None = None):
        snap = self.app(None).get_state(self._config(thread_id, checkpoint_id))
        if not snap.values:
            if checkpoint_id:
                raise InputError(
                    f"thread {thread_id} has no checkpoint {checkpoint_id!r} (see `auton-slm history`)"
                )
            raise InputError(f"unknown thread {thread_id!r} (no checkpoints under {self.workspace.runs})")
        return snap

    def _execute(
        self,
        llm: LLM | None,
        inp: Any,
        config: dict[str, Any],
        thread_id: str,
        event: dict[str, Any],
        sink: EventSink,
        warnings: list[str],
    ) -> RunSummary:
        log = EventLog(self.workspace.runs / thread_id)
        emit = throttled(_fanout(log.write, sink))
        try:
            emit(event)
            for w in warnings:
                emit({"event": "warning", "message": w})
            app = self.app(llm)
            for mode, chunk in app.stream(inp, config, stream_mode=["updates", "custom"], durability="sync"):
                for ev in events_from_chunk(mode, chunk):
                    emit(ev)
            snap = app.get_state(self._config(thread_id))
            state = PipelineState.model_validate(snap.values)
            emit({"event": "end", "status": state.status})
        finally:
            log.close()
        return summary(thread_id, state, snap.config["configurable"]["checkpoint_id"], warnings)

    def start(
        self, goal: str, settings: RunSettings, sink: EventSink, thread_id: str | None = None
    ) -> RunSummary:
        parse_goal(goal)  # an empty or unreadable goal stops here, before a thread exists
        llm, warnings = make_llm(settings)
        thread_id = thread_id or new_thread_id()
        if self.app(None).get_state(self._config(thread_id)).values:
            raise InputError(f"thread {thread_id!r} already exists (use `auton-slm resume {thread_id}`)")
        state = PipelineState(goal=goal, settings=settings, warnings=warnings)
        return self._execute(
            llm,
            state.model_dump(mode="json"),
            self._config(thread_id),
            thread_id,
            {"event": "run", "action": "start", "goal": goal},
            sink,
            warnings,
        )

    def resume(self, thread_id: str, sink: EventSink) -> RunSummary:
        snap = self._snapshot(thread_id)
        state = PipelineState.model_validate(snap.values)
        if not snap.next:
            return summary(thread_id, state, snap.config["configurable"]["checkpoint_id"], [])
        llm, warnings = make_llm(state.settings)
        return self._execute(
            llm,
            None,
            self._config(thread_id),
            thread_id,
            {"event": "run", "action": "resume", "next": list(snap.next)},
            sink,
            warnings,
        )

    def replay(self, thread_id: str, checkpoint_id: str, forks: list[str], sink: EventSink) -> RunSummary:
        snap = self._snapshot(thread_id, checkpoint_id)
        state = PipelineState.model_validate(snap.values)
        llm, warnings = make_llm(state.settings)
        config = snap.config
        action = "replay"
        if forks:
            if not state.last_node:
                raise InputError(f"checkpoint {checkpoint_id} is before intake: fork from a later one")
            update = fork_update(state, forks)
            config = self.app(llm).update_state(
                self._config(thread_id, checkpoint_id), update, as_node=state.last_node
            )
            action = "fork"
        return self._execute(
            llm,
            None,
            config,
            thread_id,
            {"event": "run", "action": action, "checkpoint": checkpoint_id, "fork": forks},
            sink,
            warnings,
        )

    def state(self, thread_id: str) -> PipelineState:
        return PipelineState.model_validate(self._snapshot(thread_id).values)

    def history(self, thread_id: str) -> list[HistoryEntry]:
        self._snapshot(thread_id)
        snaps = list(self.app(None).get_state_history(self._config(thread_id)))
        return history_entries(snaps)


def _fanout(*sinks: EventSink) -> EventSink:
    def emit(ev: dict[str, Any]) -> None:
        for s in sinks:
            s(ev)

    return emit


def _checkpoint_id(config: dict[str, Any] | None) -> str | None:
    return (config or {}).get("configurable", {}).get("checkpoint_id")


def history_entries(snaps: list[Any]) -> list[HistoryEntry]:
    """Checkpoints oldest first, each with its branch: branch 1 is the original run, and every
    replay or fork that continued from a past checkpoint starts the next number."""
    by_id = {_checkpoint_id(s.config): s for s in snaps}
    children: dict[str | None, list[str]] = {}
    for cid, s in by_id.items():
        children.setdefault(_checkpoint_id(s.parent_config), []).append(cid)  # type: ignore[arg-type]
    leaves = sorted((cid for cid in by_id if cid not in children), key=lambda c: by_id[c].created_at)
    branch: dict[str, int] = {}
    for n, leaf in enumerate(leaves, start=1):
        cid: str | None = leaf
        while cid is not None and cid not in branch:
            branch[cid] = n
            cid = _checkpoint_id(by_id[cid].parent_config)
    rows = []
    for cid, s in by_id.items():
        values = s.values or {}
        reviews = values.get("reviews") or []
        last = reviews[-1] if reviews and values.get("last_node") == "review" else None
        verdict = ""
        if last:
            verdict = f"{last['stage']} {'approved' if last['approved'] else 'rejected'}"
        rows.append(
            HistoryEntry(
                checkpoint_id=cid,  # type: ignore[arg-type]
                parent_id=_checkpoint_id(s.parent_config),
                branch=branch[cid],  # type: ignore[index]
                step=s.metadata.get("step", -1),
                source=s.metadata.get("source", ""),
                node=values.get("last_node", ""),
                next=list(s.next),
                verdict=verdict,
                time=s.created_at,
            )
        )
    return sorted(rows, key=lambda r: r.time)


@contextlib.contextmanager
def open_runs(workspace: Workspace | None = None, db_url: str | None = None) -> Iterator[Runs]:
    workspace = workspace or Workspace.default()
    with open_checkpointer(db_url, workspace.runs) as saver:
        yield Runs(workspace, saver)


def run_dir(workspace: Workspace, thread_id: str) -> Path:
    return workspace.runs / thread_id
