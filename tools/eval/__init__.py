"""Evaluation: perplexity, bits per byte, next-token and task accuracy, generation samples, comparison.

Public API: ``evaluate(EvalRequest, progress=None) -> EvalReport`` (one model) and
``compare(reports) -> Comparison`` (a table and the best model by a stated rule).
"""

from tools.eval.compare import RULE, Comparison, ComparisonRow, compare
from tools.eval.evaluate import default_report_dir, evaluate
from tools.eval.request import EvalReport, EvalRequest

__all__ = [
    "RULE",
    "Comparison",
    "ComparisonRow",
    "EvalReport",
    "EvalRequest",
    "compare",
    "default_report_dir",
    "evaluate",
]
