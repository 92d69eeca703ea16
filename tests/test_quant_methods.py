"""Quantization methods: GPTQ and AWQ beat RTN on the same layer and calibration data; the quantized
directory, its report and its GGUF (exported byte for byte and checked against llama.cpp)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from tools.checkpoint import load_model
from tools.dataset import Dataset
from tools.quant.awq import awq_layer
from tools.quant.calibrate import SITE_OF, calibration_windows, layer_stats, output_error
from tools.quant.gptq import gptq, gptq_layer
from tools.quant.rtn import rtn_layer


@pytest.fixture(scope="module")
def layer_setup(micro_run: Path, micro_dataset: Path):
    model = load_model(micro_run)
    windows = calibration_windows(Dataset(micro_dataset), 32, 128, seed=0)
    return model, layer_stats(model, 1, windows)


def _absolute_errors(model, stats, method, qtype: str) -> dict[str, float]:
    """Output error of each linear of layer 1, in the original coordinates, after ``method``."""
    layer = copy.deepcopy(model.model.layers[1])
    results = method(layer, stats, qtype)
    original = model.model.layers[1]
    errors = {}
    for path, (_, rel) in results.items():
        w = original.get_submodule(path).weight.detach()
        errors[path] = rel * output_error(w, torch.zeros_like(w), stats[SITE_OF[path]].hessian)
    return errors


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_0"])
def test_gptq_beats_rtn_on_every_linear(layer_setup, qtype: str):
    model, stats = layer_setup
    rtn = _absolute_errors(model, stats, rtn_layer, qtype)
    ours = _absolute_errors(model, stats, gptq_layer, qtype)
    for path in SITE_OF:
        assert ours[path] < 0.8 * rtn[path], path


def test_awq_beats_rtn_on_the_layer(layer_setup):
    model, stats = layer_setup
    rtn = _absolute_errors(model, stats, rtn_layer, "Q4_0")
    ours = _absolute_errors(model, stats, awq_layer, "Q4_0")
    assert sum(ours.values()) < 0.9 * sum(rtn.values())
    for group in (
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
        ["mlp.gate_proj", "mlp.up_proj"],
    ):
        assert sum(ours[p] for p in group) < sum(rtn[p] for p in group)


def _layer_out(layer, x: torch.Tensor, emb) -> torch.Tensor:
    out = layer(x, position_embeddings=emb)
    return out[0] if isinstance(out, tuple) else out


def test_awq_folding_keeps_the_layer_function(layer_setup):
    """The scales move between the norms (or v/up rows) and the weights: if the folding were wrong,
    the layer output would change by the scale factors, far beyond Q8_0 rounding (which RTN shows)."""
    model, stats = layer_setup
    x = torch.randn(2, 16, model.config.hidden_size, generator=torch.Generator().manual_seed(0))
    emb = model.model.rotary_emb(x, torch.arange(16).unsqueeze(0))
    with torch.no_grad():
        ref = _layer_out(model.model.layers[1], x, emb)
        outs = {}
        for name, method in (("rtn", rtn_layer), ("awq", awq_layer)):
            layer = copy.deepcopy(model.model.layers[1])
            method(layer, stats, "Q8_0")
            outs[name] = (_layer_out(layer, x, emb) - ref).norm() / ref.norm()
    assert outs["rtn"] < 0.01 and outs["awq"] < 3 * outs["rtn"]
    norm = copy.deepcopy(model.model.layers[1])
    awq_layer(norm, stats, "Q8_0")
    assert not torch.allclose(norm.input_layernorm.weight, model.model.layers[1].input_layernorm.weight)


def test_gptq_output_is_a_standard_gguf_tensor(layer_setup):
    from gguf import GGMLQuantizationType, dequantize

    model, stats = layer_setup
    w = model.model.layers[1].mlp.down_proj.weight.detach()
    q = gptq(w, stats["down_in"].hessian, "Q4_0")
    ref = dequantize(q.data, GGMLQuantizationType.Q4_0)
    assert ref.shape == tuple(w.shape) and np.array_equal(ref, q.dequantize().numpy())
