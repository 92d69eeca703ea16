"""`auton-slm train` as a process: kill -9 then --resume is exact, SIGTERM checkpoints and exits,
2-process DDP under torchrun (gloo) follows the single-process run, bad input exits 2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.cli import main
from tests.fixtures_train import micro_model_config, torch_threads
from tools import checkpoint as ckpt
from tools.dataset import Dataset
from tools.train import TrainRequest, train
from tools.train.metrics import read_metrics

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _config(tmp_path: Path, data: Path, name: str = "cfg.yaml", **training) -> Path:
    return micro_model_config(Dataset(data).meta.vocab_size, **training).save(tmp_path / name)


def _train_cmd(config: Path, data: Path, out: Path, *extra: str) -> list[str]:
    argv = ["train", "--config", str(config), "--data", str(data), "--out", str(out), "--device", "cpu"]
    return argv + list(extra)


def _start_and_wait_for(argv: list[str], run: Path, step: int, timeout: float = 180.0) -> subprocess.Popen:
    """Start training and return once its ``latest`` checkpoint has reached ``step``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "graph.cli", *argv], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    while (latest := ckpt.pointer_target(run, ckpt.LATEST)) is None or latest.name < ckpt.step_dir_name(step):
        if proc.poll() is not None:
            pytest.fail(f"training exited early ({proc.returncode}): {proc.stderr.read().decode()[-500:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no checkpoint of step {step} within {timeout}s")
        time.sleep(0.05)
    return proc


def _train_losses(run: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(run / ckpt.METRICS) if r["event"] == "train"}


def test_kill9_then_resume_reproduces_the_uninterrupted_run(micro_dataset, tmp_path):
    cfg = _config(tmp_path, micro_dataset, max_steps=150, checkpoint_interval=20, eval_interval=20)
    killed = tmp_path / "killed"
    proc = _start_and_wait_for(_train_cmd(cfg, micro_dataset, killed), killed, 40)
    proc.kill()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    stopped_at = ckpt.load_trainer_state(ckpt.resolve_checkpoint(killed, prefer=ckpt.LATEST)).step
    assert 40 <= stopped_at < 150
    with torch_threads(1):
        resumed = train(TrainRequest(config=cfg, data=micro_dataset, out=killed, resume=True, device="cpu"))
        straight = train(
            TrainRequest(config=cfg, data=micro_dataset, out=tmp_path / "straight", device="cpu")
        )
    assert resumed.status == straight.status == "completed" and resumed.steps == 150
    assert resumed.last_step_loss == straight.last_step_loss
    assert resumed.best_val_loss == straight.best_val_loss
    assert _train_losses(killed) == _train_losses(
        straight.run_dir
    )  # every logged loss, before and after the kill
    weights = [(r.latest / ckpt.WEIGHTS).read_bytes() for r in (resumed, straight)]
    assert weights[0] == weights[1]
    assert [r["event"] for r in read_metrics(killed / ckpt.METRICS)].count("resume") == 1


def test_sigterm_saves_a_checkpoint_and_exits(micro_dataset, tmp_path):
    cfg = _config(tmp_path, micro_dataset, max_steps=5000, checkpoint_interval=20, eval_interval=1000)
    run = tmp_path / "run"
    proc = _start_and_wait_for(_train_cmd(cfg, micro_dataset, run), run, 20)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "interrupted at step" in err.decode() and "--resume" in err.decode()
    interrupted = [r for r in read_metrics(run / ckpt.METRICS) if r["event"] == "interrupted"]
    assert len(interrupted) == 1 and interrupted[0]["signal"] == "SIGTERM"
    latest = ckpt.load_trainer_state(ckpt.resolve_checkpoint(run, prefer=ckpt.LATEST))
    assert latest.step == interrupted[0]["step"] >= 20


