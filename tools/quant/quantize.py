"""``quantize(QuantizeRequest) -> QuantizeResult``: a float checkpoint to weights in GGUF block formats.

Methods: ``rtn`` (round-to-nearest), ``gptq`` (tools.quant.gptq) and ``awq`` (tools.quant.awq); all
go layer by layer through tools.quant.calibrate.sequential on windows of the dataset's train split,
which also yields each linear's relative output error for the report. Tensors that the methods do
not touch follow the GGUF type plan (tools.gguf.plan: norms F32, token embedding Q8_0).

The result directory (layout in tools.quant.layout) holds the typed weights and their dequantized
HF checkpoint; no GGUF file (export writes every file format). It is evaluated with tools.eval on
the dataset's test split and held-out QA pairs, before (the float checkpoint, or the ``baseline``
figures an earlier evaluation measured on the same tokens) and after (PyTorch on the dequantized
weights); report.json records both, the relative change per metric and the < 2% rule
(tools.quant.layout.DegradationRule). A missed rule is recorded (``passed: false``), not raised:
the reviewer decides what to do about it.
"""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.artifacts import FileRef, atomic_write_json, staging_dir, write_manifest
from tools.checkpoint import MODEL_CONFIG, TOKENIZER, WEIGHTS, load_model, model_config_of, resolve_checkpoint
from tools.dataset import Dataset
from tools.errors import InputError
from tools.gguf.blocks import QTensor
from tools.gguf.plan import dequantized_state, model_state, require_blocks, typed_state, with_weights
from tools.gguf.store import save_typed
from tools.progress import ProgressFn, null_progress
from tools.quant.awq import awq_layer
from tools.quant.calibrate import calibration_windows, sequential
from tools.quant.gptq import gptq_layer
from tools.quant.layout import (
    KIND,
    REPORT,
    RULE_THRESHOLD,
    DegradationRule,
    Method,
    QuantReport,
    is_quantized_dir,
    weights_file,
)
from tools.quant.metrics import Metrics, measure
from tools.quant.rtn import rtn_layer

QuantizeType = Literal["Q8_0", "Q4_0", "Q4_1", "Q5_0"]


class QuantizeRequest(BaseModel):
    model: Path = Field(description="run dir or step dir of a float checkpoint")
    method: Method
    type: QuantizeType
    data: Path = Field(description="dataset: calibration (train split) and evaluation (test split)")
    out: Path
    calib_sequences: int = Field(64, gt=0)
    calib_seq_len: int | None = Field(None, gt=1, description="default: the model context")
    seed: int = 0
    damp: float = Field(0.01, gt=0, description="GPTQ Hessian dampening, relative to mean(diag H)")
    act_order: bool = True
    evaluate: bool = True
    eval_max_tokens: int | None = Field(None, gt=0)
    eval_max_qa: int | None = Field(None, ge=0)
    baseline: Metrics | None = Field(None, description="the float model's metrics, if already measured")
    overwrite: bool = False


class QuantizeResult(BaseModel):
    out: Path
    weights: Path = Field(description="weights-<TYPE>.safetensors: the GGUF-layout blocks")
    report: QuantReport


def _check_tokenizer(data: Dataset, step: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(step / TOKENIZER))
    if data.foreign_token([tok.id_to_token(i) for i in range(tok.get_vocab_size())]) is not None:
        raise InputError(f"{data.path}: made with another tokenizer than the model {step}")


def _change(before: Metrics, after: Metrics) -> dict[str, float]:
    out = {}
    for key in ("perplexity", "bits_per_byte", "token_accuracy", "task_accuracy"):
        b, a = getattr(before, key), getattr(after, key)
        if b is not None and a is not None and b != 0:
            out[key] = (a - b) / b
    return out


def _layer_quantizer(req: QuantizeRequest):
    if req.method == "rtn":
        return partial(rtn_layer, qtype=req.type)
    if req.method == "gptq":
        return partial(gptq_layer, qtype=req.type, damp=req.damp, act_order=req.act_order)
    return partial(awq_layer, qtype=req.type)


def quantize(req: QuantizeRequest, progress: ProgressFn | None = None) -> QuantizeResult:
    progress = progress or null_progress
    if is_quantized_dir(req.model):
        raise InputError(f"{req.model}: already quantized; quantize the float checkpoint")
    step = resolve_checkpoint(req.model)
    config = model_config_of(step)
    data = Dataset(req.data)
    _check_tokenizer(data, step)
    model = load_model(step)
    original = model_state(model)
    require_blocks(original, req.type)
    seq_len = min(
        req.calib_seq_len or model.config.max_position_embeddings, model.config.max_position_embeddings
    )
    windows = calibration_windows(data, req.calib_sequences, seq_len, req.seed)

    run = sequential(model, windows, _layer_quantizer(req), progress)
    state = model_state(model)  # AWQ changed the norms; linears now hold their dequantized weights
    t0 = time.perf_counter()
    typed = typed_state(state, req.type, run.done)  # the rest of the plan: RTN embedding, F32 norms
    seconds = time.perf_counter() - t0 + run.quantize_seconds
    if req.method != "rtn":  # GPTQ and AWQ need the calibration statistics; RTN uses them only for the report
        seconds += run.stats_seconds

    with staging_dir(req.out, overwrite=req.overwrite) as tmp:
        save_typed(tmp / weights_file(req.type), typed)
        with_weights(model, dequantized_state(typed)).save_pretrained(tmp)
        shutil.copyfile(step / TOKENIZER, tmp / TOKENIZER)
        config.save(tmp / MODEL_CONFIG)
        types: dict[str, int] = {}
        for t in typed.values():
            kind = t.qtype if isinstance(t, QTensor) else "F32"
            types[kind] = types.get(kind, 0) + 1
        report = QuantReport(
            method=req.method,
            qtype=req.type,
            source=str(step),
            dataset=str(data.path),
            calibration={"split": "train", "sequences": len(windows), "seq_len": seq_len, "seed": req.seed},
            tensor_types=types,
            weight_bytes=sum(t.nbytes if isinstance(t, QTensor) else t.numel() * 4 for t in typed.values()),
            float_weight_bytes=sum(t.numel() * 4 for t in original.values()),
            quantize_seconds=seconds,
            layer_error=run.errors,
        )
        if req.evaluate:
            progress("evaluate", 0, 2)
            caps = (req.eval_max_tokens, req.eval_max_qa)
            before = req.baseline or measure(step, req.data, "hf", *caps)
            progress("evaluate", 1, 2)
            after = measure(tmp, req.data, "hf", *caps)
            progress("evaluate", 2, 2)
            change = _change(before, after)
            rule = DegradationRule(value=change["perplexity"], passed=change["perplexity"] < RULE_THRESHOLD)
            report = report.model_copy(
                update={
                    "before": before,
                    "after": after,
                    "relative_change": change,
                    "rule": rule,
                    "passed": rule.passed,
                }
            )
        atomic_write_json(tmp / REPORT, report)
        write_manifest(
            tmp,
            KIND,
            inputs=[
                FileRef.of(step / WEIGHTS),
                FileRef.of(step / TOKENIZER),
                FileRef.of(data.path / "meta.json"),
            ],
            parameters=req.model_dump(mode="json", exclude={"baseline"}),
            metrics={
                "passed": report.passed,
                "perplexity_change": report.relative_change.get("perplexity"),
                "before_from": "parameters.baseline (the evaluate stage)"
                if req.baseline
                else "measured here",
            },
        )
    return QuantizeResult(out=req.out, weights=req.out / weights_file(req.type), report=report)
