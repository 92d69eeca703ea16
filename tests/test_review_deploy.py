"""Reviewer checks of the later stages on real artifacts of the micro run: a quantized directory,
an export directory and a kernel boot, each approved as made and rejected with the right remedy
once broken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.errors import InputError
from tools.review import review
from tools.review.quantized import stronger
from tools.verdict import Remedy, Verdict


def finding(v: Verdict, check: str):
    return next(f for f in v.findings if f.check == check)


def edited_copy(src: Path, dst: Path, name: str, **updates) -> Path:
    """A copy of directory ``src`` whose JSON file ``name`` has ``updates`` applied."""
    shutil.copytree(src, dst)
    doc = json.loads((dst / name).read_text())
    doc.update(updates)
    (dst / name).write_text(json.dumps(doc))
    return dst


# --- quantized -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quantized(micro_run, micro_dataset, tmp_path_factory) -> Path:
    from tools.quant.quantize import QuantizeRequest, quantize

    out = tmp_path_factory.mktemp("quantized") / "micro-rtn-Q8_0"
    req = QuantizeRequest(
        model=micro_run, method="rtn", type="Q8_0", data=micro_dataset, out=out,
        calib_sequences=8, eval_max_tokens=2048, eval_max_qa=2,
    )  # fmt: skip
    return quantize(req).out


def test_rtn_q8_quantized_dir_is_approved(quantized):
    v = review("quantized", quantized)
    assert v.approved, [f.message for f in v.failures]
    assert abs(finding(v, "degradation").evidence["value"]) < 0.02


def test_missed_degradation_rule_asks_for_a_stronger_method(quantized, tmp_path):
    report = json.loads((quantized / "report.json").read_text())
    rule = report["rule"] | {"value": 0.05, "passed": False}
    v = review("quantized", edited_copy(quantized, tmp_path / "q", "report.json", rule=rule, passed=False))
    assert not v.approved
    assert v.remedy == Remedy(
        stage="quantize",
        action="requantize",
        params={"method": "gptq", "qtype": "Q8_0"},
        text="perplexity changed by +5.00%, not below 2%: quantize again with gptq at Q8_0",
    )


def test_a_quantized_dir_evaluates_in_pytorch_and_its_export_in_llama_cpp(quantized, micro_dataset, tmp_path):
    from tools.eval import EvalRequest, evaluate
    from tools.export.export import ExportRequest, export
    from tools.quant.layout import read_report

    req = EvalRequest(
        model=str(quantized),
        data=str(micro_dataset),
        max_tokens=2048,
        max_qa=2,
        samples=False,
        write_report=False,
    )
    torch_run = evaluate(req)  # the dequantized HF weights
    assert torch_run.backend == "hf" and torch_run.tier == "micro"
    assert torch_run.perplexity == pytest.approx(read_report(quantized).after.perplexity, rel=1e-9)
    gguf = export(ExportRequest(model=quantized, out=tmp_path / "exp", validate=False)).file
    gguf_run = evaluate(req.model_copy(update={"model": str(gguf)}))  # model-Q8_0.gguf in llama.cpp
    assert gguf_run.backend == "gguf" and gguf_run.tokens_scored == torch_run.tokens_scored
    assert gguf_run.perplexity == pytest.approx(torch_run.perplexity, rel=0.01)


def test_stronger_settings_ladder():
    assert stronger("rtn", "Q4_0") == ("gptq", "Q4_0")
    assert stronger("gptq", "Q4_0") == ("awq", "Q4_0")
    assert stronger("awq", "Q4_0") == ("gptq", "Q8_0")
    assert stronger("awq", "Q8_0") is None


def test_unevaluated_or_truncated_quantized_dirs_are_rejected(quantized, tmp_path):
    v = review(
        "quantized", edited_copy(quantized, tmp_path / "noeval", "report.json", rule=None, passed=None)
    )
    assert finding(v, "evaluated").remedy.action == "rerun"
    cut = tmp_path / "cut"
    shutil.copytree(quantized, cut)
    weights = cut / "weights-Q8_0.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])
    v = review("quantized", cut)
    assert not v.approved and v.remedy.stage == "quantize"


# --- export --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validated_export(micro_run, micro_dataset, tmp_path_factory) -> Path:
    from tools.export.export import ExportRequest, export

    return export(
        ExportRequest(
            model=micro_run, out=tmp_path_factory.mktemp("export") / "q8", type="Q8_0", data=micro_dataset
        )
    ).out


def test_validated_export_is_approved(validated_export):
    v = review("export", validated_export)
    assert v.approved, [f.message for f in v.failures]


def test_unvalidated_or_tampered_exports_are_rejected(micro_gguf, validated_export, tmp_path):
    v = review("export", micro_gguf["Q8_0"].parent)  # the fixture skips validation
    f = finding(v, "validation")
    assert not f.passed and "not validated" in f.message and f.remedy.stage == "export"

    tampered = tmp_path / "tampered"
    shutil.copytree(validated_export, tampered)
    gguf = next(tampered.glob("*.gguf"))
    data = bytearray(gguf.read_bytes())
    data[-1] ^= 0xFF
    gguf.write_bytes(bytes(data))
    f = finding(review("export", tampered), "files_intact")
    assert not f.passed and f.remedy == Remedy(
        stage="export", action="rerun", text=f"re-run the export stage: {f.message}"
    )


def test_export_over_the_tier_ram_asks_for_the_widest_type_that_fits(validated_export, tmp_path):
    mb = 1 << 20
    ram = {"model_file": 200 * mb, "kv_cache": 8 * mb, "activations": mb, "tokenizer": mb, "total": 210 * mb}
    big = edited_copy(
        validated_export, tmp_path / "big", "deploy.json", tier="tiny", quant_type="F32", ram_estimate=ram
    )
    f = finding(review("export", big), "ram_fits")
    assert not f.passed and f.evidence["budget"] == 128 * mb
    assert f.remedy.action == "requantize" and f.remedy.params == {"method": "gptq", "qtype": "Q8_0"}


# --- boot ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def booted(micro_gguf, kernel_image, tmp_path_factory) -> Path:
    from tools.artifacts import atomic_write_json
    from tools.kernel import KernelBootRequest, boot
    from tools.tiers import Arch

    built = kernel_image("riscv64", micro_gguf["Q8_0"])
    result = boot(
        KernelBootRequest(arch=Arch.riscv64, image=built.image, prompts=["What is a hart?"], max_tokens=8)
    )
    out = tmp_path_factory.mktemp("boot")
    atomic_write_json(out / "boot.json", result)
    return out


def test_a_clean_boot_is_approved(booted):
    v = review("boot", booted)
    assert v.approved, [f.message for f in v.failures]
    assert finding(v, "answered").evidence["answers"][0]["tokens"] >= 1


def test_a_model_out_of_arena_memory_asks_for_q4(booted, tmp_path):
    error = (
        "model failed to load: out of memory: the layer table needs 4096 bytes, the arena has 0 of 1000 free"
    )
    broken = edited_copy(
        booted, tmp_path / "oom", "boot.json", model=None, exit_code=1, ok=False, error=error
    )
    v = review("boot", broken)
    f = finding(v, "model_loaded")
    assert (
        not f.passed
        and f.remedy.action == "requantize"
        and f.remedy.params == {"method": "gptq", "qtype": "Q4_0"}
    )


def test_a_runtime_error_in_an_answer_reruns_the_boot(booted, tmp_path):
    doc = json.loads((booted / "boot.json").read_text())
    answers = [a | {"error": "generation failed: context full"} for a in doc["answers"]]
    v = review("boot", edited_copy(booted, tmp_path / "err", "boot.json", answers=answers))
    assert finding(v, "answered").remedy.stage == "integrate" and not v.approved
    with pytest.raises(InputError):
        review("boot", tmp_path / "nothing-here")
