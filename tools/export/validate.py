"""Validation of exported models against PyTorch, recorded in deploy.json.

GGUF (``validate_gguf``):

- ``readback``: gguf's reader parses the file, every tensor lies inside it, the architecture is
  ``llama`` and the tensor names/types are those written;
- ``tokenization``: llama.cpp (llama-cpp-python, ``special=True``) tokenizes every test text to
  the same ids as our tokenizer.json;
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
several (batch, sequence) shapes with ``max|l_ort - l_torch| / max|l_torch|`` below
``ONNX_TOLERANCE`` (F32 graph: 1e-4; INT8 graph: 0.25, recorded but only the F32 graph gates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel

from tools.export.gguf import read_gguf

LOGIT_TOLERANCE = {"F32": 1e-4, "F16": 5e-3, "Q8_0": 5e-2, "Q4_0": 5e-2, "Q4_1": 5e-2, "Q5_0": 5e-2}
GREEDY_STEPS = 32
ONNX_TOLERANCE = {"fp32": 1e-4, "int8": 0.25}
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


def tokenization_parity(llm, encode: Callable[[str], list[int]], texts: Sequence[str]) -> TokenizationParity:
    bad = [t for t in texts if llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) != encode(t)]
    return TokenizationParity(passed=not bad, texts=len(texts), mismatches=[t[:60] for t in bad])


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
) -> GGUFValidation:
    """Run every GGUF check; ``model`` is the PyTorch model holding the file's (dequantized) weights."""
    rb = readback(path, expected)
    llm = open_llama(path, int(model.config.max_position_embeddings))
    try:
        tok = tokenization_parity(llm, encode, texts)
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
