"""Typed boundary of the evaluation tool: what to evaluate (EvalRequest) and what it measured
(EvalReport); tools.eval.evaluate produces it, tools.eval.report writes it out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.eval.backends import BackendName
from tools.eval.metrics import QAResult, Sample

PROTOCOL = (
    "non-overlapping windows of the model context: window i feeds tokens [i*c, i*c+c) and scores "
    "tokens [i*c+1, i*c+c+1); every token but the first is scored once, no context carried over"
)


class EvalRequest(BaseModel):
    model: str = Field(description="run dir, step dir, quantized dir or .gguf file")
    data: str = Field(description="prepared dataset directory (tools.dataset)")
    backend: BackendName | None = Field(None, description="force 'hf' or 'gguf' (default: from the path)")
    prefer: Literal["best", "latest"] = "best"
    max_tokens: int | None = Field(None, gt=0, description="score at most this many test tokens")
    max_qa: int | None = Field(None, ge=0, description="use at most this many held-out QA pairs")
    samples: bool = True
    batch_size: int = Field(8, gt=0)
    tier: str | None = Field(None, description="override the tier whose threshold applies")
    write_report: bool = True
    report_dir: str | None = Field(None, description="where report.json/.md go (default: next to the model)")


class EvalReport(BaseModel):
    model: str
    resolved: str = Field(description="the step directory or file actually evaluated")
    backend: BackendName
    params: int
    size_bytes: int
    context: int
    vocab_size: int
    dataset: str
    arch: str
    tier: str
    ppl_threshold: float
    passed: bool = Field(description="test perplexity below the tier threshold")
    perplexity: float
    bits_per_byte: float
    next_token_accuracy: float
    mean_nll: float
    tokens_scored: int
    split_tokens: int
    whole_split: bool
    bytes_counted: float
    bytes_basis: Literal["meta.json", "meta.json pro-rated"]
    protocol: str = PROTOCOL
    task_accuracy: float | None
    qa_total: int
    qa_correct: int
    qa: list[QAResult]
    samples: list[Sample]
    elapsed_s: float
    report_dir: str | None = None
