"""bench/task.py: the llama.cpp session drives the same constrained decoder as PyTorch's Console
(the micro tuned model of tests/test_tune.py exported to an F32 GGUF writes the same commands
for the same held-out requests, so the same scores), and bad flags exit 2 in one line."""

from __future__ import annotations

import pytest

from bench.task import evaluate_gguf, main
from tests.fixtures_train import torch_threads
from tests.test_tune import micro_tuned, tiny_task  # noqa: F401  (the tuned micro model's fixtures)
from tools import checkpoint as ckpt
from tools.task.score import SAMPLES
from tools.tune import TaskEvalRequest, evaluate_task


def test_llama_cpp_session_decodes_the_pytorch_commands(micro_tuned, tiny_task, tmp_path):  # noqa: F811
    from tools.export.export import ExportRequest, export

    run, _ = micro_tuned
    gguf = export(ExportRequest(model=run, out=tmp_path / "gguf", type="F32", validate=False)).file
    req = TaskEvalRequest(model=run, task=tiny_task, limit=SAMPLES, answers=False)  # samples: every row
    with torch_threads(1):
        torch_scores = evaluate_task(req)
        cpp_scores = evaluate_gguf(gguf, ckpt.resolve_checkpoint(run), req, lambda *a, **k: None)
    assert cpp_scores.examples == torch_scores.examples == SAMPLES
    assert [s["command"] for s in cpp_scores.samples] == [s["command"] for s in torch_scores.samples]
    assert torch_scores.command_exact >= 0.5  # a tuned model, not one that writes anything at all
    assert cpp_scores.command_exact == torch_scores.command_exact


@pytest.mark.parametrize("flags", [["--types", "Q3_K"], ["--points", "0"]])
def test_bad_flags_exit_2(flags, tmp_path, capsys):
    code = main(["--model", str(tmp_path), "--data", str(tmp_path), "--task", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "Traceback" not in err
