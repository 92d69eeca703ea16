"""Shared pytest fixtures of the train stage.

- ``measurement_cache`` (autouse): AUTON_SLM_CACHE points at a session temp dir.
- ``micro_config``: a micro-tier ModelConfig (d_model 64, 2 layers, 4 heads / 2 KV heads,
  d_ff 192, context 128, batch 8) whose vocabulary is ``micro_dataset``'s.
- ``micro_run``: the run directory of ``micro_config`` trained on ``micro_dataset`` for 300 steps
  on the CPU in fp32 with one thread (a few seconds; one thread is also the fastest for a model
  this small on a loaded 2-core machine): ``latest``/``best`` pointers, step dirs loadable with
  ``tools.checkpoint.load_model``, metrics.jsonl, config.yaml, launch.sh, manifest.json.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.config import ModelConfig, ModelSpec, TrainSpec
from tools.dataset import Dataset

MICRO_STEPS = 300


def micro_spec(**overrides) -> ModelSpec:
    """The micro-tier shape of the tests (d_model 64, 2 layers, 4 heads / 2 KV heads, d_ff 192,
    context 128, vocab 512 on riscv64); ``overrides`` replace any field."""
    shape: dict = dict(
        tier="micro",
        arch="riscv64",
        vocab_size=512,
        d_model=64,
        n_layers=2,
        n_heads=4,
        n_kv_heads=2,
        d_ff=192,
        context=128,
    )
    return ModelSpec(**(shape | overrides))


def save_untrained(cfg: ModelConfig, tokenizer_json: Path, run: Path) -> Path:
    """A run directory holding ``cfg``'s randomly initialised model (seed 0) as step 1, with the
    tokenizer and config.yaml beside it, the layout the export and eval tools read."""
    import shutil

    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    step = run / "step_00000001"
    LlamaForCausalLM(cfg.to_hf()).save_pretrained(step)
    shutil.copy(tokenizer_json, step / "tokenizer.json")
    cfg.save(run / "config.yaml")
    return step


def micro_model_config(vocab_size: int, **training) -> ModelConfig:
    spec = dict(
        batch_size=8,
        lr=3e-3,
        min_lr=3e-4,
        warmup_steps=20,
        max_steps=MICRO_STEPS,
        checkpoint_interval=100,
        eval_interval=100,
        eval_batches=8,
        precision="fp32",
        seed=1234,
    )
    spec.update(training)
    return ModelConfig(
        name="micro",
        model=micro_spec(vocab_size=vocab_size),
        training=TrainSpec(**spec),
    )


@pytest.fixture(scope="session", autouse=True)
def measurement_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests measure the probe and matmul peak into their own cache (AUTON_SLM_CACHE), never into
    the user's: a figure taken while the suite loads the machine would mislead later designs."""
    path = tmp_path_factory.mktemp("auton-slm-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTON_SLM_CACHE", str(path))
        yield path


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def micro_config(micro_dataset: Path) -> ModelConfig:
    return micro_model_config(Dataset(micro_dataset).meta.vocab_size)


@pytest.fixture(scope="session")
def micro_run(
    micro_config: ModelConfig, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from tools.train import TrainRequest, train

    out = tmp_path_factory.mktemp("micro_run") / "run"
    with torch_threads(1):
        result = train(TrainRequest(config=micro_config, data=micro_dataset, out=out, device="cpu"))
    assert result.status == "completed" and result.steps == MICRO_STEPS
    return out
