"""``export(ExportRequest) -> ExportResult``: a checkpoint or quantized directory to GGUF or ONNX.

The output directory ``SLM/models/exports/<name>/`` holds the model file(s) (``model-<TYPE>.gguf``;
or ``model.onnx`` and ``model.int8.onnx``), ``deploy.json`` (tools.export.deploy) and
``manifest.json`` (kind ``export``). It is built in a staging directory, so a failed export leaves
nothing behind. A float checkpoint is written at ``type`` (F32 by default; Q8_0/Q4_0 give plain
round-to-nearest blocks, what llama.cpp's converter does); a quantized directory keeps its type and
its GGUF is copied byte for byte, so llama.cpp and the kernel run the very weights that were
evaluated. A failed gating validation is a CheckFailed (exit 1) and leaves nothing behind either.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.arch.estimates import kv_cache_bytes, runtime_activation_bytes, tokenizer_bytes
from tools.artifacts import FileRef, atomic_write_json, sha256_file, staging_dir, write_manifest
from tools.checkpoint import load_model
from tools.dataset import BOS_ID, Dataset, qa_prompt
from tools.errors import CheckFailed, InputError
from tools.export.deploy import DEPLOY, DeployInfo, RamEstimate
from tools.export.gguf import gguf_name, write_gguf
from tools.export.source import ModelSource, resolve_source
from tools.export.validate import SAMPLE_TEXTS, GGUFValidation, validate_gguf
from tools.export.vocab import GGUFVocab, load_vocab
from tools.progress import ProgressFn, null_progress
from tools.quant.layout import gguf_file
from tools.quant.rtn import dequantized_state, model_state, planned_types, typed_state, with_weights

ExportType = Literal["F32", "F16", "Q8_0", "Q4_0"]
EVAL_WINDOW = 128  # tokens in the logit-parity window (capped by the model context)
PROMPT_TOKENS = 16


class ExportRequest(BaseModel):
    model: Path = Field(description="run dir, step dir or quantized dir")
    out: Path
    format: Literal["gguf"] = "gguf"
    type: ExportType | None = Field(None, description="float checkpoints: F32 (default), F16, Q8_0, Q4_0")
    data: Path | None = Field(None, description="dataset whose test split feeds the parity checks")
    validate_model: bool = Field(True, alias="validate")
    overwrite: bool = False

    model_config = {"populate_by_name": True}


class ExportResult(BaseModel):
    out: Path
    file: Path
    deploy: DeployInfo


class _Probe(BaseModel):
    """Texts for tokenization parity, a window for logit parity and a prompt for greedy parity."""

    texts: list[str]
    window: list[int]
    prompt: list[int]


def _probe(encode, data: Path | None, context: int) -> _Probe:
    texts = list(SAMPLE_TEXTS)
    stream: list[int] = [BOS_ID] + encode(" ".join(SAMPLE_TEXTS))
    if data is not None:
        ds = Dataset(data)
        test = [int(t) for t in ds.tokens("test")[: 4 * EVAL_WINDOW]]
        texts += [ds.decode(test[1:EVAL_WINDOW]).split("</s>")[0]]
        texts += [qa_prompt(p.question) for p in ds.qa("test")[:4]]
        stream = test
    n = min(EVAL_WINDOW, context, len(stream))
    return _Probe(texts=texts, window=stream[:n], prompt=stream[: min(PROMPT_TOKENS, context - 33)])


def _ram(src: ModelSource, file_bytes: int) -> RamEstimate:
    spec = src.config.model
    kv, act, tok = kv_cache_bytes(spec), runtime_activation_bytes(spec), tokenizer_bytes(spec)
    return RamEstimate(
        model_file=file_bytes, kv_cache=kv, activations=act, tokenizer=tok, total=file_bytes + kv + act + tok
    )


def _deploy_info(
    src: ModelSource, staged: Path, vocab: GGUFVocab, qtype: str, model, validation: GGUFValidation | None
) -> DeployInfo:
    ref = FileRef.of(staged, root=staged.parent)
    c = model.config
    return DeployInfo(
        format="gguf",
        file=ref.path,
        sha256=ref.sha256,
        bytes=ref.bytes,
        files=[ref],
        quant_type=qtype,
        tensor_types=validation.readback.tensor_types if validation else {},
        tier=src.config.model.tier,
        arch=src.config.model.arch.value,
        params=sum(p.numel() for p in model.parameters()),
        model={
            "vocab_size": c.vocab_size,
            "d_model": c.hidden_size,
            "n_layers": c.num_hidden_layers,
            "n_heads": c.num_attention_heads,
            "n_kv_heads": c.num_key_value_heads,
            "d_ff": c.intermediate_size,
            "context": c.max_position_embeddings,
            "tie_embeddings": bool(c.tie_word_embeddings),
        },
        tokenizer={"kind": vocab.kind, "vocab_size": len(vocab.tokens), "sha256": sha256_file(src.tokenizer)},
        ram_estimate=_ram(src, ref.bytes),
        source={
            "kind": src.kind,
            "path": str(src.path),
            "method": src.report.method if src.report else None,
        },
        eval=src.report.after if src.report else None,
        validation=validation.model_dump(mode="json") if validation else {"skipped": True},
        passed=validation.passed if validation else False,
    )


def export(req: ExportRequest, progress: ProgressFn | None = None) -> ExportResult:
    progress = progress or null_progress
    src = resolve_source(req.model)
    if src.qtype is not None and req.type is not None and req.type != src.qtype:
        raise InputError(
            f"{req.model}: a quantized model keeps its type ({src.qtype}); drop --type {req.type}"
        )
    qtype = src.qtype or req.type or "F32"
    model = load_model(src.path)
    vocab = load_vocab(src.tokenizer, model.config.vocab_size)
    state = model_state(model)
    expected = {gguf_name(n): t for n, t in planned_types(state, qtype).items()}
    progress("export", 0, 3)
    with staging_dir(req.out, overwrite=req.overwrite) as tmp:
        target = tmp / gguf_file(qtype)
        if src.gguf is not None:
            shutil.copyfile(src.gguf, target)
            reference = model
        else:
            typed = typed_state(state, qtype)
            metadata = {"auton.tier": src.config.model.tier, "auton.arch": src.config.model.arch.value}
            write_gguf(
                target,
                config=model.config,
                tensors=typed,
                vocab=vocab,
                file_type=qtype,
                name=req.out.name,
                metadata=metadata,
            )
            reference = with_weights(model, dequantized_state(typed))
        progress("export", 1, 3)
        validation = None
        if req.validate_model:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(src.tokenizer))

            def encode(text: str) -> list[int]:
                return tok.encode(text, add_special_tokens=False).ids

            probe = _probe(encode, req.data, int(model.config.max_position_embeddings))
            validation = validate_gguf(
                target,
                expected=expected,
                model=reference,
                qtype=qtype,
                encode=encode,
                texts=probe.texts,
                eval_tokens=probe.window,
                prompt=probe.prompt,
            )
        progress("export", 2, 3)
        info = _deploy_info(src, target, vocab, qtype, model, validation)
        if validation is not None and not validation.passed:
            raise CheckFailed(f"{target.name}: validation failed: {_first_failure(validation)}")
        atomic_write_json(tmp / DEPLOY, info)
        write_manifest(
            tmp,
            "export",
            inputs=[FileRef.of(src.path / "model.safetensors"), FileRef.of(src.tokenizer)],
            parameters={
                "format": req.format,
                "type": qtype,
                "source": str(req.model),
                "validate": req.validate_model,
            },
            metrics={"passed": info.passed, "bytes": info.bytes},
        )
    progress("export", 3, 3)
    return ExportResult(out=req.out, file=req.out / target.name, deploy=info)


def _first_failure(v: GGUFValidation) -> str:
    if not v.readback.passed:
        return f"read-back: {v.readback.message}"
    if not v.tokenization.passed:
        return f"llama.cpp tokenizes {v.tokenization.mismatches[0]!r} differently"
    if not v.logits.passed:
        return f"logits differ by {v.logits.rel_max_diff:.2e} (tolerance {v.logits.tolerance:.0e})"
    return f"greedy tokens differ from step {v.greedy.matching_prefix}"
