"""The run report: report.md with PNG plots under SLM/runs/<thread>/, and a printed summary.

It holds the plan, each stage's artifacts, verdicts and attempts, the metrics (perplexity, task
accuracy, quantization change, sizes, tokens/s in QEMU), the kernel's answer to the demo prompt,
wall time and cost against the $25 budget, and the eight success criteria (docs/pipeline.md), each
pass, fail, or "not reached" when the run stopped before the stage that decides it.

Cost = the LLM calls of the cost ledger + compute: the run's wall hours at the machine's hourly
price (agents.plan.compute_usd_per_hour: $0.10/h for a CPU machine, $2.50/h with a GPU,
overridable with AUTON_COMPUTE_USD_PER_HOUR).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agents.models import SPEC_BUDGET_USD, ReviewRecord
from agents.plan import compute_usd_per_hour
from graph.console_report import console_section
from graph.state import PipelineState
from tools.artifacts import atomic_write_text
from tools.checkpoint import METRICS
from tools.tiers import task_target
from tools.verdict import STAGES

REPORT_MD = "report.md"


class Criterion(BaseModel):
    number: int
    text: str
    result: str  # "pass", "fail" or "not reached"
    evidence: str


class Costs(BaseModel):
    wall_s: float
    llm_usd: float
    llm_tokens: int
    compute_usd: float
    total_usd: float
    budget_usd: float = SPEC_BUDGET_USD

    @property
    def within_budget(self) -> bool:
        return self.total_usd < self.budget_usd


def _latest_review(state: PipelineState, stage: str) -> ReviewRecord | None:
    """The latest review of ``stage``, or None if it was never reviewed."""
    verdicts = [r for r in state.reviews if r.stage == stage]
    return verdicts[-1] if verdicts else None


def _approved(state: PipelineState, stage: str) -> bool | None:
    """The latest verdict on ``stage``: True/False, or None if it was never reviewed."""
    review = _latest_review(state, stage)
    return review.approved if review else None


def _metric(state: PipelineState, stage: str, key: str) -> Any:
    rec = state.stages.get(stage)
    return rec.metrics.get(key) if rec else None


def costs(state: PipelineState) -> Costs:
    now = datetime.fromisoformat(state.finished) if state.finished else datetime.now(timezone.utc)
    wall = max(0.0, (now - datetime.fromisoformat(state.started)).total_seconds())
    llm = sum(c.usd for c in state.costs)
    tokens = sum(c.prompt_tokens + c.completion_tokens for c in state.costs)
    train = state.stages.get("train")
    device = (train.metrics.get("device") if train else None) or (state.plan.device if state.plan else "cpu")
    compute = wall / 3600.0 * compute_usd_per_hour(device)
    return Costs(wall_s=wall, llm_usd=llm, llm_tokens=tokens, compute_usd=compute, total_usd=llm + compute)


def criteria(state: PipelineState, cost: Costs) -> list[Criterion]:
    def crit(n: int, text: str, stage: str, ok: Any, evidence: str) -> Criterion:
        if _approved(state, stage) is None or ok is None:
            return Criterion(number=n, text=text, result="not reached", evidence=f"{stage} was not reviewed")
        return Criterion(number=n, text=text, result="pass" if ok else "fail", evidence=evidence)

    train = _latest_review(state, "train")
    # training completed when its checkpoint is usable: approved, or short of a quality target
    # only (the perplexity, criterion 2's); a NaN not rolled back makes it unusable
    train_ok = train.usable if train else None
    if train is None or train.approved:
        said = "approved"
    else:
        checks = ", ".join(f.split(":", 1)[0] for f in train.failures)
        said = f"rejected for {'a missed target only' if train.usable else 'a broken run'} ({checks})"
    ppl, thr = _metric(state, "evaluate", "perplexity"), _metric(state, "evaluate", "ppl_threshold")
    rel = _metric(state, "quantize", "rel_change")
    exact = _metric(state, "integrate", "command_exact")
    target = task_target(state.plan.tier) if state.plan else None
    return [
        crit(
            1,
            "Training completes without NaN/Inf",
            "train",
            train_ok,
            f"checkpoint review {said}; "
            f"NaN events handled by rollback: {_metric(state, 'train', 'nan_events')}",
        ),
        crit(
            2,
            "Validation perplexity meets threshold",
            "evaluate",
            _metric(state, "evaluate", "passed"),
            f"test perplexity {ppl:.2f} vs threshold {thr:g}" if ppl is not None and thr is not None else "",
        ),
        crit(
            3,
            "Quantization preserves accuracy (< 2% degradation)",
            "quantize",
            _metric(state, "quantize", "passed"),
            f"{_metric(state, 'quantize', 'rule')}: change {rel:+.2%}" if rel is not None else "",
        ),
        crit(
            4,
            "Export formats validate successfully",
            "export",
            _metric(state, "export", "valid"),
            str(_metric(state, "export", "validation")),
        ),
        crit(
            5,
            "Kernel boots with embedded model",
            "integrate",
            _metric(state, "integrate", "booted"),
            f"QEMU exit code {_metric(state, 'integrate', 'exit_code')}",
        ),
        crit(
            6,
            "SLM runtime loads model without errors",
            "integrate",
            _metric(state, "integrate", "model_loaded"),
            str(_metric(state, "integrate", "banner")),
        ),
        crit(
            7,
            "Inference produces coherent, relevant outputs",
            "integrate",
            None if exact is None or target is None else exact >= target,
            _console_evidence(state, target),
        ),
        Criterion(
            number=8,
            text="Total cost within budget (< $25 USD per training run)",
            result="pass" if cost.within_budget else "fail",
            evidence=f"${cost.total_usd:.4f} (LLM ${cost.llm_usd:.4f}, compute ${cost.compute_usd:.4f})",
        ),
    ]


def _console_evidence(state: PipelineState, target: float | None) -> str:
    m = state.stages["integrate"].metrics if "integrate" in state.stages else {}
    if m.get("command_exact") is None:
        return ""
    grounded = m.get("grounded_accuracy")
    said = (
        f"on the booted kernel, {m['requests']} held-out requests: command exact {m['command_exact']:.1%} "
        f"(target {target:.0%}), intent {m['intent_accuracy']:.1%}"
        + (f", grounded answers {grounded:.1%}" if grounded is not None else "")
    )
    if m.get("freeform_requests"):
        said += f"; own freeform phrasings ({m['freeform_requests']}): command exact {m['freeform_command_exact']:.1%}"
    return said


def _plot_loss(state: PipelineState, out: Path) -> Path | None:
    import json

    train = state.stages.get("train")
    run = train.outputs.get("run") if train else None
    if not run or not (Path(run) / METRICS).is_file():
        return None
    steps, losses, vsteps, vlosses = [], [], [], []
    for line in (Path(run) / METRICS).read_text().splitlines():
        rec = json.loads(line)
        if rec.get("event") == "train" and rec.get("loss") is not None:
            steps.append(rec["step"])
            losses.append(rec["loss"])
        elif rec.get("event") == "val" and rec.get("val_loss") is not None:
            vsteps.append(rec["step"])
            vlosses.append(rec["val_loss"])
    if not steps:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, losses, label="train loss")
    if vsteps:
        ax.plot(vsteps, vlosses, "o-", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.legend()
    fig.tight_layout()
    path = out / "loss.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _plot_stage_times(state: PipelineState, out: Path) -> Path | None:
    if not state.runs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.stage}#{r.attempt}" for r in state.runs]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(labels) + 1.2))
    ax.barh(
        labels,
        [r.wall_s for r in state.runs],
        color=["tab:red" if r.status == "failed" else "tab:blue" for r in state.runs],
    )
    ax.invert_yaxis()
    ax.set_xlabel("wall time (s)")
    fig.tight_layout()
    path = out / "stages.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def summary_lines(state: PipelineState, cost: Costs | None = None) -> list[str]:
    """The short printed summary: status, answer, key metrics, wall time, cost, criteria."""
    cost = cost or costs(state)
    lines = [f"status: {state.status}"]
    if state.question:
        lines.append(f"question: {state.question}")
    if state.failure:
        lines.append("failure: " + state.failure.splitlines()[0])
    for stage, key, label in (
        ("evaluate", "perplexity", "test perplexity"),
        ("evaluate", "command_exact", "command exact match (PyTorch, held-out)"),
        ("integrate", "command_exact", "command exact match (booted kernel, held-out)"),
        ("integrate", "grounded_accuracy", "grounded answers (booted kernel)"),
        ("integrate", "latency_median_s", "request latency in QEMU, median s"),
        ("quantize", "rel_change", "quantization change"),
        ("export", "gguf_bytes", "GGUF bytes"),
        ("integrate", "image_bytes", "kernel image bytes (model and knowledge tables included)"),
        ("integrate", "kb_bytes", "knowledge tables bytes"),
        ("integrate", "ram_used_bytes", "kernel RAM in use"),
        ("integrate", "devices_found", "devices discovered"),
        ("integrate", "tokens_per_s", "tokens/s in QEMU"),
    ):
        v = _metric(state, stage, key)
        if v is not None:
            lines.append(f"{label}: {v:.4g}" if isinstance(v, float) else f"{label}: {v}")
    if (command := _metric(state, "integrate", "command")) is not None:
        lines.append(f"request: {_metric(state, 'integrate', 'prompt')}")
        lines.append(f"kernel command: {command}")
        lines.append(f"kernel answer: {_metric(state, 'integrate', 'answer')}")
    lines.append(f"wall time: {cost.wall_s / 60:.1f} min; cost ${cost.total_usd:.4f} of ${cost.budget_usd:g}")
    crits = criteria(state, cost)
    passed = sum(c.result == "pass" for c in crits)
    lines.append(f"success criteria: {passed}/8 pass " + " ".join(f"{c.number}:{c.result}" for c in crits))
    return lines


def render_markdown(state: PipelineState, thread_id: str, cost: Costs, plots: list[Path]) -> str:
    md = [
        f"# auton-slm run {thread_id}",
        "",
        f"Goal: **{state.goal}**",
        "",
        f"Status: **{state.status}**",
        "",
    ]
    if state.question:
        md += [f"Question back to the user: {state.question}", ""]
    if state.failure:
        md += ["## Failure", "", "```", state.failure, "```", ""]
    md += ["## Summary", ""] + [f"- {line}" for line in summary_lines(state, cost)] + [""]
    if state.plan:
        md += ["## Plan", "", "| field | value |", "|---|---|"]
        md += [f"| {k} | {v} |" for k, v in state.plan.model_dump(mode="json").items() if k != "assumptions"]
        md += [""] + [f"- assumed: {a}" for a in state.plan.assumptions] + [""]
    md += ["## Success criteria", "", "| # | criterion | result | evidence |", "|---|---|---|---|"]
    md += [f"| {c.number} | {c.text} | {c.result} | {c.evidence} |" for c in criteria(state, cost)] + [""]
    md += console_section(state)
    md += [
        "## Stages",
        "",
        "| stage | attempts | status | verdict | wall s | artifacts |",
        "|---|---|---|---|---|---|",
    ]
    for stage in STAGES:
        rec = state.stages.get(stage)
        if rec is None:
            md.append(f"| {stage} | 0 | not run | | | |")
            continue
        verdict = {True: "approved", False: "rejected", None: ""}[_approved(state, stage)]
        outs = ", ".join(f"{k}: `{v}`" for k, v in rec.outputs.items())
        md.append(f"| {stage} | {rec.attempt} | {rec.status} | {verdict} | {rec.wall_s:.1f} | {outs} |")
    md += ["", "## Metrics", ""]
    for stage in STAGES:
        rec = state.stages.get(stage)
        if rec and rec.metrics:
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.metrics.items()
            )
            md.append(f"- **{stage}**: {shown}")
    md += ["", "## Reviews", ""]
    for r in state.reviews:
        tail = f" -> {r.remedy.stage}: {r.remedy.text}" if r.remedy and not r.approved else ""
        md.append(
            f"- {r.stage} #{r.attempt} ({r.kind}): {'approved' if r.approved else 'rejected'}"
            + (f" [{'; '.join(r.failures)}]" if r.failures else "")
            + tail
        )
    md += [
        "",
        "## Decisions",
        "",
        "| agent | stage | attempt | by | choice | reason |",
        "|---|---|---|---|---|---|",
    ]
    md += [
        f"| {d.agent} | {d.stage} | {d.attempt} | {d.source} | `{d.choice}` | {d.reason} |"
        for d in state.decisions
    ]
    md += [
        "",
        "## Cost",
        "",
        f"- wall time: {cost.wall_s:.0f} s",
        f"- LLM: {cost.llm_tokens} tokens, ${cost.llm_usd:.4f}",
        f"- compute: ${cost.compute_usd:.4f}",
        f"- total: ${cost.total_usd:.4f} of ${cost.budget_usd:g}",
        "",
    ]
    if state.warnings:
        md += ["## Warnings", ""] + [f"- {w}" for w in state.warnings] + [""]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(md) + "\n"


def write_report(state: PipelineState, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cost = costs(state)
    plots = [p for p in (_plot_loss(state, out), _plot_stage_times(state, out)) if p is not None]
    return atomic_write_text(out / REPORT_MD, render_markdown(state, out.name, cost, plots))
