"""`auton-slm arch design|estimate|validate`: JSON output, exit 1 with the reason, exit 2 on bad input."""

from __future__ import annotations

import json
import sys

import pytest

from graph.cli import main
from tools.arch import estimates as est
from tools.artifacts import REPO_ROOT
from tools.config import ModelConfig


def _cli(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["auton-slm", *argv])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_design_writes_a_valid_config(tmp_path, monkeypatch, capsys):
    out = tmp_path / "tiny.yaml"
    argv = ["arch", "design", "--tier", "tiny", "--arch", "aarch64", "--vocab-size", "4096"]
    argv += ["--budget-minutes", "18", "--flops-per-s", "5e11", "--out", str(out), "--json"]
    code, stdout, _ = _cli(monkeypatch, capsys, *argv)
    assert code == 0
    doc = json.loads(stdout)
    cfg = ModelConfig.load(out)
    assert doc == cfg.model_dump(mode="json")
    assert cfg.model.arch.value == "aarch64" and cfg.estimates.recommended_quant == "Q8_0"
    code, stdout, _ = _cli(monkeypatch, capsys, "arch", "validate", str(out), "--quant", "Q8_0", "--json")
    assert code == 0 and json.loads(stdout)["ok"] is True
    code, stdout, _ = _cli(monkeypatch, capsys, "arch", "estimate", str(out), "--batch", "4", "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["params"] == est.param_count(cfg.model)
    assert doc["train_memory"]["activations"] == est.activation_bytes(cfg.model, 4, act_bytes=4)
    assert doc["inference_ram"] == est.inference_ram_all(cfg.model)


def test_validate_fails_with_the_reason(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bad.yaml"
    good = ModelConfig.load(REPO_ROOT / "SLM" / "configs" / "tiny.yaml")
    bad = good.model_copy(update={"model": good.model.model_copy(update={"d_ff": 1000})})
    bad.save(path)
    code, stdout, err = _cli(monkeypatch, capsys, "arch", "validate", str(path))
    assert code == 1
    assert "rows_in_quant_blocks" in stdout
    assert err.count("\n") == 1 and "d_ff 1000 is not a multiple of 32" in err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["arch", "validate", "missing.yaml"], "no such config file"),
        (["arch", "estimate", "{bad}"], "not valid YAML"),
        (["arch", "design", "--tier", "huge", "--arch", "riscv64", "--vocab-size", "4096"], "huge"),
        (["arch", "design", "--tier", "tiny", "--arch", "mips", "--vocab-size", "4096"], "mips"),
    ],
)
def test_bad_input_exits_2(argv, match, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "{bad}").write_text("model: [unclosed")
    code, _, err = _cli(monkeypatch, capsys, *argv)
    assert code == 2 and match in err
