"""``auton-slm quantize --model CKPT --method {rtn,gptq,awq} --type {Q8_0,Q4_0} --data D --out DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from graph.cli._output import JsonFlag, MaxQA, MaxTokens, Overwrite, console, emit_json, quiet_transformers
from tools.errors import InputError
from tools.progress import rich_progress

METHODS = ("rtn", "gptq", "awq")
TYPES = ("Q8_0", "Q4_0", "Q4_1", "Q5_0")


def register(app: typer.Typer) -> None:
    @app.command("quantize")
    def quantize_cmd(
        model: Path = typer.Option(..., "--model", help="Run dir or step dir of a float checkpoint."),
        method: str = typer.Option(..., "--method", help="rtn, gptq or awq."),
        qtype: str = typer.Option(..., "--type", help="GGUF block type: Q8_0 or Q4_0 (also Q4_1, Q5_0)."),
        data: Path = typer.Option(
            ..., "--data", help="Dataset: train split calibrates, test split evaluates."
        ),
        out: Path = typer.Option(..., "--out", help="Output directory, e.g. SLM/models/quantized/<name>."),
        calib_sequences: int = typer.Option(64, "--calib-sequences", min=1, help="Calibration windows."),
        evaluate: bool = typer.Option(True, "--eval/--no-eval", help="Evaluate before/after (report.json)."),
        max_tokens: MaxTokens = None,
        max_qa: MaxQA = None,
        overwrite: Overwrite = False,
        json_out: JsonFlag = False,
    ) -> None:
        """Quantize into GGUF blocks (RTN, GPTQ or AWQ), evaluate, and check the < 2% perplexity rule."""
        if method not in METHODS:
            raise InputError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
        if qtype not in TYPES:
            raise InputError(f"--type must be one of {', '.join(TYPES)}, not {qtype!r}")
        from tools.quant.quantize import QuantizeRequest, quantize

        quiet_transformers()
        req = QuantizeRequest(
            model=model,
            method=method,
            type=qtype,
            data=data,
            out=out,
            calib_sequences=calib_sequences,
            evaluate=evaluate,
            eval_max_tokens=max_tokens,
            eval_max_qa=max_qa,
            overwrite=overwrite,
        )
        with rich_progress(transient=True) as progress:
            result = quantize(req, progress)
        if json_out:
            emit_json(result)
            return
        r = result.report
        console.print(
            f"{result.weights}  {r.weight_bytes:,} bytes of weights ({r.weight_bytes / r.float_weight_bytes:.1%} of F32)  "
            f"{r.method} {r.qtype} in {r.quantize_seconds:.1f}s",
            markup=False,
            soft_wrap=True,
        )
        if r.before and r.after and r.rule:
            task = (
                f"task accuracy {r.before.task_accuracy:.3f} -> {r.after.task_accuracy:.3f}"
                if r.before.task_accuracy is not None and r.after.task_accuracy is not None
                else "task accuracy n/a"
            )
            console.print(
                f"perplexity {r.before.perplexity:.3f} -> {r.after.perplexity:.3f} ({r.rule.value:+.2%}), {task}; "
                f"rule {r.rule.metric} change < {r.rule.threshold:.0%}: {'passed' if r.rule.passed else 'FAILED'}",
                markup=False,
                soft_wrap=True,
            )
