"""``auton-slm export --model CKPT|QUANTIZED --format {gguf,onnx} [--type T] --out DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from graph.cli._output import JsonFlag, MaxQA, MaxTokens, Overwrite, console, emit_json, quiet_transformers
from tools.errors import InputError
from tools.progress import rich_progress

FORMATS = ("gguf", "onnx")
TYPES = ("F32", "F16", "Q8_0", "Q4_0")


def validation_line(v: dict, passed: bool) -> str:
    """deploy.json's validation in one line, for either format."""
    if v.get("skipped"):
        return "validation skipped"
    verdict = "passed" if passed else "FAILED"
    if "logits" in v:  # GGUF: tools.export.validate.GGUFValidation
        return (
            f"validation {verdict}: logits rel diff {v['logits']['rel_max_diff']:.2e} "
            f"(tol {v['logits']['tolerance']:.0e}), tokenization "
            f"{'ok' if v['tokenization']['passed'] else 'MISMATCH'}, greedy "
            f"{v['greedy']['matching_prefix']}/{v['greedy']['steps']}"
        )
    parts = []  # ONNX: tools.export.validate.ONNXValidation
    for name in ("fp32", "int8"):
        m = v[name]
        worst = max((s["rel_max_diff"] for s in m["shapes"]), default=float("nan"))
        top1 = min((s["top1_agreement"] for s in m["shapes"]), default=float("nan"))
        parts.append(f"{m['file']} {len(m['shapes'])} shapes, max rel diff {worst:.2e}, top-1 agreement {top1:.1%}")
    return f"validation {verdict}: " + "; ".join(parts)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_cmd(
        model: Path = typer.Option(..., "--model", help="Run dir, step dir or quantized dir."),
        out: Path = typer.Option(..., "--out", help="Output directory, e.g. SLM/models/exports/<name>."),
        fmt: str = typer.Option("gguf", "--format", help="gguf or onnx."),
        qtype: str | None = typer.Option(
            None,
            "--type",
            help="Float checkpoints: F32 (default) or F16; Q8_0/Q4_0 give plain round-to-nearest. "
            "A quantized directory keeps its type.",
        ),
        data: Path | None = typer.Option(
            None, "--data", help="Dataset whose test split feeds the parity checks."
        ),
        validate: bool = typer.Option(True, "--validate/--no-validate", help="Run the parity checks."),
        evaluate: bool | None = typer.Option(
            None,
            "--eval/--no-eval",
            help="With --data: evaluate the exported GGUF in llama.cpp (default: only when no earlier "
            "artifact holds the figures, i.e. for a float checkpoint).",
        ),
        max_tokens: MaxTokens = None,
        max_qa: MaxQA = None,
        overwrite: Overwrite = False,
        json_out: JsonFlag = False,
    ) -> None:
        """Export to GGUF (llama.cpp, the AUTON kernel) or ONNX, validate it, write deploy.json."""
        if fmt not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        if qtype is not None and qtype not in TYPES:
            raise InputError(f"--type must be one of {', '.join(TYPES)}, not {qtype!r}")
        from tools.export.export import ExportRequest, export

        quiet_transformers()
        req = ExportRequest(
            model=model,
            out=out,
            format=fmt,
            type=qtype,
            data=data,
            validate=validate,
            evaluate=evaluate,
            eval_max_tokens=max_tokens,
            eval_max_qa=max_qa,
            overwrite=overwrite,
        )
        with rich_progress(transient=True) as progress:
            result = export(req, progress)
        d = result.deploy
        if json_out:
            emit_json(result)
            return
        console.print(
            f"{result.file}  {d.bytes:,} bytes  {d.quant_type}  sha256 {d.sha256[:16]}", markup=False, soft_wrap=True
        )
        console.print(validation_line(d.validation, d.passed), markup=False, soft_wrap=True)
        if d.eval:
            e = d.eval
            console.print(
                f"eval ({d.eval_source}): perplexity {e.perplexity:.3f} on {e.tokens:,} test tokens, task "
                f"accuracy {'n/a' if e.task_accuracy is None else f'{e.task_accuracy:.3f}'} ({e.qa_pairs} QA pairs)",
                markup=False,
                soft_wrap=True,
            )
        if d.ram_estimate:
            console.print(f"kernel RAM estimate {d.ram_estimate.total:,} bytes", markup=False, soft_wrap=True)