@pytest.fixture(scope="module")
def single_process_losses(micro_dataset, tmp_path_factory) -> dict[int, float]:
    """Losses of the 30-step run that the 2-process runs must reproduce (global batch 8)."""
    tmp = tmp_path_factory.mktemp("single")
    cfg = _config(tmp, micro_dataset, "single.yaml", max_steps=30, checkpoint_interval=30, eval_interval=30)
    with torch_threads(1):
        run = train(TrainRequest(config=cfg, data=micro_dataset, out=tmp / "run", device="cpu"))
    return _train_losses(run.run_dir)


@pytest.mark.parametrize("tier", ["micro", "large"])  # DDP; the large tier shards with FSDP
def test_two_processes_on_cpu_match_the_single_process_run(
    tier, micro_dataset, single_process_losses, tmp_path
):
    cfg = micro_model_config(
        Dataset(micro_dataset).meta.vocab_size,
        max_steps=30,
        checkpoint_interval=30,
        eval_interval=30,
        batch_size=4,
    )
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"tier": tier})})
    path = cfg.save(tmp_path / "cfg.yaml")
    run = tmp_path / "run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*torchrun, "-m", "graph.cli", *_train_cmd(path, micro_dataset, run), "--json"],
        env=ENV,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert json.loads(done.stdout)["world_size"] == 2  # one report, from rank 0
    state = ckpt.load_trainer_state(ckpt.resolve_checkpoint(run, prefer=ckpt.LATEST))
    assert (state.step, state.world_size, state.data_cursor) == (30, 2, 30 * 8)
    assert "--nproc_per_node=2" in (run / "launch.sh").read_text()
    assert ckpt.load_model(run).config.hidden_size == 64  # full (unsharded) weights on disk
    # 2 processes x 4 sequences see exactly the single process's batches of 8
    losses = _train_losses(run)
    assert losses.keys() == single_process_losses.keys() == {10, 20, 30}
    for step, loss in single_process_losses.items():
        assert losses[step] == pytest.approx(loss, rel=2e-3)


def _cli_exit(monkeypatch, capsys, argv: list[str]) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["auton-slm", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().err


def _assert_bad_input(monkeypatch, capsys, argv: list[str], match: str) -> None:
    code, err = _cli_exit(monkeypatch, capsys, argv)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err, err


def test_bad_input_is_one_line_and_exit_2(micro_dataset, micro_run, tmp_path, monkeypatch, capsys):
    cfg = _config(tmp_path, micro_dataset)
    wrong_vocab = micro_model_config(Dataset(micro_dataset).meta.vocab_size + 32).save(
        tmp_path / "wrong.yaml"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cases = [
        (_train_cmd(tmp_path / "missing.yaml", micro_dataset, tmp_path / "r1"), "no such config file"),
        (_train_cmd(cfg, tmp_path / "no-data", tmp_path / "r2"), "no such dataset directory"),
        (_train_cmd(wrong_vocab, micro_dataset, tmp_path / "r3"), "does not match the dataset"),
        (_train_cmd(cfg, micro_dataset, blocker / "run"), "cannot create run directory"),
        (_train_cmd(cfg, micro_dataset, tmp_path / "r5", "--resume"), "no checkpoint to resume from"),
    ]
    for argv, match in cases:
        _assert_bad_input(monkeypatch, capsys, argv, match)


def test_resume_from_a_corrupt_checkpoint_is_bad_input(
    micro_dataset, micro_run, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"
    shutil.copytree(micro_run, run, symlinks=True)
    cfg = run / "config.yaml"
    _assert_bad_input(monkeypatch, capsys, _train_cmd(cfg, micro_dataset, run), "already holds a run")
    weights = ckpt.resolve_checkpoint(run, prefer=ckpt.LATEST) / ckpt.WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    _assert_bad_input(
        monkeypatch, capsys, _train_cmd(cfg, micro_dataset, run, "--resume"), "cannot load weights"
    )
    shutil.rmtree(run)
    shutil.copytree(micro_run, run, symlinks=True)
    state = ckpt.resolve_checkpoint(run, prefer=ckpt.LATEST) / ckpt.TRAINER_STATE
    state.write_text('{"step": "x"')
    _assert_bad_input(monkeypatch, capsys, _train_cmd(cfg, micro_dataset, run, "--resume"), "not valid JSON")
