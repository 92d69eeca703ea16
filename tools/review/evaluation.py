"""Review of an evaluation report directory (tools.eval: report.json).

Checks:
- ``loads``: report.json is an EvalReport;
- ``metrics_finite``: perplexity and bits per byte are finite;
- ``coverage``: at least ``MIN_SCORED`` test tokens (or the whole split) were scored, and
  held-out QA pairs were asked (a warning when none were);
- ``perplexity_threshold``: test perplexity below the tier's threshold; the remedy follows the
  training log of the evaluated run (tools.review.checkpoint.capacity_remedy).
"""

from __future__ import annotations

import math
from pathlib import Path

from tools.checkpoint import METRICS
from tools.eval import EvalReport
from tools.review.checkpoint import capacity_remedy, run_config
from tools.review.findings import passed, read_artifact, rejected, rerun, short_of_target, unreadable, warning
from tools.train.metrics import read_metrics
from tools.verdict import Finding, Verdict

REPORT = "report.json"
MIN_SCORED = 1024


def _run_dir(report: EvalReport) -> Path | None:
    resolved = Path(report.resolved)
    for d in (resolved, resolved.parent):
        if (d / METRICS).is_file():
            return d
    return None


def check_coverage(r: EvalReport) -> list[Finding]:
    out = []
    if r.whole_split or r.tokens_scored >= MIN_SCORED:
        scope = (
            "the whole test split"
            if r.whole_split
            else f"{r.tokens_scored:,} of {r.split_tokens:,} test tokens"
        )
        out.append(passed("coverage", "evaluate", f"scored {scope}", tokens_scored=r.tokens_scored))
    else:
        fix = rerun("evaluate", f"score at least {MIN_SCORED} test tokens")
        out.append(
            rejected(
                "coverage",
                "evaluate",
                f"only {r.tokens_scored} test tokens scored",
                fix,
                tokens=r.tokens_scored,
            )
        )
    if r.qa_total == 0:
        out.append(warning("qa_asked", "evaluate", "no held-out QA pairs were asked: task accuracy unknown"))
    else:
        out.append(
            passed("qa_asked", "evaluate", f"task accuracy {r.task_accuracy:.3f} on {r.qa_total} pairs")
        )
    return out


def review_evaluation(path: str | Path) -> Verdict:
    """Review an evaluation report directory (or its report.json)."""
    path = Path(path)
    report = read_artifact(path, REPORT, EvalReport)
    if isinstance(report, str):
        return unreadable("evaluation", path, "evaluate", report)
    findings = [passed("loads", "evaluate", f"report of {report.resolved} ({report.backend})")]
    if not (math.isfinite(report.perplexity) and math.isfinite(report.bits_per_byte)):
        fix = rerun("train", "the evaluated model produces non-finite losses")
        findings.append(rejected("metrics_finite", "train", f"perplexity {report.perplexity}", fix))
        return Verdict.from_findings("evaluation", str(path), findings)
    findings.append(passed("metrics_finite", "evaluate", "perplexity and bits per byte are finite"))
    findings += check_coverage(report)
    evidence = {"perplexity": report.perplexity, "threshold": report.ppl_threshold, "tier": report.tier}
    if report.passed:
        message = f"test perplexity {report.perplexity:.2f} < {report.ppl_threshold:g} ({report.tier})"
        findings.append(passed("perplexity_threshold", "evaluate", message, **evidence))
    else:
        run = _run_dir(report)
        records = read_metrics(run / METRICS) if run is not None else []
        fix = capacity_remedy(records, run_config(run))
        message = f"test perplexity {report.perplexity:.2f} is not below the {report.tier} threshold {report.ppl_threshold:g}"
        findings.append(short_of_target("perplexity_threshold", "train", message, fix, **evidence))
    return Verdict.from_findings("evaluation", str(path), findings)
