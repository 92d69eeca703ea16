"""ONNX export: dynamic batch and sequence axes, onnx.checker, onnxruntime parity at several shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx

from tests.cli_run import run_cli
from tools.export.deploy import DeployInfo
from tools.export.validate import ONNX_TOLERANCE


def test_onnx_export_is_dynamic_and_matches_pytorch(micro_run: Path, tmp_path: Path, capsys):
    """The README's command, human output: it names both files and their parity."""
    out = tmp_path / "onnx"
    r = run_cli(capsys, "export", "--model", str(micro_run), "--format", "onnx", "--out", str(out))
    assert r.code == 0, r.err
    assert re.search(r"validation passed: model\.onnx \d shapes, .*; model\.int8\.onnx \d shapes", r.out), r.out
    d = DeployInfo.model_validate(json.loads((out / "deploy.json").read_text()))
    result_file = out / d.file
    assert d.passed and d.format == "onnx" and result_file.name == "model.onnx"
    assert [f.path for f in d.files] == ["model.onnx", "model.int8.onnx"]
    assert d.files[1].bytes < 0.7 * d.files[0].bytes
    graph = onnx.load(str(result_file)).graph
    dims = [graph.input[0].type.tensor_type.shape.dim, graph.output[0].type.tensor_type.shape.dim]
    assert all(dim[0].dim_param and dim[1].dim_param for dim in dims)  # batch, sequence symbolic
    for name in ("fp32", "int8"):
        check = d.validation[name]
        shapes = {(s["batch"], s["sequence"]) for s in check["shapes"]}
        assert check["checker"] and len(shapes) >= 3 and (2, 128) in shapes
        assert all(s["rel_max_diff"] < ONNX_TOLERANCE[name] for s in check["shapes"])
    assert max(s["rel_max_diff"] for s in d.validation["fp32"]["shapes"]) < 1e-5
