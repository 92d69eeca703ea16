"""The training loop in process: the micro run's loss falls, checkpoints follow the contract,
NaN/Inf rolls back at a lower LR (bounded), data batches are a pure function of the cursor."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from tests.fixtures_train import MICRO_STEPS, micro_model_config, torch_threads
from tools import checkpoint as ckpt
from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.train import NanEvent, TrainingDiverged, TrainRequest, train
from tools.train.data import TrainWindows
from tools.train.metrics import read_metrics
from tools.train.optim import lr_at


def test_micro_run_loss_falls(micro_run, micro_config):
    records = read_metrics(micro_run / ckpt.METRICS)
    train_recs = [r for r in records if r["event"] == "train"]
    vals = [r for r in records if r["event"] == "val"]
    assert [r["step"] for r in train_recs] == list(range(10, MICRO_STEPS + 1, 10))
    assert train_recs[0]["loss"] > train_recs[-1]["loss"] + 1.0
    assert train_recs[0]["loss"] < math.log(micro_config.model.vocab_size) + 0.5  # started near uniform
    assert [r["step"] for r in vals] == [100, 200, 300]
    assert vals[0]["val_loss"] > vals[-1]["val_loss"]
    assert vals[-1]["val_ppl"] < 150  # the reviewer's micro threshold (tools.tiers.MICRO_PPL_THRESHOLD)
    assert all(r["tokens_per_s"] > 0 and 0 < r["mfu"] < 1 for r in train_recs)
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"


def test_micro_run_checkpoint_contract(micro_run, micro_config, micro_dataset):
    latest, best = ckpt.pointer_target(micro_run, ckpt.LATEST), ckpt.pointer_target(micro_run, ckpt.BEST)
    assert latest.name == ckpt.step_dir_name(MICRO_STEPS) and best is not None
    # keep_last=2 plus best: at most three step dirs survive, the step-0 one is gone
    assert [p.name for p in ckpt.step_dirs(micro_run)] == ["step_00000200", "step_00000300"]
    for name in ("model.safetensors", "config.json", "tokenizer.json", "optimizer.pt", "trainer_state.json"):
        assert (latest / name).is_file()
    assert (latest / "tokenizer.json").read_bytes() == (micro_dataset / "tokenizer.json").read_bytes()
    state = ckpt.load_trainer_state(latest)
    assert (state.step, state.data_cursor) == (MICRO_STEPS, MICRO_STEPS * 8)
    assert state.tokens_seen == MICRO_STEPS * 8 * 128 and {"python", "numpy", "torch"} <= set(state.rng)
    model = ckpt.load_model(micro_run)
    assert model.config.hidden_size == 64 and model.config.tie_word_embeddings
    assert (
        sum(p.numel() for p in model.parameters())
        == json.loads((micro_run / "manifest.json").read_text())["parameters"]["config"]["estimates"][
            "params"
        ]
    )
    assert ModelConfig.load(micro_run / "config.yaml").model == micro_config.model
    launch = (micro_run / "launch.sh").read_text()
    assert "-m graph.cli train --config" in launch and str(micro_run / "config.yaml") in launch


def _run(tmp_path, data, name, **kw):
    training = kw.pop("training", {})
    cfg = micro_model_config(Dataset(data).meta.vocab_size, **training)
    with torch_threads(1):
        return train(TrainRequest(config=cfg, data=data, out=tmp_path / name, device="cpu", **kw))


def test_nan_rolls_back_to_last_checkpoint_with_lower_lr(micro_dataset, tmp_path):
    training = dict(max_steps=40, checkpoint_interval=20, eval_interval=20, warmup_steps=5)
    result = _run(tmp_path, micro_dataset, "nan", training=training, inject_nan_at_steps=[30])
    assert result.status == "completed" and result.steps == 40
    assert result.nan_events == [NanEvent(step=30, to_step=20, lr_scale=0.5)]
    assert math.isfinite(result.final_loss)
    records = read_metrics(result.run_dir / ckpt.METRICS)
    nan = [r for r in records if r["event"] == "nan"]
    assert nan == [{**nan[0], "action": "rollback", "to_step": 20, "lr_scale": 0.5}]
    steps = [r["step"] for r in records if r["event"] == "train"]
    assert steps == [10, 20, 30, 40]  # the rolled-back trajectory's records were replaced
    spec = micro_model_config(512, **training).training
    lrs = {r["step"]: r["lr"] for r in records if r["event"] == "train"}
    assert lrs[20] == pytest.approx(lr_at(19, spec))
    assert lrs[40] == pytest.approx(0.5 * lr_at(39, spec))
    assert ckpt.load_trainer_state(result.latest).rollbacks == 1


def test_nan_beyond_the_rollback_budget_stops_with_a_clear_error(micro_dataset, tmp_path):
    training = dict(max_steps=20, checkpoint_interval=10, eval_interval=10)
    with pytest.raises(TrainingDiverged, match=r"NaN/Inf at step 6 after 1 rollbacks .*step_00000000"):
        _run(
            tmp_path, micro_dataset, "diverge", training=training, inject_nan_at_steps=[5, 6], max_rollbacks=1
        )
    events = [r for r in read_metrics(tmp_path / "diverge" / ckpt.METRICS) if r["event"] == "nan"]
    assert [e["action"] for e in events] == ["rollback", "abort"]


def test_batches_are_a_pure_function_of_the_cursor():
    tokens = np.arange(10_000, dtype=np.uint16)
    w = TrainWindows(tokens, context=16, seed=7)
    x, y = w.batch(cursor=40, batch_size=4)
    assert torch.equal(x[:, 1:], y[:, :-1])  # targets are inputs shifted by one
    assert torch.equal(w.batch(40, 4)[0], TrainWindows(tokens, 16, 7).batch(40, 4)[0])
    # two processes with half the batch each see exactly the single-process global batch
    halves = torch.cat([w.batch(40, 2, rank=0, world=2)[0], w.batch(40, 2, rank=1, world=2)[0]])
    assert torch.equal(halves, x)
    # one epoch visits every window exactly once (starts are distinct and grid-aligned)
    starts = w.starts(0, w.n_windows)
    assert len(set(starts.tolist())) == w.n_windows and len({int(s) % 16 for s in starts}) == 1
    assert not np.array_equal(w.starts(0, 8), w.starts(w.n_windows, 8))  # next epoch reshuffles


def test_a_wsd_schedule_resizes_until_its_decay_and_fills_its_budget(micro_dataset, tmp_path):
    """Warmup-stable-decay re-fits its length every few steps at the wall-clock rate (evaluations
    included) until its decay begins, so a machine that speeds up after a slow start still uses
    its minutes (the 2026-12-03 default run sized 474 steps from its first 40 and trained 14.7
    of its 17.3 minutes); then the length holds and the decay runs to its end."""
    from tools.train.loop import RESIZE_EVERY, SIZE_AFTER_STEPS
    from tools.train.optim import decay_steps

    training = dict(
        max_steps=4000, checkpoint_interval=500, eval_interval=500, warmup_steps=20, schedule="wsd",
        decay_fraction=0.2,
    )  # fmt: skip
    result = _run(tmp_path, micro_dataset, "wsd", training=training, time_budget_s=6.0)
    sized = [r for r in read_metrics(result.run_dir / ckpt.METRICS) if r["event"] == "sized"]
    assert sized[0]["step"] == SIZE_AFTER_STEPS and len(sized) > 1
    assert all((r["step"] - SIZE_AFTER_STEPS) % RESIZE_EVERY == 0 for r in sized)
    steps = result.max_steps
    assert steps == sized[-1]["max_steps"] == result.steps < 4000
    assert sized[-1]["step"] < steps - decay_steps(steps, 0.2)  # never resized in the decay
    assert 0.8 * 6.0 <= result.wall_s <= 6.0 * 1.5  # fills it; the last save may run over


def test_lr_schedule_warms_up_then_decays_to_min():
    spec = micro_model_config(512, lr=1e-3, min_lr=1e-4, warmup_steps=10, max_steps=110).training
    assert lr_at(0, spec) == pytest.approx(1e-4) and lr_at(9, spec) == pytest.approx(1e-3)
    assert lr_at(60, spec) == pytest.approx(5.5e-4)
    assert lr_at(110, spec) == pytest.approx(1e-4)
    assert all(lr_at(s, spec) >= lr_at(s + 1, spec) for s in range(10, 110))
    wsd = spec.model_copy(update={"schedule": "wsd", "decay_fraction": 0.2})  # decays over the last 22
    assert lr_at(9, wsd) == lr_at(60, wsd) == lr_at(88, wsd) == pytest.approx(1e-3)
    assert lr_at(99, wsd) == pytest.approx(5.5e-4) and lr_at(110, wsd) == pytest.approx(1e-4)
    assert all(lr_at(s, wsd) >= lr_at(s + 1, wsd) for s in range(10, 110))


def test_a_time_budget_sizes_the_schedule_and_a_resume_keeps_it(micro_dataset, tmp_path):
    """The run times its first steps, fits its schedule into the budget (far fewer steps than the
    config's 2000 here), re-fits it early on at the rate since, ends within the budget, and a resume
    continues the sized schedule."""
    import time

    from tools.train.loop import RESIZE_FACTOR, RESIZE_UNTIL, SIZE_AFTER_STEPS

    training = dict(max_steps=2000, checkpoint_interval=500, eval_interval=500, warmup_steps=20)
    t0 = time.perf_counter()
    result = _run(tmp_path, micro_dataset, "sized", training=training, time_budget_s=6.0)
    wall = time.perf_counter() - t0
    sized = [r for r in read_metrics(result.run_dir / ckpt.METRICS) if r["event"] == "sized"]
    # sized at 10 steps, then again at 40, 160 ... while within the first quarter of the schedule
    assert sized[0]["step"] == SIZE_AFTER_STEPS
    assert [r["step"] for r in sized] == [SIZE_AFTER_STEPS * RESIZE_FACTOR**k for k in range(len(sized))]
    assert all(r["step"] <= RESIZE_UNTIL * p["max_steps"] for p, r in zip(sized, sized[1:], strict=False))
    steps = sized[-1]["max_steps"]
    assert SIZE_AFTER_STEPS <= steps < 2000 and result.steps == result.max_steps == steps
    assert wall < 6.0 * 1.5 + 5  # the budget, and the model/data set-up it does not count
    assert ckpt.load_trainer_state(result.latest).max_steps == steps
    # a resume (no budget: the run's own schedule) trains nothing more and keeps the length
    again = _run(tmp_path, micro_dataset, "sized", training=training, resume=True)
    assert again.steps == again.max_steps == steps
