"""``export(ExportRequest) -> ExportResult``: a checkpoint or quantized directory to GGUF or ONNX.

The output directory ``SLM/models/exports/<name>/`` holds the model file(s) (``model-<TYPE>.gguf``;
or ``model.onnx`` and ``model.int8.onnx``), ``deploy.json`` (tools.export.deploy) and
``manifest.json`` (kind ``export``). It is built in a staging directory, so a failed export leaves
nothing behind. GGUF: a float checkpoint is written at ``type`` (F32 by default; Q8_0/Q4_0 give
plain round-to-nearest blocks, what llama.cpp's converter does); a quantized directory keeps its
type and its blocks are written as they are (tools.gguf.store), so llama.cpp and the kernel run
the very weights that were evaluated. ONNX: the float weights (for a quantized directory: its
dequantized weights) in an fp32 graph plus onnxruntime's INT8 variant. A failed gating
validation is a CheckFailed (exit 1).

Evaluation is not repeated: deploy.json's ``eval`` is the quantized source's report (measured by
PyTorch on the dequantized weights, which the logit-parity check ties to llama.cpp), and the
exported GGUF is evaluated in llama.cpp only when no earlier artifact holds the figure (a float
checkpoint with ``data``) or when ``evaluate`` asks for it; ``eval_source`` says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gguf import TokenType
from pydantic import BaseModel, ConfigDict, Field

from tools.arch.estimates import kv_cache_bytes, runtime_activation_bytes, tokenizer_bytes
from tools.artifacts import FileRef, atomic_write_json, sha256_file, staging_dir, write_manifest
from tools.checkpoint import WEIGHTS, load_model
from tools.dataset import BOS_ID, Dataset, qa_prompt
from tools.errors import CheckFailed, InputError
from tools.export.deploy import DEPLOY, DeployInfo, RamEstimate
from tools.export.onnx import INT8_FILE, ONNX_FILE, export_onnx, quantize_int8
from tools.export.source import ModelSource, resolve_source
from tools.export.validate import SAMPLE_TEXTS, GGUFValidation, ONNXValidation, validate_gguf, validate_onnx
from tools.gguf.file import gguf_file, gguf_name, write_gguf
from tools.gguf.plan import (
    dequantized_state,
    model_state,
    planned_types,
    require_blocks,
    typed_state,
    with_weights,
)
from tools.gguf.store import load_typed
from tools.gguf.vocab import GGUFVocab, load_vocab
from tools.kb.build import kb_tier, tier_kb
from tools.progress import ProgressFn, null_progress
from tools.quant.metrics import measure
from tools.tune.chat import CHAT_TEMPLATE, END

ExportType = Literal["F32", "F16", "Q8_0", "Q4_0"]
EVAL_WINDOW = 128  # tokens in the logit-parity window (capped by the model context)
PROMPT_TOKENS = 16


class ExportRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    model: Path = Field(description="run dir, step dir or quantized dir")
    out: Path
    format: Literal["gguf", "onnx"] = "gguf"
    type: ExportType | None = Field(
        None, description="GGUF of a float checkpoint: F32 (default), F16, Q8_0, Q4_0"
    )
    data: Path | None = Field(None, description="dataset: test texts for the parity checks, and evaluation")
    validate_model: bool = Field(True, alias="validate")
    evaluate: bool | None = Field(
        None,
        description="evaluate the exported GGUF in llama.cpp on data (deploy.eval); None: only when no "
        "earlier artifact holds the figure (a float checkpoint)",
    )
    eval_max_tokens: int | None = Field(None, gt=0)
    eval_max_qa: int | None = Field(None, ge=0)
    overwrite: bool = False


class ExportResult(BaseModel):
    out: Path
    file: Path
    deploy: DeployInfo


class _Probe(BaseModel):
    """Texts for tokenization parity, a window for logit parity and a prompt for greedy parity."""

    texts: list[str]
    window: list[int]
    prompt: list[int]


def _probe(encode, decode, vocab: GGUFVocab, data: Path | None, context: int) -> _Probe:
    # the sample texts, plus the last 64 normal pieces of the vocabulary (long merges) run together
    normal = [i for i, t in enumerate(vocab.types) if t == TokenType.NORMAL]
    texts = [*SAMPLE_TEXTS, decode(normal[-64:])]
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
    kb = tier_kb(kb_tier(spec.tier)).budget_bytes  # the tables the kernel links in next to the model
    return RamEstimate(
        model_file=file_bytes,
        kv_cache=kv,
        activations=act,
        tokenizer=tok,
        knowledge_tables=kb,
        total=file_bytes + kv + act + tok + kb,
    )


def with_chat_format(vocab: GGUFVocab) -> GGUFVocab:
    """A task-tuned model's vocabulary (it has the chat tokens) carries the chat template and
    stops at the end of its turn, so llama.cpp's chat completion prompts it as the kernel does."""
    if END not in vocab.tokens:
        return vocab
    return vocab.model_copy(update={"chat_template": CHAT_TEMPLATE, "eot_id": vocab.tokens.index(END)})


