"""The whole graph on micro settings with the offline policy, through the real CLI and every real
tool: goal -> dataset -> config -> trained model -> evaluation -> quantized -> GGUF -> kernel booted
under QEMU answering a question. Also: a first training attempt that fails (injected NaN) and is
routed back; a process killed mid-stage and resumed; replay and fork as new branches; bad input.

Each run uses its own workspace (AUTON_SLM_DIR) under pytest's tmp directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agents.context import Workspace
from graph.cli import main
from graph.events import read_events
from graph.runner import open_runs
from tools.task.grammar import parse_command
from tools.verdict import STAGES

GOAL = "train a tiny riscv model"
CLI = [sys.executable, "-m", "graph.cli"]


def cli(
    ws: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "AUTON_SLM_DIR": str(ws), "AUTON_PROFILE": "micro", **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout)


def run_json(ws: Path, *args: str) -> dict:
    p = cli(ws, *args, "--json")
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def stage_starts(ws: Path, thread: str) -> Counter:
    return Counter(e["stage"] for e in read_events(ws / "runs" / thread) if e["event"] == "stage_start")


def in_process(
    mp: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, ws: Path, *args: str
) -> tuple[int, str, str]:
    """The real entry point, in this process: no start-up imports to pay again (for quick cases)."""
    mp.setenv("AUTON_SLM_DIR", str(ws))
    mp.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    mp.setattr(sys, "argv", ["auton-slm", *args])
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def history(ws: Path, thread: str) -> list[dict]:
    return run_json(ws, "history", thread)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    ws = tmp_path_factory.mktemp("ws")
    return ws, run_json(ws, "run", GOAL, "--thread", "e2e")


def test_goal_to_booted_kernel_answer(pipeline: tuple[Path, dict]) -> None:
    ws, out = pipeline
    assert out["status"] == "done" and parse_command(out["command"]) is not None
    with open_runs(Workspace(ws)) as runs:
        state = runs.state("e2e")
    assert [r.stage for r in state.runs] == list(STAGES)  # every stage once: nothing was sent back
    assert [(r.stage, r.approved) for r in state.reviews] == [(s, True) for s in STAGES]
    assert {d.source for d in state.decisions} == {"offline"}
    integrate = state.stages["integrate"].metrics
    assert integrate["booted"] and integrate["model_loaded"] and integrate["exit_code"] == 0
    assert (integrate["command"], integrate["command_exact"]) == (out["command"], out["command_exact"])
    assert integrate["requests"] == state.plan.console_requests and integrate["console_ok"]
    assert stage_starts(ws, "e2e") == Counter(STAGES)
    report = Path(out["report"])
    text = report.read_text()
    assert "## Success criteria" in text and text.count("| pass |") >= 6
    assert (report.parent / "loss.png").stat().st_size > 1000
    assert f"kernel command: {out['command']}" in text and "## Console task" in text
    seven = next(line for line in text.splitlines() if line.startswith("| 7 |"))
    assert "| pass |" in seven and f"command exact {out['command_exact']:.1%}" in seven


def test_replay_and_fork_each_make_a_branch(pipeline: tuple[Path, dict]) -> None:
    ws, _ = pipeline
    before = history(ws, "e2e")
    assert {h["branch"] for h in before} == {1}
    at_integrate = next(h for h in before if h["next"] == ["integrate"])
    replay = run_json(ws, "replay", "e2e", "--checkpoint", at_integrate["checkpoint_id"])
    assert replay["status"] == "done"
    assert {h["branch"] for h in history(ws, "e2e")} == {1, 2}

    with open_runs(Workspace(ws)) as runs:
        original = runs.state("e2e").stages["train"]
    at_train = next(h for h in before if h["next"] == ["train"])
    fork = run_json(
        ws,
        "replay",
        "e2e",
        "--checkpoint",
        at_train["checkpoint_id"],
        "--fork",
        "lr=0.002",
        "--fork",
        "settings.until=train",
    )
    assert fork["status"] == "done"
    after = history(ws, "e2e")
    assert {h["branch"] for h in after} == {1, 2, 3}
    assert any(h["source"] == "update" for h in after)  # the fork's edited copy of the checkpoint
    with open_runs(Workspace(ws)) as runs:
        state = runs.state("e2e")  # the newest branch: the fork
    assert original.params["lr"] != 0.002 and state.stages["train"].params["lr"] == 0.002
    assert state.stages["train"].outputs["run"] != original.outputs["run"]  # a new run, not the old one
    assert state.status == "done" and "evaluate" not in state.stages  # the fork stopped after train
    assert stage_starts(ws, "e2e")["integrate"] == 2  # the replay re-ran integrate only


def test_architect_warns_when_the_schedule_is_far_too_short(pipeline: tuple[Path, dict]) -> None:
    # runs after the replay/fork test (it counts branches): this fork is one more branch
    ws, _ = pipeline
    at_architect = next(h for h in history(ws, "e2e") if h["next"] == ["architect"] and h["branch"] == 1)
    fork = run_json(
        ws,
        "replay",
        "e2e",
        "--checkpoint",
        at_architect["checkpoint_id"],
        "--fork",
        "plan.max_steps=2",
        "--fork",
        "settings.until=architect",
    )
    assert fork["status"] == "done"
    with open_runs(Workspace(ws)) as runs:
        warnings = runs.state("e2e").warnings
    assert any("2 steps train" in w and "far too few" in w for w in warnings), warnings
    events = [e for e in read_events(ws / "runs" / "e2e") if e["event"] == "warning"]
    assert any("2 steps train" in e["message"] for e in events)


def test_nan_first_attempt_is_routed_back_and_passes(tmp_path: Path) -> None:
    out = run_json(tmp_path, "run", GOAL, "--thread", "nan", "--until", "train", "--inject-nan", "5,6,7,8")
    assert out["status"] == "done"
    with open_runs(Workspace(tmp_path)) as runs:
        state = runs.state("nan")
    trains = [r for r in state.runs if r.stage == "train"]
    assert [r.status for r in trains] == ["failed", "ok"]
    assert "NaN" in trains[0].error
    verdicts = [(r.stage, r.approved) for r in state.reviews if r.stage == "train"]
    assert verdicts == [("train", False), ("train", True)]
    first = next(r for r in state.reviews if r.stage == "train")
    assert first.remedy is not None and first.remedy.action == "resume_lower_lr"
    assert trains[1].params["lr_scale"] == 0.5 and trains[1].metrics["resumed"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_kill_mid_stage_then_resume_skips_completed_stages(tmp_path: Path, sig: signal.Signals) -> None:
    env = {**os.environ, "AUTON_SLM_DIR": str(tmp_path), "AUTON_PROFILE": "micro"}
    proc = subprocess.Popen(
        [*CLI, "run", GOAL, "--thread", "kill", "--until", "evaluate", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    events = tmp_path / "runs" / "kill"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            done = [e for e in read_events(events) if e["event"] == "progress" and e.get("task") == "train"]
            if any(e["done"] >= 60 for e in done):  # past the first checkpoints of training
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.5)
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, sig)  # the whole process group, as a crash or the OOM killer would
        else:
            proc.send_signal(sig)
    finally:
        _, err = proc.communicate()
    if sig == signal.SIGINT:  # Ctrl-C: exit 130 at once with a one-line hint
        assert proc.returncode == 130
        assert err.strip().splitlines()[-1] == "interrupted (SIGINT): continue with `auton-slm resume kill`"
    assert stage_starts(tmp_path, "kill") == Counter({"data": 1, "architect": 1, "train": 1})
    out = run_json(tmp_path, "resume", "kill")
    assert out["status"] == "done"
    assert stage_starts(tmp_path, "kill") == Counter({"data": 1, "architect": 1, "train": 2, "tune": 1, "evaluate": 1})
    with open_runs(Workspace(tmp_path)) as runs:
        train = runs.state("kill").stages["train"]
    assert train.metrics["resumed"]  # continued from its own checkpoint, not from step 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", ""], "the goal is empty"),
        (["run", "banana"], "could not tell what to build"),
        (["run", "tiny riscv and x86 model"], "more than one architecture"),
        (["resume", "no-such-thread"], "unknown thread 'no-such-thread'"),
        (["history", "no-such-thread"], "unknown thread 'no-such-thread'"),
        (["report", "no-such-thread"], "unknown thread 'no-such-thread'"),
        (["run", GOAL, "--llm", "bard"], "--llm 'bard'"),
        (["run", GOAL, "--until", "bake"], "--until 'bake'"),
        (
            ["run", GOAL, "--llm", "openai", "--llm-strict"],
            "--llm openai: http://127.0.0.1:9/v1 is unreachable",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    args: list[str],
    message: str,
) -> None:
    code, _, err = in_process(monkeypatch, capsys, tmp_path, *args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bad_checkpoint_id(
    pipeline: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    ws, _ = pipeline
    code, _, err = in_process(
        monkeypatch, capsys, ws, "replay", "e2e", "--checkpoint", "1f0-not-a-checkpoint"
    )
    assert code == 2 and err.count("\n") == 1
    assert "thread e2e has no checkpoint '1f0-not-a-checkpoint'" in err


def test_unreachable_llm_falls_back_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = in_process(monkeypatch, capsys, tmp_path, "plan", GOAL, "--llm", "openai", "--json")
    assert code == 0
    plan = json.loads(out)
    assert (
        plan["decision"]["source"] == "offline"
        and "falling back to the offline policy" in plan["warnings"][0]
    )
    assert "warning: --llm openai: http://127.0.0.1:9/v1 is unreachable" in err
