"""The LangGraph wiring of the pipeline (docs/pipeline.md): intake, then each stage of the stage
table (agents/stages.py) followed by the review node, then the report::

    intake -> data -> review -> architect -> review -> train -> review -> evaluate -> review
    -> quantize -> review -> export -> review -> integrate -> review -> report

Every node writes ``next_node`` into the state and one router follows it, so the route is part
of the checkpointed state: a replay or a fork (``update_state(..., as_node=last_node)``) resumes
exactly where that checkpoint was going. Stage nodes run an agent and emit progress on the
``custom`` stream; the review node runs the Reviewer and routes (graph/routing.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from agents import reviewer
from agents.context import AgentContext, Workspace
from agents.decide import LLM
from agents.goal import Question
from agents.intake import intake
from agents.models import StageInput, StageOutcome, StageRecord, now_iso
from agents.stages import PIPELINE
from graph.report import write_report
from graph.routing import REPORT, after_review
from graph.state import PipelineState, dump
from tools.errors import AutonError
from tools.verdict import STAGES, Stage

REVIEW = "review"
StageRunner = Callable[[StageInput, AgentContext], StageOutcome]
NODES = ("intake", *STAGES, REVIEW, REPORT)


def _context(llm: LLM | None, workspace: Workspace, stage: str) -> AgentContext:
    write = get_stream_writer()

    def progress(task: str, done: float, total: float | None = None, **fields: Any) -> None:
        write({"event": "progress", "stage": stage, "task": task, "done": done, "total": total, **fields})

    return AgentContext(llm=llm, workspace=workspace, progress=progress)


def _intake_node(llm: LLM | None):
    def node(state: PipelineState) -> dict[str, Any]:
        s = state.settings
        try:
            got = intake(state.goal, llm, s.profile, {"budget_minutes": s.budget_minutes, "device": s.device})
        except Question as q:
            return dump(status="question", question=str(q), last_node="intake", next_node=END)
        return dump(
            plan=got.plan,
            decisions=[got.decision],
            costs=[got.cost] if got.cost else [],
            last_node="intake",
            next_node=STAGES[0],
        )

    return node


def _stage_input(state: PipelineState, stage: Stage, thread_id: str) -> StageInput:
    assert state.plan is not None  # intake ran first
    remedy = state.remedy if state.remedy is not None and state.remedy.stage == stage else None
    return StageInput(
        stage=stage,
        attempt=state.attempt(stage) + 1,
        thread_id=thread_id,
        plan=state.plan,
        upstream=state.stages,
        previous=state.stages.get(stage),
        remedy=remedy,
        inject_nan_at_steps=state.settings.inject_nan_at_steps if state.attempt(stage) == 0 else [],
        started=state.started,
    )


def _stage_node(stage: Stage, run: StageRunner, llm: LLM | None, workspace: Workspace):
    def node(state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        inp = _stage_input(state, stage, config["configurable"]["thread_id"])
        ctx = _context(llm, workspace, stage)
        write = get_stream_writer()
        write(
            {
                "event": "stage_start",
                "stage": stage,
                "attempt": inp.attempt,
                "remedy": inp.remedy and inp.remedy.text,
            }
        )
        t0 = time.monotonic()
        try:
            result = run(inp, ctx)
        except AutonError as e:  # the tool refused or failed: the Reviewer rejects it with a remedy
            result = StageOutcome(
                record=StageRecord(stage=stage, attempt=inp.attempt, status="failed", error=str(e))
            )
        params = dict(result.record.params)
        if inp.remedy is not None:
            params["remedy"] = inp.remedy.text
        record = result.record.model_copy(
            update={"wall_s": round(time.monotonic() - t0, 2), "params": params}
        )
        write(
            {
                "event": "stage_end",
                "stage": stage,
                "attempt": inp.attempt,
                "status": record.status,
                "error": record.error,
                "wall_s": record.wall_s,
            }
        )
        return dump(
            stages={stage: record},
            runs=[record],
            attempts={stage: inp.attempt},
            decisions=result.decisions,
            costs=result.costs,
            warnings=result.warnings,
            last_node=stage,
            next_node=REVIEW,
        )

    return node


def _review_node(llm: LLM | None, workspace: Workspace):
    def node(state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        stage: Stage = state.last_node  # type: ignore[assignment]
        inp = _stage_input(state, stage, config["configurable"]["thread_id"])
        inp = inp.model_copy(update={"attempt": state.attempt(stage)})
        got = reviewer.review(state.stages[stage], inp, _context(llm, workspace, REVIEW))
        get_stream_writer()({"event": "verdict", **got.review.model_dump(mode="json")})
        seen = state.model_copy(update={"reviews": [*state.reviews, got.review]})
        return {
            **dump(reviews=[got.review], decisions=got.decisions, costs=got.costs, last_node=REVIEW),
            **after_review(seen, got.review),
        }

    return node


def _report_node(workspace: Workspace):
    def node(state: PipelineState, config: RunnableConfig) -> dict[str, Any]:
        status = "done" if state.status == "running" else state.status
        final = state.model_copy(update={"status": status, "finished": now_iso()})
        path = write_report(final, workspace.runs / config["configurable"]["thread_id"])
        get_stream_writer()({"event": "report", "path": str(path), "status": status})
        return dump(status=status, finished=final.finished, report=str(path), last_node=REPORT, next_node=END)

    return node


def _route(state: PipelineState) -> str:
    return state.next_node


def build_graph(llm: LLM | None, workspace: Workspace) -> StateGraph:
    """The uncompiled graph; compile it with a checkpointer (graph/persistence.py)."""
    g = StateGraph(PipelineState)
    g.add_node("intake", _intake_node(llm))
    for spec in PIPELINE:
        g.add_node(spec.name, _stage_node(spec.name, spec.run, llm, workspace))
    g.add_node(REVIEW, _review_node(llm, workspace))
    g.add_node(REPORT, _report_node(workspace))
    g.add_edge(START, "intake")
    for name in NODES:
        g.add_conditional_edges(name, _route, [*NODES, END])
    return g
