"""Evaluation metrics of a model as the quantization report and deploy.json record them.

``measure`` runs tools.eval.evaluate (the evaluation stage's code: same test tokens, same held-out
QA pairs for every model) and keeps the figures that compare float, quantized and exported models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class Metrics(BaseModel):
    """Evaluation metrics (tools.eval) of one model on the dataset's test split and QA pairs."""

    perplexity: float
    bits_per_byte: float | None = None
    token_accuracy: float | None = None
    task_accuracy: float | None = None
    tokens: int = Field(description="test tokens scored")
    qa_pairs: int = 0
    backend: Literal["hf", "gguf"] = "hf"


def measure(
    model: Path,
    data: Path,
    backend: Literal["hf", "gguf"],
    max_tokens: int | None = None,
    max_qa: int | None = None,
) -> Metrics:
    from tools.eval import EvalRequest, evaluate

    r = evaluate(
        EvalRequest(
            model=str(model),
            data=str(data),
            backend=backend,
            max_tokens=max_tokens,
            max_qa=max_qa,
            samples=False,
            write_report=False,
        )
    )
    return Metrics(
        perplexity=r.perplexity,
        bits_per_byte=r.bits_per_byte,
        token_accuracy=r.next_token_accuracy,
        task_accuracy=r.task_accuracy,
        tokens=r.tokens_scored,
        qa_pairs=r.qa_total,
        backend=backend,
    )
