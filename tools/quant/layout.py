"""The quantized-model directory ``SLM/models/quantized/<run>-<method>-<type>/``.

- ``weights-<TYPE>.safetensors``: every tensor in the type of the GGUF type plan, block tensors
  in GGUF block layout (tools.gguf.store); ``auton-slm export`` writes the GGUF from it;
- ``model.safetensors`` + ``config.json`` + ``tokenizer.json``: the same weights dequantized to
  float32 as an HF checkpoint, so ``tools.checkpoint.load_model`` and the PyTorch evaluator run
  exactly what the blocks hold (AWQ's scales are already folded into the norm weights);
- ``config.yaml``: the source run's ModelConfig (tier, arch), when the run had one;
- ``report.json``: ``QuantReport`` below; ``manifest.json`` (kind ``quantized``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.artifacts import read_json
from tools.errors import InputError
from tools.quant.metrics import Metrics

KIND = "quantized"
REPORT = "report.json"
Method = Literal["rtn", "gptq", "awq"]
RULE_THRESHOLD = 0.02


def weights_file(qtype: str) -> str:
    return f"weights-{qtype}.safetensors"


class DegradationRule(BaseModel):
    """Success criterion 3, "quantization preserves accuracy (< 2% degradation)", made precise.

    metric: test-split perplexity (dense and low-variance; exact-match task accuracy on a few hundred
    QA pairs moves by several points from noise alone, so it is reported but does not gate).
    value = (perplexity_quantized - perplexity_float) / perplexity_float; passed = value < threshold.
    """

    metric: Literal["perplexity"] = "perplexity"
    formula: str = "(ppl_quantized - ppl_float) / ppl_float"
    threshold: float = RULE_THRESHOLD
    value: float
    passed: bool


class QuantReport(BaseModel):
    """report.json of a quantized directory (read by the reviewer and by export)."""

    method: Method
    qtype: str
    source: str = Field(description="the checkpoint step directory that was quantized")
    dataset: str | None = Field(None, description="calibration and evaluation dataset")
    calibration: dict = Field(default_factory=dict, description="split, sequences, seq_len, tokens")
    tensor_types: dict[str, int] = Field(description="tensor count per GGUF type")
    weight_bytes: int = Field(description="tensor data in GGUF layout (what the GGUF file will hold)")
    float_weight_bytes: int = Field(description="the same tensors at F32")
    quantize_seconds: float = Field(
        description="calibration statistics + quantization (RTN: quantization only, it needs no calibration; "
        "its statistics pass feeds only layer_error), without evaluation"
    )
    layer_error: dict[str, float] = Field(
        default_factory=dict,
        description="relative output error ||X(W-Wq)^T|| / ||XW^T|| per linear on calibration data",
    )
    before: Metrics | None = None
    after: Metrics | None = None
    relative_change: dict[str, float] = Field(
        default_factory=dict, description="(after - before) / before per metric"
    )
    rule: DegradationRule | None = None
    passed: bool | None = Field(None, description="rule.passed; None when evaluation was skipped")


def read_report(directory: str | Path) -> QuantReport:
    path = Path(directory) / REPORT
    try:
        return QuantReport.model_validate(read_json(path))
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"{path}: not a quantization report") from None


def is_quantized_dir(path: str | Path) -> bool:
    return (Path(path) / REPORT).is_file()
