"""Validation of exported models against PyTorch, recorded in deploy.json.

GGUF (``validate_gguf``):

- ``readback``: gguf's reader parses the file, every tensor lies inside it, the architecture is
  ``llama`` and the tensor names/types are those written;
- ``tokenization``: llama.cpp (llama-cpp-python, ``special=True``) tokenizes every test text to
  the same ids as our tokenizer.json. For SentencePiece Unigram vocabularies (llama.cpp's UGM,
  ``t5``), which have no byte fallback in llama.cpp, texts that need byte pieces are excluded and
  listed (characters outside the vocabulary become ``<unk>`` there);
- ``logits``: llama.cpp's logits over a test window vs PyTorch's on the same tokens. PyTorch runs
  the weights the file holds (dequantized blocks, F16 rounded to F32), so the check measures the
  conversion and runtime, not the quantization error. llama.cpp runs with an F32 KV cache. The
  measure is ``rel_max_diff = max|l_cpp - l_torch| / max|l_torch|``, passing below
  ``LOGIT_TOLERANCE[type]``: F32 1e-4 (same arithmetic up to summation order); F16 5e-3 (llama.cpp
  also rounds activations to F16 for F16 weights); Q8_0/Q4_0/Q4_1/Q5_0 5e-2 (llama.cpp quantizes
  activations to Q8_0 blocks before the dot products with block weights);
- ``greedy``: 32 greedy tokens from a prompt, llama.cpp vs PyTorch. It gates at F32 only; other
  types record the matching prefix length.

ONNX (``validate_onnx``): ``onnx.checker`` on the file, then onnxruntime vs PyTorch logits at
several (batch, sequence) shapes, including a single token and the full context, with
``max|l_ort - l_torch| / max|l_torch|`` below ``ONNX_TOLERANCE``: fp32 graph 1e-4; INT8 graph 0.15
(int8 weights and run-time int8 activations move logits by a few percent of their range).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field

from tools.gguf.file import read_gguf

LOGIT_TOLERANCE = {"F32": 1e-4, "F16": 5e-3, "Q8_0": 5e-2, "Q4_0": 5e-2, "Q4_1": 5e-2, "Q5_0": 5e-2}
GREEDY_STEPS = 32
ONNX_TOLERANCE = {"fp32": 1e-4, "int8": 0.15}
SAMPLE_TEXTS = (
    "The kernel probes the PCI bus and loads a driver for each device it finds.",
    "riscv64: OpenSBI hands over to the kernel in S-mode; a0 holds the hart id, a1 the FDT.",
    "  Leading spaces, tabs\tand newlines\nmatter;  numbers 12345 and 3.14, CAPS, émigré, 漢字.",
)


class ReadBack(BaseModel):
    passed: bool
    n_tensors: int
    tensor_types: dict[str, int]
    alignment: int
    message: str = ""


class TokenizationParity(BaseModel):
    passed: bool
    texts: int
    mismatches: list[str]
    excluded: list[str] = Field(
        default_factory=list, description="texts needing byte fallback, which llama.cpp's UGM (t5) lacks"
    )


class LogitParity(BaseModel):
    passed: bool
    tokens: int
    max_abs_diff: float
    rel_max_diff: float
    tolerance: float
    top1_agreement: float


class GreedyParity(BaseModel):
    passed: bool
    gated: bool
    steps: int
    matching_prefix: int
    llama_cpp: list[int]
    torch: list[int]


class GGUFValidation(BaseModel):
    passed: bool
    readback: ReadBack
    tokenization: TokenizationParity
    logits: LogitParity
    greedy: GreedyParity


def readback(path: Path, expected: Mapping[str, str]) -> ReadBack:
    """Read the file back; ``expected`` maps GGUF tensor names to the types that were written."""
    reader = read_gguf(path)
    arch_field = reader.get_field("general.architecture")
    arch = bytes(arch_field.parts[arch_field.data[0]]).decode() if arch_field else ""
    align_field = reader.get_field("general.alignment")
    alignment = int(align_field.parts[align_field.data[0]][0]) if align_field else 32
    found = {t.name: t.tensor_type.name for t in reader.tensors}
    types: dict[str, int] = {}
    for kind in found.values():
        types[kind] = types.get(kind, 0) + 1
    problems = []
    if arch != "llama":
        problems.append(f"architecture is {arch!r}")
    if found != dict(expected):
        diff = sorted(set(found.items()) ^ set(expected.items()))
        problems.append(f"tensors differ from those written: {diff[:3]}")
    if any(int(t.data_offset) % alignment for t in reader.tensors):
        problems.append("tensor data not aligned")
    return ReadBack(
        passed=not problems,
        n_tensors=len(found),
        tensor_types=types,
        alignment=alignment,
        message="; ".join(problems),
    )


def open_llama(path: Path, context: int):
    from llama_cpp import GGML_TYPE_F32, Llama

    return Llama(
        model_path=str(path),
        n_ctx=context,
        n_threads=1,
        logits_all=True,
        type_k=GGML_TYPE_F32,
        type_v=GGML_TYPE_F32,
        verbose=False,
    )


def tokenization_parity(
    llm, encode: Callable[[str], list[int]], texts: Sequence[str], byte_ids: frozenset[int] = frozenset()
) -> TokenizationParity:
    """Compare token ids; texts that our tokenizer encodes with any of ``byte_ids`` are excluded."""
    excluded = [t for t in texts if byte_ids.intersection(encode(t))]
    checked = [t for t in texts if t not in excluded]
    bad = [t for t in checked if llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) != encode(t)]
    return TokenizationParity(
        passed=not bad and bool(checked),
        texts=len(checked),
        mismatches=[t[:60] for t in bad],
        excluded=[t[:60] for t in excluded],
    )


def _llama_logits(llm, tokens: Sequence[int]) -> np.ndarray:
    llm.reset()
    llm.eval(list(tokens))
    return np.array(llm.scores[: len(tokens)], dtype=np.float32)


def logit_parity(llm, model, tokens: Sequence[int], qtype: str) -> LogitParity:
    ours = _llama_logits(llm, tokens)
    with torch.inference_mode():
        ref = model(input_ids=torch.tensor([list(tokens)])).logits[0].float().numpy()
    diff = float(np.abs(ours - ref).max())
    rel = diff / max(float(np.abs(ref).max()), 1e-12)
    tol = LOGIT_TOLERANCE[qtype]
    return LogitParity(
        passed=rel <= tol,
        tokens=len(tokens),
        max_abs_diff=diff,
        rel_max_diff=rel,
        tolerance=tol,
        top1_agreement=float((ours.argmax(-1) == ref.argmax(-1)).mean()),
    )


def greedy_parity(llm, model, prompt: Sequence[int], gated: bool, steps: int = GREEDY_STEPS) -> GreedyParity:
    llm.reset()
    llm.eval(list(prompt))
    cpp: list[int] = []
    for _ in range(steps):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        cpp.append(nxt)
        llm.eval([nxt])
    ids = list(prompt)
    with torch.inference_mode():
        for _ in range(steps):
            ids.append(int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    ref = ids[len(prompt) :]
    prefix = next((i for i, (a, b) in enumerate(zip(cpp, ref, strict=True)) if a != b), steps)
    return GreedyParity(
        passed=prefix == steps or not gated,
        gated=gated,
        steps=steps,
        matching_prefix=prefix,
        llama_cpp=cpp,
        torch=ref,
    )


def validate_gguf(
    path: Path,
    *,
    expected: Mapping[str, str],
    model,
    qtype: str,
    encode: Callable[[str], list[int]],
    texts: Sequence[str],
    eval_tokens: Sequence[int],
    prompt: Sequence[int],
    byte_ids: frozenset[int] = frozenset(),
) -> GGUFValidation:
    """Run every GGUF check; ``model`` is the PyTorch model holding the file's (dequantized) weights.
    ``byte_ids``: byte-fallback token ids the GGUF tokenizer cannot produce (UGM), see tokenization_parity."""
    rb = readback(path, expected)
    llm = open_llama(path, int(model.config.max_position_embeddings))
    try:
        tok = tokenization_parity(llm, encode, texts, byte_ids)
        logits = logit_parity(llm, model, eval_tokens, qtype)
        greedy = greedy_parity(llm, model, prompt, gated=qtype == "F32")
    finally:
        llm.close()
    return GGUFValidation(
        passed=rb.passed and tok.passed and logits.passed and greedy.passed,
        readback=rb,
        tokenization=tok,
        logits=logits,
        greedy=greedy,
    )


ONNX_SHAPES = ((1, 1), (1, 7), (3, 33))


class ShapeParity(BaseModel):
    batch: int
    sequence: int
    rel_max_diff: float
    top1_agreement: float
    passed: bool


class ONNXModelCheck(BaseModel):
    file: str
    checker: bool
    tolerance: float
    shapes: list[ShapeParity]
    passed: bool
    message: str = ""


class ONNXValidation(BaseModel):
    passed: bool
    fp32: ONNXModelCheck
    int8: ONNXModelCheck


def onnx_parity(path: Path, model, tolerance: float, shapes: Sequence[tuple[int, int]]) -> ONNXModelCheck:
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path))
    except onnx.checker.ValidationError as e:
        first = str(e).splitlines()[0] if str(e) else "invalid model"
        return ONNXModelCheck(
            file=path.name, checker=False, tolerance=tolerance, shapes=[], passed=False, message=first
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(0)
    results = []
    for batch, seq in shapes:
        ids = torch.randint(0, int(model.config.vocab_size), (batch, seq), generator=g)
        with torch.inference_mode():
            ref = model(input_ids=ids).logits.float().numpy()
        out = session.run(["logits"], {"input_ids": ids.numpy()})[0]
        rel = (
            float(np.abs(out - ref).max() / max(float(np.abs(ref).max()), 1e-12))
            if out.shape == ref.shape
            else 1.0
        )
        results.append(
            ShapeParity(
                batch=batch,
                sequence=seq,
                rel_max_diff=rel,
                top1_agreement=float((out.argmax(-1) == ref.argmax(-1)).mean())
                if out.shape == ref.shape
                else 0.0,
                passed=out.shape == ref.shape and rel <= tolerance,
            )
        )
    return ONNXModelCheck(
        file=path.name,
        checker=True,
        tolerance=tolerance,
        shapes=results,
        passed=all(r.passed for r in results),
    )


def validate_onnx(fp32: Path, int8: Path, model) -> ONNXValidation:
    """onnx.checker + onnxruntime vs PyTorch at ONNX_SHAPES and the full context, for both graphs."""
    shapes = [*ONNX_SHAPES, (2, int(model.config.max_position_embeddings))]
    a = onnx_parity(fp32, model, ONNX_TOLERANCE["fp32"], shapes)
    b = onnx_parity(int8, model, ONNX_TOLERANCE["int8"], shapes)
    return ONNXValidation(passed=a.passed and b.passed, fp32=a, int8=b)
