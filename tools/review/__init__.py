"""The Reviewer's deterministic checks: ``review(kind, path, **context) -> Verdict``.

One module per artifact kind; each returns a tools.verdict.Verdict whose failing findings carry a
Remedy from the closed action set of tools.verdict. Context per kind (all optional):

| kind       | path                               | context                                   |
|------------|------------------------------------|-------------------------------------------|
| dataset    | dataset directory                  | config: a config YAML (enough tokens)     |
| config     | config YAML                        | data: its dataset directory               |
| launch     | launch.sh                          | dry: False skips the 2-step dry run        |
| checkpoint | run directory or step directory    | tier: whose perplexity threshold applies  |
| tuned      | tuned run directory                | budget: the plan's TuneBudget (remedies)  |
| evaluation | evaluation report dir/report.json  |                                           |
| quantized  | quantized directory                |                                           |
| export     | export directory or deploy.json    |                                           |
| boot       | boot.json or its directory         | tuned, budget: the console task's remedies|

A missing path or a context that does not apply is an InputError (exit 2); an artifact that is
present but broken is a rejection, so that the graph can route it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.errors import InputError
from tools.review.boot import review_boot
from tools.review.checkpoint import review_checkpoint
from tools.review.config import review_config
from tools.review.dataset import review_dataset
from tools.review.evaluation import review_evaluation
from tools.review.export import review_export
from tools.review.launch import review_launch
from tools.review.quantized import review_quantized
from tools.review.tuned import review_tuned
from tools.verdict import Verdict

REVIEWERS: dict[str, Callable[..., Verdict]] = {
    "dataset": review_dataset,
    "config": review_config,
    "launch": review_launch,
    "checkpoint": review_checkpoint,
    "tuned": review_tuned,
    "evaluation": review_evaluation,
    "quantized": review_quantized,
    "export": review_export,
    "boot": review_boot,
}


def review(kind: str, path: str | Path, **context: Any) -> Verdict:
    reviewer = REVIEWERS.get(kind)
    if reviewer is None:
        raise InputError(f"unknown review kind {kind!r} (expected one of {', '.join(REVIEWERS)})")
    accepted = set(inspect.signature(reviewer).parameters) - {"path"}
    unknown = sorted(set(context) - accepted)
    if unknown:
        raise InputError(
            f"review {kind} takes no {', '.join(unknown)} (it takes: {', '.join(sorted(accepted)) or 'nothing'})"
        )
    return reviewer(path, **context)


__all__ = ["REVIEWERS", "review"]
