"""``auton-slm plan|run|resume|history|replay|report``: the whole pipeline from a goal.

Exit codes: 0 the run finished (every stage approved); 1 the run ended failed (a stage hit its
iteration bound: the report says what was tried); 2 bad input, including a goal that needs a
question answered first (the question is the one-line message).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer

from graph.cli._output import JsonFlag, console, emit_json, progress_console, quiet_transformers
from tools.errors import CheckFailed, InputError

if TYPE_CHECKING:  # the graph, LangGraph and the tools load only when a pipeline command runs
    from graph.runner import RunSummary
    from graph.state import RunSettings

LLM_HELP = (
    "Who makes the agents' decisions: offline (deterministic policy), openai (OPENAI_BASE_URL), local (GGUF)."
)
DB_HELP = "Checkpointer URL: sqlite:///PATH or postgresql://... (default: SQLite under SLM/runs/)."


def _profile_default() -> str:
    return os.environ.get("AUTON_PROFILE", "full")


def _finish(result: RunSummary, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        if result.answer is not None:
            console.print(f"answer: {result.answer}")
        if result.report:
            console.print(f"report: {result.report}")
        console.print(f"thread: {result.thread_id}  status: {result.status}")
    if result.status == "question":
        raise InputError(result.question or "the goal needs clarification")
    if result.status == "failed":
        raise CheckFailed((result.failure or "the run failed").splitlines()[0], "run failed")


@contextlib.contextmanager
def _stop_on_signals(thread: str, display) -> Iterator[None]:
    """Ctrl-C or SIGTERM end the run at once, as a crash would: the graph's last checkpoint (the
    start of the running stage) and the training run's own checkpoints stay, so `resume` goes on
    from there. (The stage runs in a worker thread that cannot be interrupted, hence the exit.)"""

    def stop(signum: int, frame: object) -> None:
        if display is not None:
            display.__exit__(None, None, None)
            sys.stderr.write("\n")  # the live view leaves the cursor after its last line
        sys.stderr.write(
            f"interrupted ({signal.Signals(signum).name}): continue with `auton-slm resume {thread}`\n"
        )
        sys.stderr.flush()
        os._exit(130)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _execute(call, thread: str, as_json: bool) -> RunSummary:
    """Run ``call(sink)`` with the live display on stderr fed by the run's events (not with --json)."""
    from graph.display import LiveDisplay

    quiet_transformers()  # the live display shows progress; the tools' own bars would garble it

    if as_json:
        with _stop_on_signals(thread, None):
            return call(lambda ev: None)
    with LiveDisplay(progress_console, f"auton-slm {thread}") as display, _stop_on_signals(thread, display):
        return call(display.handle)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        goal: str = typer.Argument(..., help="What to build, e.g. 'train a tiny riscv model'."),
        llm: str = typer.Option("offline", "--llm", help=LLM_HELP),
        llm_strict: bool = typer.Option(
            False, "--llm-strict", help="Fail instead of falling back when the LLM is unreachable."
        ),
        profile: str = typer.Option(
            _profile_default(), "--profile", help="full, or micro for a smoke-test-sized run."
        ),
        budget_minutes: float | None = typer.Option(
            None, "--budget-minutes", help="Wall-time budget of the run."
        ),
        device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda."),
        as_json: JsonFlag = False,
    ) -> None:
        """Print the plan for GOAL (tier, arch, tokenizer, quantization, budgets, the architect's config) without running anything."""
        from agents.architect import preview_config
        from agents.decide import connect
        from agents.intake import intake
        from tools.arch.design import budget_warning

        settings = _settings(llm, llm_strict, profile, budget_minutes, device)
        lm, warnings = connect(settings.llm, settings.llm_strict)
        for w in warnings:
            progress_console.print(f"warning: {w}")
        got = intake(goal, lm, settings.profile, {"budget_minutes": budget_minutes, "device": device})
        config = preview_config(got.plan)
        short = budget_warning(config)
        if as_json:
            emit_json(
                {
                    "plan": got.plan.model_dump(mode="json"),
                    "config": config.model_dump(mode="json"),
                    "decision": got.decision.model_dump(mode="json"),
                    "warnings": warnings + ([short] if short else []),
                }
            )
            return
        for k, v in got.plan.model_dump(mode="json").items():
            if k != "assumptions":
                console.print(f"{k}: {v}")
        for a in got.plan.assumptions:
            console.print(f"assumed: {a}")
        if short:
            console.print(f"warning: {short}", markup=False)
        console.print(f"decided by: {got.decision.source} ({got.decision.reason})")
        console.print("config:")
        console.print(config.to_yaml().rstrip())

    @app.command("run")
    def run_cmd(
        goal: str = typer.Argument(..., help="What to build, e.g. 'train a tiny riscv model'."),
        llm: str = typer.Option("offline", "--llm", help=LLM_HELP),
        llm_strict: bool = typer.Option(
            False, "--llm-strict", help="Fail instead of falling back when the LLM is unreachable."
        ),
        budget_minutes: float | None = typer.Option(
            None, "--budget-minutes", help="Wall-time budget of the run."
        ),
        device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda."),
        profile: str = typer.Option(
            _profile_default(), "--profile", help="full, or micro for a smoke-test-sized run."
        ),
        until: str | None = typer.Option(
            None, "--until", help="Stop after this stage is approved (data, architect, train, ...)."
        ),
        thread: str | None = typer.Option(None, "--thread", help="Thread id to use (default: a new one)."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        inject_nan: str = typer.Option(
            "",
            "--inject-nan",
            hidden=True,
            help="Fault injection: NaN at these steps of the first training attempt.",
        ),
        as_json: JsonFlag = False,
    ) -> None:
        """Run the whole pipeline for GOAL: data, architecture, training, evaluation, quantization, export, kernel."""
        from graph.runner import new_thread_id, open_runs

        settings = _settings(llm, llm_strict, profile, budget_minutes, device, inject_nan, until)
        thread_id = thread or new_thread_id()
        with open_runs(db_url=db) as runs:
            result = _execute(lambda sink: runs.start(goal, settings, sink, thread_id), thread_id, as_json)
        _finish(result, as_json)

    @app.command("resume")
    def resume_cmd(
        thread: str = typer.Argument(..., help="Thread id printed by `run`."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        as_json: JsonFlag = False,
    ) -> None:
        """Continue THREAD from its last checkpoint (completed stages are not redone)."""
        from graph.runner import open_runs

        with open_runs(db_url=db) as runs:
            result = _execute(lambda sink: runs.resume(thread, sink), thread, as_json)
        _finish(result, as_json)

    @app.command("history")
    def history_cmd(
        thread: str = typer.Argument(..., help="Thread id."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        as_json: JsonFlag = False,
    ) -> None:
        """List THREAD's checkpoints: branch, step, node, next stage, verdict, time."""
        from graph.runner import open_runs

        with open_runs(db_url=db) as runs:
            rows = runs.history(thread)
        if as_json:
            emit_json([r.model_dump(mode="json") for r in rows])
            return
        branches = max(r.branch for r in rows)
        console.print(f"{thread}: {len(rows)} checkpoints, {branches} branch{'es' if branches > 1 else ''}")
        console.print(
            f"{'branch':>6} {'step':>4}  {'checkpoint':36}  {'node':9}  {'next':9}  {'time':8}  verdict",
            soft_wrap=True,
        )
        for r in rows:  # plain lines: checkpoint ids stay whole, to copy into `replay --checkpoint`
            console.print(
                f"{r.branch:>6} {r.step:>4}  {r.checkpoint_id:36}  {r.node:9}  {','.join(r.next):9}  "
                f"{r.time[11:19]:8}  {r.verdict}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    @app.command("replay")
    def replay_cmd(
        thread: str = typer.Argument(..., help="Thread id."),
        checkpoint: str = typer.Option(..., "--checkpoint", help="Checkpoint id from `history`."),
        fork: list[str] = typer.Option(
            [], "--fork", help="Edit the state first: KEY=VALUE, e.g. plan.lr=3e-4 (repeatable)."
        ),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        as_json: JsonFlag = False,
    ) -> None:
        """Re-run THREAD from a past checkpoint, or from an edited copy of it (--fork): a new branch."""
        from graph.runner import open_runs

        with open_runs(db_url=db) as runs:
            result = _execute(lambda sink: runs.replay(thread, checkpoint, fork, sink), thread, as_json)
        _finish(result, as_json)

    @app.command("report")
    def report_cmd(
        thread: str = typer.Argument(..., help="Thread id."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        as_json: JsonFlag = False,
    ) -> None:
        """Write THREAD's report (Markdown + plots) from its latest state and print the summary."""
        from graph.report import summary_lines, write_report
        from graph.runner import open_runs, run_dir

        with open_runs(db_url=db) as runs:
            state = runs.state(thread)
            path = write_report(state, run_dir(runs.workspace, thread))
        lines = summary_lines(state)
        if as_json:
            emit_json({"thread_id": thread, "report": str(path), "status": state.status, "summary": lines})
            return
        for line in lines:
            console.print(line, markup=False)
        console.print(f"report: {path}")


def _settings(
    llm: str,
    strict: bool,
    profile: str,
    budget_minutes: float | None,
    device: str | None,
    inject_nan: str = "",
    until: str | None = None,
) -> RunSettings:
    if llm not in ("offline", "openai", "local"):
        raise InputError(f"--llm {llm!r}: expected offline, openai or local")
    if profile not in ("full", "micro"):
        raise InputError(f"--profile {profile!r}: expected full or micro")
    if device is not None and device not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device {device!r}: expected auto, cpu or cuda")
    from tools.verdict import STAGES

    if until is not None and until not in STAGES:
        raise InputError(f"--until {until!r}: expected one of {', '.join(STAGES)}")
    if budget_minutes is not None and budget_minutes <= 0:
        raise InputError("--budget-minutes must be positive")
    try:
        steps = [int(s) for s in inject_nan.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--inject-nan {inject_nan!r}: expected comma-separated step numbers") from None
    from graph.state import RunSettings

    fields: dict[str, Any] = {
        "llm": llm,
        "llm_strict": strict,
        "profile": profile,
        "budget_minutes": budget_minutes,
        "device": device,
        "inject_nan_at_steps": steps,
        "until": until,
    }
    return RunSettings(**fields)
