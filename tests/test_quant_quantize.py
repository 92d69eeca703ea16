"""The quantize stage end to end: the quantized directory, report.json and the < 2% rule, its blocks
exported to GGUF as they are and checked against llama.cpp, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run_cli
from tools.checkpoint import load_model
from tools.gguf.file import read_gguf, rope_row_order
from tools.quant.layout import RULE_THRESHOLD, read_report

EVAL_CAPS = {"eval_max_tokens": 2048, "eval_max_qa": 4}


@pytest.fixture(scope="module")
def awq_q4(micro_run: Path, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    from tools.quant.quantize import QuantizeRequest, quantize

    out = tmp_path_factory.mktemp("quantized") / "micro-awq-Q4_0"
    req = QuantizeRequest(
        model=micro_run,
        method="awq",
        type="Q4_0",
        data=micro_dataset,
        out=out,
        calib_sequences=32,
        **EVAL_CAPS,
    )
    return quantize(req)


def test_report_has_before_after_and_the_rule(awq_q4):
    r = read_report(awq_q4.out)
    assert r == awq_q4.report and r.method == "awq" and r.qtype == "Q4_0"
    assert r.before.tokens == r.after.tokens == 2048 and r.before.qa_pairs == r.after.qa_pairs == 4
    change = (r.after.perplexity - r.before.perplexity) / r.before.perplexity
    assert r.relative_change["perplexity"] == pytest.approx(change)
    assert r.rule.metric == "perplexity" and r.rule.threshold == RULE_THRESHOLD
    assert r.rule.value == pytest.approx(change) and r.passed == r.rule.passed == (change < RULE_THRESHOLD)
    assert r.tensor_types == {"Q4_0": 14, "Q8_0": 1, "F32": 5}
    assert r.weight_bytes < 0.4 * r.float_weight_bytes and awq_q4.weights.is_file()
    assert not list(awq_q4.out.glob("*.gguf"))  # export writes the file formats
    assert len(r.layer_error) == 14 and all(0 < e < 0.05 for e in r.layer_error.values())
    assert (awq_q4.out / "manifest.json").is_file() and (awq_q4.out / "config.yaml").is_file()


@pytest.fixture(scope="module")
def awq_export(awq_q4, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    from tools.export.export import ExportRequest, export

    out = tmp_path_factory.mktemp("exp") / "micro-awq-Q4_0"
    return export(ExportRequest(model=awq_q4.out, out=out, data=micro_dataset, **EVAL_CAPS))


def test_exported_gguf_holds_the_quantized_blocks(awq_q4, awq_export):
    from gguf import dequantize

    from tools.gguf.blocks import QTensor
    from tools.gguf.file import gguf_name
    from tools.gguf.store import load_typed

    model = load_model(awq_q4.out)
    tensors = {t.name: t for t in read_gguf(awq_export.file).tensors}
    blocks = load_typed(awq_q4.weights)
    down = blocks["model.layers.0.mlp.down_proj.weight"]
    assert isinstance(down, QTensor) and down.qtype == "Q4_0"
    assert np.array_equal(np.asarray(tensors[gguf_name("model.layers.0.mlp.down_proj.weight")].data), down.data)
    layer = model.model.layers[0]

    def gguf_values(name: str) -> np.ndarray:
        t = tensors[name]
        return dequantize(np.asarray(t.data), t.tensor_type).reshape(-1, int(t.shape[0]))

    assert np.array_equal(gguf_values("blk.0.ffn_down.weight"), layer.mlp.down_proj.weight.detach().numpy())
    k = layer.self_attn.k_proj.weight.detach().numpy()
    assert np.array_equal(gguf_values("blk.0.attn_k.weight"), k[rope_row_order(k.shape[0], 2)])
    # AWQ folded its scales into the norms: the GGUF carries the folded norms, as the HF weights
    # do. Its search may keep a norm as it was (scale exponent 0: seen for layer 0's attention on
    # an AVX-512 machine), so the check is that some norm was folded.
    original = load_model(awq_q4.report.source)
    folded = 0
    for i, (mine, before) in enumerate(zip(model.model.layers, original.model.layers, strict=True)):
        for name, attr in (("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm")):
            norm = np.asarray(tensors[f"blk.{i}.{name}.weight"].data)
            assert np.array_equal(norm, getattr(mine, attr).weight.detach().numpy())
            folded += not np.allclose(norm, getattr(before, attr).weight.detach().numpy())
    assert folded > 0


def test_export_takes_the_quantize_figures_instead_of_evaluating_again(awq_q4, awq_export):
    d = awq_export.deploy
    assert d.passed and d.quant_type == "Q4_0" and d.source["method"] == "awq"
    assert d.validation["logits"]["rel_max_diff"] < d.validation["logits"]["tolerance"]
    assert d.eval == awq_q4.report.after and d.eval_source.startswith("quantize report")


def test_llama_cpp_runs_the_very_weights_pytorch_evaluated(awq_q4, micro_dataset: Path, tmp_path: Path):
    from tools.export.export import ExportRequest, export

    d = export(
        ExportRequest(model=awq_q4.out, out=tmp_path / "exp", data=micro_dataset, evaluate=True, **EVAL_CAPS)
    ).deploy
    # the same perplexity up to activation rounding
    assert d.eval.backend == "gguf" and d.eval.tokens == awq_q4.report.after.tokens
    assert d.eval_source.startswith("measured here")
    assert abs(d.eval.perplexity / awq_q4.report.after.perplexity - 1) < 0.01


def test_quantize_cli_rtn_q8_0_meets_the_rule(micro_run: Path, micro_dataset: Path, tmp_path: Path, capsys):
    """Human output, as a user runs it; the report on disk carries the figures."""
    out = tmp_path / "rtn"
    r = run_cli(
        capsys,
        "quantize",
        "--model",
        str(micro_run),
        "--method",
        "rtn",
        "--type",
        "Q8_0",
        "--data",
        str(micro_dataset),
        "--out",
        str(out),
        "--calib-sequences",
        "8",
        "--max-tokens",
        "2048",
        "--max-qa",
        "4",
    )
    assert r.code == 0, r.err
    assert f"{out / 'weights-Q8_0.safetensors'}" in r.out and "rtn Q8_0 in" in r.out
    assert "rule perplexity change < 2%: passed" in r.out, r.out
    report = json.loads((out / "report.json").read_text())
    assert report["rule"]["passed"] and abs(report["rule"]["value"]) < 0.005
    assert report["tensor_types"] == {"Q8_0": 15, "F32": 5}
    assert (out / "weights-Q8_0.safetensors").is_file() and (out / "model.safetensors").is_file()


def test_corrupt_blocks_in_a_quantized_dir_are_rejected_in_one_line(awq_q4, tmp_path: Path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(awq_q4.out, bad)
    weights = bad / awq_q4.weights.name
    weights.write_bytes(weights.read_bytes()[:50_000])
    r = run_cli(capsys, "export", "--model", str(bad), "--out", str(tmp_path / "exp"))
    assert r.code == 2
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "not a typed weights file" in lines[0], r.err
    assert not (tmp_path / "exp").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["quantize", "--method", "hqq", "--type", "Q4_0"],
        ["quantize", "--method", "rtn", "--type", "Q3_K"],
        ["export", "--type", "F16"],  # a quantized directory keeps its type
        ["quantize", "--method", "rtn", "--type", "Q8_0"],  # already quantized
    ],
)
def test_bad_input_exits_2_with_one_line(
    awq_q4, micro_dataset: Path, tmp_path: Path, args: list[str], capsys
):
    extra = ["--data", str(micro_dataset)] if args[0] == "quantize" else []
    r = run_cli(capsys, *args, "--model", str(awq_q4.out), *extra, "--out", str(tmp_path / "x"))
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert r.err.startswith("error: ")
