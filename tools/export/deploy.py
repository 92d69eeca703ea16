"""deploy.json: what the integrator and the reviewer read about an exported model.

Fields: ``format`` (gguf|onnx); ``file``, ``sha256``, ``bytes`` of the main model file and
``files`` (every model file with sha256 and size); ``quant_type`` (GGUF: F32/F16/Q8_0/Q4_0, the
dominant weight type; ONNX: fp32, with an int8 variant file); ``tensor_types`` (GGUF tensor count
per type); ``tier``, ``arch``, ``params``, ``model`` (dimensions); ``tokenizer`` (kind, e.g.
``gpt2/gpt-2``, vocab size, sha256 of tokenizer.json); ``ram_estimate`` (kernel runtime bytes: the
embedded GGUF file + F32 KV cache at full context + F32 activations + tokenizer tables, the
terms of tools.arch.estimates, + the tier's budget for the knowledge tables of tools.kb; GGUF only); ``source`` (checkpoint or quantized directory, method);
``eval`` (the model's metrics, from the artifact that measured them: a quantized source's report
``after``; for a float checkpoint with ``--data``, tools.eval runs the GGUF in llama.cpp on the
test split and QA pairs; else null) and ``eval_source`` (which of the two);
``validation`` (tools.export.validate results); ``passed`` (every gating validation passed).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.artifacts import FileRef
from tools.quant.metrics import Metrics

DEPLOY = "deploy.json"


class RamEstimate(BaseModel):
    model_file: int
    kv_cache: int
    activations: int
    tokenizer: int
    knowledge_tables: int = Field(0, description="the tier's budget for the kernel's knowledge tables (tools.kb)")
    total: int


class DeployInfo(BaseModel):
    format: Literal["gguf", "onnx"]
    file: str
    sha256: str
    bytes: int
    files: list[FileRef]
    quant_type: str
    tensor_types: dict[str, int] = {}
    tier: str
    arch: str
    params: int
    model: dict[str, int | float | bool]
    tokenizer: dict[str, str | int]
    ram_estimate: RamEstimate | None = None
    source: dict[str, str | None]
    eval: Metrics | None = None
    eval_source: str | None = None
    validation: dict
    passed: bool