def _gguf(req: ExportRequest, src: ModelSource, model, tmp: Path, progress: ProgressFn) -> dict:
    qtype = src.qtype or req.type or "F32"
    vocab = with_chat_format(load_vocab(src.tokenizer, model.config.vocab_size))
    state = model_state(model)
    if src.weights is not None:
        typed = load_typed(src.weights)
        reference = model  # the quantized directory's HF weights are these blocks dequantized
    else:
        require_blocks(state, qtype)
        typed = typed_state(state, qtype)
        reference = with_weights(model, dequantized_state(typed))
    target = write_gguf(
        tmp / gguf_file(qtype),
        config=model.config,
        tensors=typed,
        vocab=vocab,
        file_type=qtype,
        name=req.out.name,
        metadata={
            "auton.tier": src.config.model.tier,
            "auton.arch": src.config.model.arch.value,
            **({"auton.quant_method": src.report.method} if src.report else {}),
        },
    )
    progress("export", 1, 2)
    validation = None
    if req.validate_model:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(src.tokenizer))

        def encode(text: str) -> list[int]:
            return tok.encode(text, add_special_tokens=False).ids

        probe = _probe(encode, tok.decode, vocab, req.data, int(model.config.max_position_embeddings))
        validation = validate_gguf(
            target,
            expected={gguf_name(n): t for n, t in planned_types(state, qtype).items()},
            model=reference,
            qtype=qtype,
            encode=encode,
            texts=probe.texts,
            eval_tokens=probe.window,
            prompt=probe.prompt,
            byte_ids=vocab.unreachable_byte_ids,
        )
        if not validation.passed:
            raise CheckFailed(f"{target.name}: {_gguf_failure(validation)}", "validation failed")
    types = validation.readback.tensor_types if validation else {}
    metrics, source = (src.report.after, "quantize report (PyTorch, dequantized weights)") if src.report else (None, None)
    if req.data is not None and (req.evaluate or (req.evaluate is None and metrics is None)):
        progress("evaluate", 0, 1)
        metrics = measure(target, req.data, "gguf", req.eval_max_tokens, req.eval_max_qa)
        source = "measured here (llama.cpp, this file)"
        progress("evaluate", 1, 1)
    return {
        "eval": metrics,
        "eval_source": source if metrics is not None else None,
        "files": [target],
        "quant_type": qtype,
        "tensor_types": types,
        "tokenizer": {"kind": vocab.kind, "vocab_size": len(vocab.tokens)},
        "ram_estimate": _ram(src, target.stat().st_size),
        "validation": validation,
    }


def _onnx(req: ExportRequest, src: ModelSource, model, tmp: Path, progress: ProgressFn) -> dict:
    if req.type not in (None, "F32"):
        raise InputError(f"--type {req.type} applies to GGUF; ONNX writes an fp32 graph and an INT8 variant")
    fp32 = export_onnx(model, tmp / ONNX_FILE)
    int8 = quantize_int8(fp32, tmp / INT8_FILE)
    progress("export", 1, 2)
    validation = validate_onnx(fp32, int8, model) if req.validate_model else None
    if validation is not None and not validation.passed:
        bad = validation.fp32 if not validation.fp32.passed else validation.int8
        raise CheckFailed(f"{bad.file}: {bad.message or 'onnxruntime differs from PyTorch'}", "validation failed")
    return {
        "eval": src.report.after if src.report else None,
        "eval_source": "quantize report (PyTorch, dequantized weights)" if src.report else None,
        "files": [fp32, int8] + sorted(p for p in tmp.iterdir() if p.is_file() and p not in (fp32, int8)),
        "quant_type": "fp32",
        "tensor_types": {},
        "tokenizer": {"kind": "tokenizer.json", "vocab_size": int(model.config.vocab_size)},
        "ram_estimate": None,
        "validation": validation,
    }


def export(req: ExportRequest, progress: ProgressFn | None = None) -> ExportResult:
    progress = progress or null_progress
    src = resolve_source(req.model)
    if req.format == "gguf" and src.qtype is not None and req.type not in (None, src.qtype):
        raise InputError(
            f"{req.model}: a quantized model keeps its type ({src.qtype}); drop --type {req.type}"
        )
    model = load_model(src.path)
    progress("export", 0, 2)
    with staging_dir(req.out, overwrite=req.overwrite) as tmp:
        made = (_gguf if req.format == "gguf" else _onnx)(req, src, model, tmp, progress)
        main = made["files"][0]
        refs = [FileRef.of(f, root=tmp) for f in made["files"]]
        c = model.config
        validation: GGUFValidation | ONNXValidation | None = made["validation"]
        info = DeployInfo(
            format=req.format,
            file=refs[0].path,
            sha256=refs[0].sha256,
            bytes=refs[0].bytes,
            files=refs,
            quant_type=made["quant_type"],
            tensor_types=made["tensor_types"],
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
            tokenizer={**made["tokenizer"], "sha256": sha256_file(src.tokenizer)},
            ram_estimate=made["ram_estimate"],
            source={
                "kind": src.kind,
                "path": str(src.path),
                "method": src.report.method if src.report else None,
            },
            eval=made["eval"],
            eval_source=made["eval_source"],
            validation=validation.model_dump(mode="json") if validation else {"skipped": True},
            passed=validation.passed if validation else False,
        )
        atomic_write_json(tmp / DEPLOY, info)
        write_manifest(
            tmp,
            "export",
            inputs=[FileRef.of(src.path / WEIGHTS), FileRef.of(src.tokenizer)],
            parameters={"format": req.format, "type": info.quant_type, "source": str(req.model)},
            metrics={"passed": info.passed, "bytes": info.bytes, "eval_source": info.eval_source},
        )
    progress("export", 2, 2)
    return ExportResult(out=req.out, file=req.out / main.name, deploy=info)


def _gguf_failure(v: GGUFValidation) -> str:
    if not v.readback.passed:
        return f"read-back: {v.readback.message}"
    if not v.tokenization.passed:
        if not v.tokenization.mismatches:
            return "no test text could be compared (all need byte fallback)"
        return f"llama.cpp tokenizes {v.tokenization.mismatches[0]!r} differently"
    if not v.logits.passed:
        return f"logits differ by {v.logits.rel_max_diff:.2e} (tolerance {v.logits.tolerance:.0e})"
    return f"greedy tokens differ from step {v.greedy.matching_prefix}"
