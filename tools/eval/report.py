"""The evaluation report directory: report.json, report.md, loss_curve.png, manifest.json.

Written atomically (tools.artifacts.staging_dir), by default next to the model (see
tools.eval.evaluate.default_report_dir). The loss curve comes from the training run's metrics.jsonl
(record shapes in tools.train.metrics): train loss and validation loss by step, NaN events marked.
"""

from __future__ import annotations

from pathlib import Path

from tools.artifacts import FileRef, atomic_write_json, atomic_write_text, staging_dir, write_manifest
from tools.eval.request import EvalReport
from tools.train.metrics import read_metrics

CURVE = "loss_curve.png"
QA_SHOWN = 10


def plot_loss_curve(metrics: Path, out: Path) -> bool:
    """Draw train/val loss by step into ``out``; False when the log has no loss to draw."""
    records = read_metrics(metrics)
    train = [(r["step"], r["loss"]) for r in records if r.get("event") == "train" and "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("event") == "val" and "val_loss" in r]
    nans = [r["step"] for r in records if r.get("event") == "nan"]
    if not train and not val:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for points, label in ((train, "train loss"), (val, "validation loss")):
        if points:
            ax.plot(*zip(*points, strict=True), label=label, marker="o" if len(points) < 30 else None)
    for i, step in enumerate(nans):
        ax.axvline(step, color="red", linestyle=":", label="NaN/Inf event" if i == 0 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return True


def render_markdown(r: EvalReport, curve: bool) -> str:
    task = "n/a (no held-out QA pairs)" if r.task_accuracy is None else f"{r.task_accuracy:.3f}"
    used = (
        "the whole split"
        if r.whole_split
        else f"the first {r.tokens_scored + 1:,} of {r.split_tokens:,} tokens"
    )
    lines = [
        f"# Evaluation of `{r.model}`",
        "",
        f"Model `{r.resolved}` ({r.backend}, {r.params:,} parameters, {r.size_bytes:,} bytes, "
        f"context {r.context}, vocab {r.vocab_size}), dataset `{r.dataset}` ({r.arch}), test split: {used}.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| perplexity | {r.perplexity:.3f} |",
        f"| threshold ({r.tier} tier) | < {r.ppl_threshold:g} ({'passed' if r.passed else 'FAILED'}) |",
        f"| bits per byte | {r.bits_per_byte:.4f} |",
        f"| next-token accuracy | {r.next_token_accuracy:.4f} |",
        f"| task accuracy (exact match) | {task} ({r.qa_correct}/{r.qa_total}) |",
        f"| tokens scored | {r.tokens_scored:,} |",
        f"| bytes ({r.bytes_basis}) | {r.bytes_counted:,.0f} |",
        "",
        f"Perplexity protocol: {r.protocol}.",
        "",
    ]
    if curve:
        lines += ["## Loss curve", "", f"![loss curve]({CURVE})", ""]
    if r.qa:
        lines += [
            "## Held-out QA (first answers)",
            "",
            "| question | expected | output | ok |",
            "|---|---|---|---|",
        ]
        for q in r.qa[:QA_SHOWN]:
            lines.append(
                f"| {_cell(q.question)} | {_cell(q.answer)} | {_cell(q.output)} | {'yes' if q.correct else 'no'} |"
            )
        lines.append("")
    if r.samples:
        lines += ["## Generation samples (greedy)", ""]
        for s in r.samples:
            lines += [f"- **{s.prompt}** -> `{_cell(s.output)}`"]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def write_report(report: EvalReport, out: Path, metrics: Path | None) -> Path:
    with staging_dir(out, overwrite=True) as tmp:
        curve = metrics is not None and plot_loss_curve(metrics, tmp / CURVE)
        atomic_write_json(tmp / "report.json", report)
        atomic_write_text(tmp / "report.md", render_markdown(report, curve))
        inputs = [FileRef.of(metrics)] if metrics is not None else []
        write_manifest(
            tmp,
            "eval_report",
            inputs=inputs,
            parameters={"model": report.resolved, "dataset": report.dataset, "protocol": report.protocol},
            metrics={
                "perplexity": report.perplexity,
                "bits_per_byte": report.bits_per_byte,
                "next_token_accuracy": report.next_token_accuracy,
                "task_accuracy": report.task_accuracy,
                "passed": report.passed,
            },
        )
    return out
