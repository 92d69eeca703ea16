"""ONNX export with ``torch.onnx.export`` (the torch.export-based exporter) and an INT8 variant.

The graph takes ``input_ids`` int64 [batch, sequence] and returns ``logits`` float32 [batch,
sequence, vocab]; both axes are dynamic (``torch.export.Dim``), from 1 to 64 sequences and from 1
to the model context, so no shape is specialised at export time (validation runs several shapes).
No KV cache: every call is a full forward pass (what evaluation and scoring need).
The INT8 variant is onnxruntime's dynamic quantization (``quantize_dynamic``, int8 weights of the
MatMuls, activations quantized at run time).
Weights go into the .onnx file itself below ``EXTERNAL_DATA_BYTES``, else into a ``.data`` file beside it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import torch

MAX_BATCH = 64
EXTERNAL_DATA_BYTES = 1 << 30
ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


class LogitsOnly(torch.nn.Module):
    """The causal LM as a plain ``input_ids -> logits`` function (no cache, no dict output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, use_cache=False).logits


def export_onnx(model, path: Path) -> Path:
    context = int(model.config.max_position_embeddings)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    sequence = torch.export.Dim("sequence", min=1, max=context)
    example = torch.randint(0, int(model.config.vocab_size), (2, min(16, context)))
    big = sum(p.numel() * 4 for p in model.parameters()) > EXTERNAL_DATA_BYTES
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes
    with (
        contextlib.redirect_stdout(io.StringIO()),  # the exporter narrates its passes on stdout
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", FutureWarning)
        torch.onnx.export(
            LogitsOnly(model).eval(),
            (example,),
            str(path),
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch, 1: sequence}},
            dynamo=True,
            external_data=big,
        )
    return path


def quantize_int8(src: Path, dst: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime suggests pre-processing on the root logger
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    return dst
