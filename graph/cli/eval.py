"""``auton-slm eval --model PATH [--model PATH ...] --data D [--json]``: evaluate and compare models."""

from __future__ import annotations

from pathlib import Path

import typer

from graph.cli._output import JsonFlag, MaxQA, MaxTokens, console, emit_json, quiet_transformers
from tools.errors import CheckFailed, InputError
from tools.eval import Comparison, EvalReport, EvalRequest, compare, evaluate
from tools.progress import rich_progress


def _print_human(reports: list[EvalReport], comparison: Comparison) -> None:
    for r in reports:
        task = "n/a" if r.task_accuracy is None else f"{r.task_accuracy:.3f} ({r.qa_correct}/{r.qa_total})"
        console.print(f"{r.model} ({r.backend}, {r.resolved})", markup=False, soft_wrap=True)
        console.print(
            f"  perplexity {r.perplexity:.3f} (threshold < {r.ppl_threshold:g}, {r.tier}: "
            f"{'passed' if r.passed else 'FAILED'})  bits/byte {r.bits_per_byte:.4f}  "
            f"next-token acc {r.next_token_accuracy:.4f}  task acc {task}",
            soft_wrap=True,
        )
        split = (
            "whole test split" if r.whole_split else f"{r.tokens_scored:,} of {r.split_tokens:,} test tokens"
        )
        console.print(
            f"  scored {split}; report: {r.report_dir or 'not written'}", markup=False, soft_wrap=True
        )
        for s in r.samples:
            console.print(f"  sample: {s.prompt!r} -> {s.output!r}", markup=False, soft_wrap=True)
    if len(reports) > 1:
        console.print(comparison.table(), markup=False, soft_wrap=True)
    console.print(
        f"best: {comparison.best or 'none passes its threshold'}  (rule: {comparison.rule})",
        markup=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        model: list[str] = typer.Option(
            ..., "--model", help="Run/step dir, quantized dir or .gguf file; repeat to compare."
        ),
        data: Path = typer.Option(..., "--data", help="Prepared dataset directory."),
        max_tokens: MaxTokens = None,
        max_qa: MaxQA = None,
        backend: str | None = typer.Option(
            None, "--backend", help="Force 'hf' or 'gguf' (default: from the path)."
        ),
        tier: str | None = typer.Option(None, "--tier", help="Tier whose perplexity threshold applies."),
        samples: bool = typer.Option(
            True, "--samples/--no-samples", help="Generate samples for fixed prompts."
        ),
        report: bool = typer.Option(
            True, "--report/--no-report", help="Write report.json/.md next to each model."
        ),
        json_out: JsonFlag = False,
    ) -> None:
        """Perplexity, bits per byte, next-token and task accuracy on the test split; pick the best model."""
        if backend not in (None, "hf", "gguf"):
            raise InputError(f"--backend must be 'hf' or 'gguf', not {backend!r}")
        quiet_transformers()
        reports = []
        with rich_progress(transient=True) as progress:
            for m in model:
                req = EvalRequest(
                    model=m,
                    data=str(data),
                    backend=backend,
                    max_tokens=max_tokens,
                    max_qa=max_qa,
                    tier=tier,
                    samples=samples,
                    write_report=report,
                )
                reports.append(evaluate(req, progress))
        comparison = compare(reports)
        if json_out:
            emit_json(
                {
                    "reports": [r.model_dump(mode="json") for r in reports],
                    "comparison": comparison.model_dump(mode="json"),
                }
            )
        else:
            _print_human(reports, comparison)
        if comparison.best is None:
            raise CheckFailed("no model is below its tier's perplexity threshold", "below threshold")
