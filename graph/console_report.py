"""The report's console-task section: accuracy per weight type (PyTorch float and quantized, the
GGUF on the booted kernel), a table per intent with its confusions, and a transcript of exchanges
from the booted kernel. Read from the artifacts the stages hand on: the evaluate stage's
task.json, the quantize stage's commands.json, the Integrator's console/result.json."""

from __future__ import annotations

from pathlib import Path

from agents.evaluate import EvaluateArtifacts
from agents.integrate import IntegrateArtifacts
from agents.quantize import QuantizeArtifacts
from graph.state import PipelineState
from tools.artifacts import read_json
from tools.kernel_task import ConsoleTaskResult
from tools.review.quantized import COMMANDS_JSON, CommandRule
from tools.task.score import TaskScore
from tools.tune import TaskEvalResult

TRANSCRIPT_LINES = 80


def _artifacts(state: PipelineState, stage: str, kind):
    rec = state.stages.get(stage)
    if rec is None or rec.status != "ok":
        return None
    try:
        return kind.model_validate(rec.outputs)
    except ValueError:  # a record written before the stage handed this on
        return None


def _load(path: Path, kind):
    return kind.model_validate(read_json(path)) if path.is_file() else None


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.1%}"


def _confusions(s: TaskScore, intent: str) -> str:
    row = s.per_intent.get(intent)
    if row is None:
        return ""
    return ", ".join(f"{k} {v}" for k, v in sorted(row.confusions.items(), key=lambda kv: -kv[1]))


def console_section(state: PipelineState) -> list[str]:
    ev = _artifacts(state, "evaluate", EvaluateArtifacts)
    qa = _artifacts(state, "quantize", QuantizeArtifacts)
    it = _artifacts(state, "integrate", IntegrateArtifacts)
    torch_score = _load(ev.task, TaskEvalResult) if ev else None
    quant = _load(qa.quantized / COMMANDS_JSON, CommandRule) if qa else None
    console = _load(it.console, ConsoleTaskResult) if it else None
    if torch_score is None and console is None:
        return []
    qtype = (state.stages["quantize"].metrics.get("type") if qa else None) or "quantized"
    md = [
        "## Console task",
        "",
        "Held-out requests: phrasings, slot values and machines the task data's train split never had.",
        "",
    ]
    md += [
        "| model | where | requests | command exact | intent | arguments | grounded answers |",
        "|---|---|---|---|---|---|---|",
    ]
    if torch_score is not None:
        s = torch_score
        md.append(
            f"| F32 | PyTorch, simulated machines | {s.examples} | {_pct(s.command_exact)} | "
            f"{_pct(s.intent_accuracy)} | {_pct(s.argument_accuracy)} | {_pct(s.grounded_accuracy)} |"
        )
    if quant is not None:
        md.append(
            f"| {qtype} | PyTorch, dequantized | {quant.examples} | {_pct(quant.quantized_exact)} | | | |"
        )
    if console is not None:
        for label, s in (("template", console.template), ("freeform", console.freeform)):
            if s.examples:
                md.append(
                    f"| {qtype} GGUF | QEMU {console.arch.value}, {label} requests | {s.examples} | "
                    f"{_pct(s.command_exact)} | {_pct(s.intent_accuracy)} | {_pct(s.argument_accuracy)} | "
                    f"{_pct(s.grounded_accuracy)} |"
                )
        if console.latency_median_s is not None:
            md += ["", f"Latency on the booted kernel, request line to the end of the answer: median "
                   f"{console.latency_median_s:.2f} s, p90 {console.latency_p90_s:.2f} s."]  # fmt: skip
    md += [
        "",
        "| intent | PyTorch n | exact | confused with | QEMU n | exact | confused with |",
        "|---|---|---|---|---|---|---|",
    ]
    e2e = console.template if console is not None else None
    intents = sorted(set(torch_score.per_intent if torch_score else {}) | set(e2e.per_intent if e2e else {}))
    for name in intents:
        cells = []
        for s in (torch_score, e2e):
            row = s.per_intent.get(name) if s else None
            cells += [str(row.n), _pct(row.exact), _confusions(s, name)] if row and s else ["", "", ""]
        md.append(f"| {name} | " + " | ".join(cells) + " |")
    if console is not None and console.transcript.is_file():
        lines = console.transcript.read_text(encoding="utf-8", errors="replace").splitlines()
        md += ["", "Exchanges on the booted kernel:", "", "```", *lines[:TRANSCRIPT_LINES], "```"]
    return md + [""]
