"""``auton-slm data task``: the console task dataset (tools/task/); added to the ``data`` group."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from graph.cli._output import JsonFlag, Overwrite, console, emit_json
from tools.progress import rich_progress
from tools.tiers import Arch


def add_task_command(data_app: typer.Typer) -> None:
    @data_app.command("task")
    def task_cmd(
        arch: Arch = typer.Option(..., "--arch", help="target architecture (device-tree or PCI machines)"),
        out: Path = typer.Option(..., "--out", help="task dataset directory, e.g. SLM/datasets/task/<name>"),
        seed: int = typer.Option(0, "--seed"),
        train: int = typer.Option(20000, "--train", min=1, help="train examples"),
        val: int = typer.Option(1000, "--val", min=1, help="validation examples"),
        test: int = typer.Option(1000, "--test", min=1, help="held-out test examples"),
        intent: list[str] = typer.Option([], "--intent", help="restrict to these intents (repeatable)"),
        kb: Path | None = typer.Option(
            None,
            "--kb",
            help="knowledge blob (auton-slm kb build) whose tables the outputs use (default: this machine's data)",
        ),
        overwrite: Overwrite = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Requests -> console commands -> outputs -> grounded answers, with held-out phrasings and machines."""
        from tools.task import TaskRequest, build_task

        req = TaskRequest(
            arch=arch,
            out=out,
            seed=seed,
            counts={"train": train, "val": val, "test": test},
            kb=kb,
            overwrite=overwrite,
            **({"intents": intent} if intent else {}),
        )
        with rich_progress(transient=as_json) as progress:
            result = build_task(req, progress=progress)
        if as_json:
            emit_json(result)
            return
        table = Table(title=f"task dataset {result.path} ({arch.value})")
        table.add_column("intent")
        for split in result.counts:
            table.add_column(split, justify="right")
        for name in next(iter(result.counts.values())):
            table.add_row(name, *(str(c[name]) for c in result.counts.values()))
        console.print(table)
