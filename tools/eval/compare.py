"""Compare evaluated models and pick the best by a stated rule."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from tools.eval.request import EvalReport

PPL_DECIMALS = 2
RULE = (
    "lowest test perplexity (rounded to 2 decimals) among the models below their tier's perplexity "
    "threshold; ties go to the higher task accuracy, then to the smaller size in bytes"
)


class ComparisonRow(BaseModel):
    rank: int
    model: str
    backend: str
    tier: str
    params: int
    size_bytes: int
    perplexity: float
    bits_per_byte: float
    next_token_accuracy: float
    task_accuracy: float | None
    passed: bool


class Comparison(BaseModel):
    rule: str = RULE
    rows: list[ComparisonRow]
    best: str | None

    def table(self) -> str:
        """The rows as a Markdown table, best first."""
        head = "| rank | model | backend | tier | params | size (bytes) | ppl | bits/byte | next-token acc | task acc | passed |"
        lines = [head, "|" + "---|" * 11]
        for r in self.rows:
            task = "n/a" if r.task_accuracy is None else f"{r.task_accuracy:.3f}"
            lines.append(
                f"| {r.rank} | {r.model} | {r.backend} | {r.tier} | {r.params:,} | {r.size_bytes:,} | "
                f"{r.perplexity:.3f} | {r.bits_per_byte:.4f} | {r.next_token_accuracy:.4f} | {task} | "
                f"{'yes' if r.passed else 'no'} |"
            )
        return "\n".join(lines)


def rank_key(r: EvalReport) -> tuple[bool, float, float, int]:
    return (not r.passed, round(r.perplexity, PPL_DECIMALS), -(r.task_accuracy or 0.0), r.size_bytes)


def compare(reports: Sequence[EvalReport]) -> Comparison:
    ranked = sorted(reports, key=rank_key)
    rows = [
        ComparisonRow(
            rank=i,
            model=r.model,
            backend=r.backend,
            tier=r.tier,
            params=r.params,
            size_bytes=r.size_bytes,
            perplexity=r.perplexity,
            bits_per_byte=r.bits_per_byte,
            next_token_accuracy=r.next_token_accuracy,
            task_accuracy=r.task_accuracy,
            passed=r.passed,
        )
        for i, r in enumerate(ranked, 1)
    ]
    best = ranked[0].model if ranked and ranked[0].passed else None
    return Comparison(rows=rows, best=best)
