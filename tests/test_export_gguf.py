"""GGUF export: llama.cpp parity (tokenization, logits, greedy), RoPE layout, corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli_run import run_cli
from tests.fixtures_train import micro_spec, save_untrained
from tools.config import ModelConfig
from tools.errors import InputError
from tools.export.validate import LOGIT_TOLERANCE
from tools.gguf.file import read_gguf, rope_row_order


def test_rope_row_order_interleaves_halves_per_head():
    # 2 heads of dim 4: HF rows (h0: a0 a1 b0 b1), GGUF wants (a0 b0 a1 b1) per head
    assert rope_row_order(8, 2).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_q8_0_export_passes_llama_cpp_parity(micro_run: Path, micro_dataset: Path, tmp_path: Path, capsys):
    out = tmp_path / "q8"
    r = run_cli(
        capsys,
        "export",
        "--model",
        str(micro_run),
        "--type",
        "Q8_0",
        "--data",
        str(micro_dataset),
        "--out",
        str(out),
        "--max-tokens",
        "2048",
        "--max-qa",
        "4",
        "--json",
    )
    assert r.code == 0, r.err
    deploy = json.loads((out / "deploy.json").read_text())
    assert deploy == json.loads(r.out)["deploy"]
    v = deploy["validation"]
    assert deploy["passed"] and deploy["quant_type"] == "Q8_0"
    assert v["tokenization"]["passed"] and v["tokenization"]["texts"] >= 5
    assert v["logits"]["rel_max_diff"] < LOGIT_TOLERANCE["Q8_0"]
    assert v["logits"]["top1_agreement"] >= 0.9
    assert deploy["tensor_types"] == {"Q8_0": 15, "F32": 5}  # 2 layers x 7 linears + embedding; 5 norms
    assert deploy["tokenizer"]["kind"] == "gpt2/gpt-2"
    assert deploy["ram_estimate"]["total"] > deploy["bytes"]
    assert (
        deploy["eval"]["backend"] == "gguf"
        and deploy["eval"]["tokens"] == 2048
        and deploy["eval"]["qa_pairs"] == 4
    )
    assert (out / "manifest.json").is_file() and (out / "model-Q8_0.gguf").stat().st_size == deploy["bytes"]


def test_f32_export_matches_pytorch_and_greedy_32(micro_run: Path, micro_dataset: Path, tmp_path: Path, capsys):
    """Through the CLI's human output, as a user runs it: the summary names what was checked."""
    out = tmp_path / "f32"
    args = ["export", "--model", str(micro_run), "--data", str(micro_dataset), "--no-eval", "--out", str(out)]
    r = run_cli(capsys, *args)
    assert r.code == 0, r.err
    assert f"{out / 'model-F32.gguf'}" in r.out and "validation passed: logits rel diff" in r.out
    assert "greedy 32/32" in r.out and "eval" not in r.out.replace("--no-eval", "")
    v = json.loads((out / "deploy.json").read_text())["validation"]
    assert v["logits"]["rel_max_diff"] < LOGIT_TOLERANCE["F32"] and v["logits"]["top1_agreement"] == 1.0
    assert v["greedy"]["gated"] and v["greedy"]["matching_prefix"] == 32
    assert v["greedy"]["llama_cpp"] == v["greedy"]["torch"]


def test_fixture_files_read_back_with_their_types(micro_gguf: dict[str, Path]):
    sizes = {}
    for t, path in micro_gguf.items():
        reader = read_gguf(path)
        kinds = {x.tensor_type.name for x in reader.tensors}
        assert t in kinds and kinds <= {t, "F32", "Q8_0"}
        assert all(int(x.data_offset) % 32 == 0 for x in reader.tensors)
        sizes[t] = path.stat().st_size
    assert sizes["F32"] > sizes["F16"] > sizes["Q8_0"] > sizes["Q4_0"]


@pytest.mark.parametrize("damage", ["truncated", "bad_magic", "empty"])
def test_corrupt_gguf_is_rejected_in_one_line(micro_gguf: dict[str, Path], tmp_path: Path, damage: str):
    raw = micro_gguf["Q8_0"].read_bytes()
    bad = tmp_path / f"{damage}.gguf"
    if damage == "truncated":
        bad.write_bytes(raw[: len(raw) - 1000])
    elif damage == "bad_magic":
        bad.write_bytes(b"GGUX" + raw[4:])
    else:
        bad.write_bytes(b"")
    with pytest.raises(InputError) as e:
        read_gguf(bad)
    assert "\n" not in str(e.value) and str(bad) in str(e.value)


def test_file_holds_ggml_reference_blocks_in_gguf_layout(micro_run: Path, micro_gguf: dict[str, Path]):
    from gguf import GGMLQuantizationType, quantize

    from tools.checkpoint import load_model

    state = load_model(micro_run).state_dict()
    tensors = {t.name: t for t in read_gguf(micro_gguf["Q4_0"]).tensors}
    down = state["model.layers.0.mlp.down_proj.weight"].numpy()
    assert np.array_equal(
        np.asarray(tensors["blk.0.ffn_down.weight"].data), quantize(down, GGMLQuantizationType.Q4_0)
    )
    q = state["model.layers.1.self_attn.q_proj.weight"].numpy()
    expected = quantize(q[rope_row_order(q.shape[0], 4)], GGMLQuantizationType.Q4_0)
    assert np.array_equal(np.asarray(tensors["blk.1.attn_q.weight"].data), expected)
    emb = state["model.embed_tokens.weight"].numpy()
    assert tensors["token_embd.weight"].tensor_type == GGMLQuantizationType.Q8_0
    assert np.array_equal(
        np.asarray(tensors["token_embd.weight"].data), quantize(emb, GGMLQuantizationType.Q8_0)
    )
    assert "output.weight" not in tensors  # tied embeddings


def test_rows_that_do_not_split_into_blocks_are_bad_input(micro_run: Path, tmp_path: Path):
    from transformers import LlamaForCausalLM

    from tools.checkpoint import resolve_checkpoint
    from tools.errors import InputError
    from tools.export.export import ExportRequest, export

    step = resolve_checkpoint(micro_run)
    vocab = LlamaForCausalLM.from_pretrained(step).config.vocab_size
    cfg = ModelConfig(
        name="odd",
        model=micro_spec(vocab_size=vocab, d_model=48, n_layers=1, n_heads=2, d_ff=96, context=64),
    )
    odd = save_untrained(cfg, step / "tokenizer.json", tmp_path / "run")
    with pytest.raises(InputError, match="do not split into 32-value blocks") as e:
        export(ExportRequest(model=odd, out=tmp_path / "exp", type="Q8_0"))
    assert "\n" not in str(e.value) and not (tmp_path / "exp").exists()
    assert export(
        ExportRequest(model=odd, out=tmp_path / "f16", type="F16")
    ).deploy.passed  # floats need no blocks
