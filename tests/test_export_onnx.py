"""ONNX export: dynamic batch and sequence axes, onnx.checker, onnxruntime parity at several shapes."""

from __future__ import annotations

from pathlib import Path

import onnx

from tools.export.validate import ONNX_TOLERANCE


def test_onnx_export_is_dynamic_and_matches_pytorch(micro_run: Path, tmp_path: Path):
    from tools.export.export import ExportRequest, export

    result = export(ExportRequest(model=micro_run, out=tmp_path / "onnx", format="onnx"))
    d = result.deploy
    assert d.passed and d.format == "onnx" and result.file.name == "model.onnx"
    assert [f.path for f in d.files] == ["model.onnx", "model.int8.onnx"]
    assert d.files[1].bytes < 0.7 * d.files[0].bytes
    graph = onnx.load(str(result.file)).graph
    dims = [graph.input[0].type.tensor_type.shape.dim, graph.output[0].type.tensor_type.shape.dim]
    assert all(dim[0].dim_param and dim[1].dim_param for dim in dims)  # batch, sequence symbolic
    for name in ("fp32", "int8"):
        check = d.validation[name]
        shapes = {(s["batch"], s["sequence"]) for s in check["shapes"]}
        assert check["checker"] and len(shapes) >= 3 and (2, 128) in shapes
        assert all(s["rel_max_diff"] < ONNX_TOLERANCE[name] for s in check["shapes"])
    assert max(s["rel_max_diff"] for s in d.validation["fp32"]["shapes"]) < 1e-5
