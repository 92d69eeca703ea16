"""Metrics computed on any Backend, from the same tokens and the same QA pairs.

Perplexity protocol: the (optionally capped) test token stream is cut into non-overlapping windows
of ``context`` input tokens; window ``i`` feeds tokens ``[i*c, i*c + c)`` and scores the next token
at each position, ``[i*c + 1, i*c + c + 1)``. Every token but the first of the stream is scored
exactly once, and the model's state is reset at each window boundary (no carried-over context).

Task accuracy: each held-out pair is prompted as ``[BOS] + encode(qa_prompt(question))`` and
decoded greedily until EOS; it is correct when the generated text, stripped of surrounding
whitespace, equals the stripped answer exactly, or when the generated tokens are exactly the
answer's tokens (for tokenizers whose decoding does not restore spacing, e.g. WordPiece).
Generation stops at EOS or after the answer's token count + 8 tokens (a continuation that long can
no longer be an exact match, so the cap changes no outcome; it only bounds the time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from tools.dataset import BOS_ID, EOS_ID, Dataset, QAPair, qa_prompt
from tools.eval.backends import Backend
from tools.progress import ProgressFn, null_progress

ANSWER_SLACK = 8
LN2 = math.log(2.0)


class TokenScores(BaseModel):
    """Totals over the scored tokens: enough to derive perplexity, bits per byte and accuracy."""

    tokens: int = Field(description="number of scored (predicted) tokens")
    nll_nats: float = Field(description="sum of -ln p(target) over the scored tokens")
    correct: int = Field(description="targets that were the model's argmax")

    @property
    def mean_nll(self) -> float:
        return self.nll_nats / self.tokens

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)

    @property
    def accuracy(self) -> float:
        return self.correct / self.tokens


def windows(stream: np.ndarray, context: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inputs, targets) pairs of the perplexity protocol; the last window may be shorter."""
    out = []
    for start in range(0, len(stream) - 1, context):
        chunk = np.asarray(stream[start : start + context + 1], dtype=np.int64)
        out.append((chunk[:-1], chunk[1:]))
    return out


def token_nll(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-position -ln p(target) (float64) and whether the target was the argmax."""
    z = logits.astype(np.float64)
    zmax = z.max(axis=-1, keepdims=True)
    logsumexp = np.log(np.exp(z - zmax).sum(axis=-1)) + zmax[..., 0]
    picked = np.take_along_axis(z, targets[..., None], axis=-1)[..., 0]
    return logsumexp - picked, z.argmax(axis=-1) == targets


def score_stream(
    backend: Backend,
    stream: np.ndarray,
    batch_size: int = 8,
    progress: ProgressFn = null_progress,
    vocab: int | None = None,
) -> TokenScores:
    """Score a token stream with the windowed perplexity protocol, over the first ``vocab`` token
    ids (a tuned model's chat tokens never occur in text: they are left out of the softmax)."""
    ws = windows(stream, backend.context)
    nll, correct, tokens = 0.0, 0, 0
    i = 0
    while i < len(ws):
        length = len(ws[i][0])
        j = i
        while j < len(ws) and j - i < batch_size and len(ws[j][0]) == length:
            j += 1
        inputs = np.stack([w[0] for w in ws[i:j]])
        targets = np.stack([w[1] for w in ws[i:j]])
        for row_logits, row_targets in zip(
            backend.logits(inputs)[..., :vocab], targets, strict=True
        ):  # row by row: bounded memory
            losses, hits = token_nll(row_logits, row_targets)
            nll += float(losses.sum())
            correct += int(hits.sum())
            tokens += row_targets.size
        i = j
        progress("perplexity", i, len(ws), ppl=math.exp(nll / tokens))
    return TokenScores(tokens=tokens, nll_nats=nll, correct=correct)


class QAResult(BaseModel):
    question: str
    answer: str
    output: str
    correct: bool


def answer_ids(backend: Backend, data: Dataset, question: str, max_new: int) -> list[int]:
    """Greedy answer tokens to a QA prompt, without the final EOS."""
    ids = backend.greedy([BOS_ID, *data.encode(qa_prompt(question))], max_new, EOS_ID)
    return ids[:-1] if ids and ids[-1] == EOS_ID else ids


def task_accuracy(
    backend: Backend, data: Dataset, pairs: Sequence[QAPair], progress: ProgressFn = null_progress
) -> list[QAResult]:
    results = []
    for n, pair in enumerate(pairs, 1):
        expected = data.encode(pair.answer.strip())
        ids = answer_ids(backend, data, pair.question, len(expected) + ANSWER_SLACK)
        output = data.decode(ids)
        ok = output.strip() == pair.answer.strip() or ids == expected
        results.append(QAResult(question=pair.question, answer=pair.answer, output=output, correct=ok))
        progress("qa", n, len(pairs), acc=sum(r.correct for r in results) / n)
    return results


class Sample(BaseModel):
    prompt: str
    output: str


SAMPLE_MAX_NEW = 48
SAMPLE_PROMPTS: dict[str, list[str]] = {
    "riscv64": [
        "What does OpenSBI provide to the kernel?",
        "Which CSR holds the trap cause on RISC-V?",
        "How do I list PCI devices?",
    ],
    "aarch64": [
        "What is a device tree blob?",
        "Which exception level does the kernel run at?",
        "How do I list PCI devices?",
    ],
    "x86_64": [
        "What is the ACPI MADT table?",
        "Which driver handles an Intel e1000 network card?",
        "How do I list PCI devices?",
    ],
}


def generation_samples(backend: Backend, data: Dataset, arch: str) -> list[Sample]:
    prompts = SAMPLE_PROMPTS.get(arch, SAMPLE_PROMPTS["riscv64"])
    return [
        Sample(prompt=p, output=data.decode(answer_ids(backend, data, p, SAMPLE_MAX_NEW))) for p in prompts
    ]
