"""``auton-slm review {dataset|config|launch|checkpoint|evaluation|quantized|export|boot} PATH [--json] ...``.

Options by kind: --config (dataset), --data (config), --tier (checkpoint), --no-dry-run (launch).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from graph.cli._output import JsonFlag, console, emit_json, quiet_transformers
from tools.errors import CheckFailed
from tools.verdict import Verdict

MARK = {"info": "ok  ", "warning": "warn", "error": "FAIL"}


def _print_human(v: Verdict) -> None:
    console.print(f"review {v.kind} {v.path}", markup=False, soft_wrap=True)
    for f in v.findings:
        mark = "ok  " if f.passed else MARK[f.severity]
        console.print(f"  [{mark}] {f.check}: {f.message}", markup=False, soft_wrap=True)
        if not f.passed and f.remedy is not None:
            console.print(
                f"         remedy ({f.remedy.stage}/{f.remedy.action}): {f.remedy.text}",
                markup=False,
                soft_wrap=True,
            )
    console.print("APPROVED" if v.approved else "REJECTED")


def register(app: typer.Typer) -> None:
    @app.command("review")
    def review_cmd(
        kind: str = typer.Argument(
            ..., help="dataset | config | launch | checkpoint | evaluation | quantized | export | boot"
        ),
        path: Path = typer.Argument(..., help="The artifact to review."),
        data: Path | None = typer.Option(None, "--data", help="config: the dataset it will train on."),
        config: Path | None = typer.Option(None, "--config", help="dataset: the config it must feed."),
        tier: str | None = typer.Option(None, "--tier", help="checkpoint: tier whose threshold applies."),
        dry_run: bool = typer.Option(
            True, "--dry-run/--no-dry-run", help="launch: train 2 steps into a temp dir."
        ),
        json_out: JsonFlag = False,
    ) -> None:
        """Deterministic checks of a stage's artifact: approve, or reject with a remedy (exit 1)."""
        from tools.review import review

        quiet_transformers()
        context: dict[str, Any] = {"data": data, "config": config, "tier": tier}
        context = {k: v for k, v in context.items() if v is not None}
        if not dry_run:
            context["dry"] = False
        verdict = review(kind, path, **context)
        if json_out:
            emit_json(verdict)
        else:
            _print_human(verdict)
        if not verdict.approved:
            remedy = verdict.remedy
            raise CheckFailed(f"{kind}: {remedy.text if remedy else verdict.failures[0].message}", "rejected")
