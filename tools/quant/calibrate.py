"""Calibration: token windows from the dataset's train split and the input statistics of each linear.

Layers are processed one at a time (``sequential``): the statistics of layer ``i`` are collected by
running the calibration windows through the model as it stands, i.e. with layers ``< i`` already
replaced by their quantized weights, so each layer is fitted to the inputs it will really see. The
forward pass stops at the end of layer ``i``.

Per input site of a decoder layer (the input of q/k/v, of o_proj, of gate/up, of down_proj) the
statistics are ``xtx = sum x x^T`` (float64) over calibration tokens, ``abs_sum = sum |x|`` and the
token count: GPTQ's Hessian is ``xtx / n``, AWQ's activation scale is ``abs_sum / n``, and the output
error of a weight change ``E`` is ``trace(E H E^T)`` (``output_error``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tools.dataset import Dataset
from tools.errors import InputError
from tools.gguf.blocks import QTensor
from tools.progress import ProgressFn, null_progress

SITES = {
    "attn_in": "self_attn.q_proj",
    "o_in": "self_attn.o_proj",
    "mlp_in": "mlp.gate_proj",
    "down_in": "mlp.down_proj",
}
SITE_OF = {
    "self_attn.q_proj": "attn_in",
    "self_attn.k_proj": "attn_in",
    "self_attn.v_proj": "attn_in",
    "self_attn.o_proj": "o_in",
    "mlp.gate_proj": "mlp_in",
    "mlp.up_proj": "mlp_in",
    "mlp.down_proj": "down_in",
}
BATCH = 8


def calibration_windows(data: Dataset, sequences: int, seq_len: int, seed: int) -> torch.Tensor:
    """``sequences`` windows of ``seq_len`` tokens at seeded random offsets of the train split."""
    stream = data.tokens("train")
    if len(stream) < seq_len + 1:
        raise InputError(f"{data.path}: the train split has {len(stream)} tokens, fewer than one window")
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(0, len(stream) - seq_len, size=sequences))
    return torch.from_numpy(np.stack([np.asarray(stream[s : s + seq_len], dtype=np.int64) for s in starts]))


@dataclass
class InputStats:
    xtx: torch.Tensor
    abs_sum: torch.Tensor
    n: int = 0

    @classmethod
    def empty(cls, width: int) -> InputStats:
        return cls(torch.zeros(width, width, dtype=torch.float64), torch.zeros(width, dtype=torch.float64))

    def add(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(torch.float32)  # one batch in float32, batches summed in float64
        self.xtx += (x.T @ x).to(torch.float64)
        self.abs_sum += x.abs().sum(0).to(torch.float64)
        self.n += x.shape[0]

    @property
    def hessian(self) -> torch.Tensor:
        return (self.xtx / max(self.n, 1)).to(torch.float32)

    @property
    def abs_mean(self) -> torch.Tensor:
        return (self.abs_sum / max(self.n, 1)).to(torch.float32)


def output_error(w: torch.Tensor, w_hat: torch.Tensor, hessian: torch.Tensor) -> float:
    """Mean squared output error of replacing ``w`` by ``w_hat`` on the calibration inputs:
    ``mean_tokens ||x (w - w_hat)^T||^2 = trace(E H E^T)``."""
    e = (w - w_hat).to(torch.float64)
    return float(((e @ hessian.to(torch.float64)) * e).sum())


def relative_output_error(w: torch.Tensor, w_hat: torch.Tensor, hessian: torch.Tensor) -> float:
    return output_error(w, w_hat, hessian) / max(output_error(w, torch.zeros_like(w), hessian), 1e-30)


class _Stop(Exception):
    pass


def layer_stats(model, index: int, windows: torch.Tensor) -> dict[str, InputStats]:
    """Input statistics of each site of decoder layer ``index`` over the calibration windows."""
    layer = model.model.layers[index]
    stats: dict[str, InputStats] = {}
    handles = []
    for site, path in SITES.items():
        module = layer.get_submodule(path)
        stats[site] = InputStats.empty(module.in_features)

        def hook(_m, args, site=site):
            stats[site].add(args[0].detach())

        handles.append(module.register_forward_pre_hook(hook))

    def stop(*_):
        raise _Stop

    handles.append(layer.register_forward_hook(stop))
    try:
        with torch.inference_mode():
            for start in range(0, len(windows), BATCH):
                try:
                    model(input_ids=windows[start : start + BATCH], use_cache=False)
                except _Stop:
                    pass
    finally:
        for h in handles:
            h.remove()
    return stats


LayerQuantizer = Callable[[object, dict[str, InputStats]], dict[str, tuple[QTensor, float]]]


@dataclass
class SequentialResult:
    done: dict[str, QTensor]  # HF name -> quantized weight
    errors: dict[str, float]  # HF name -> relative output error on the calibration data
    stats_seconds: float  # collecting the calibration statistics
    quantize_seconds: float  # the quantizer itself


def sequential(
    model, windows: torch.Tensor, quantize_layer: LayerQuantizer, progress: ProgressFn = null_progress
) -> SequentialResult:
    """Quantize the decoder layers in order.

    ``quantize_layer(layer, stats)`` quantizes the linears of one layer, writes their dequantized
    weights into the layer (so the next layer's statistics see them) and returns
    ``{module path: (QTensor, relative output error)}``.
    """
    layers = model.model.layers
    out = SequentialResult({}, {}, 0.0, 0.0)
    for i, layer in enumerate(layers):
        progress("quantize", i, len(layers))
        t0 = time.perf_counter()
        stats = layer_stats(model, i, windows)
        t1 = time.perf_counter()
        for path, (qt, err) in quantize_layer(layer, stats).items():
            out.done[f"model.layers.{i}.{path}.weight"] = qt
            out.errors[f"model.layers.{i}.{path}.weight"] = err
        out.stats_seconds += t1 - t0
        out.quantize_seconds += time.perf_counter() - t1
    progress("quantize", len(layers), len(layers))
    return out
