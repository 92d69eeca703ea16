"""``auton-slm tune``: task tuning of a pretrained model (tools/tune/); ``auton-slm tune eval``:
its held-out console-task evaluation."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from graph.cli._output import JsonFlag, console, emit_json, quiet_transformers
from graph.cli.train import DeviceOpt
from tools.errors import InputError, validation_message
from tools.progress import rich_progress


def _show(title: str, rows: dict[str, object]) -> None:
    table = Table(title=title, show_header=False)
    for key, value in rows.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    tune_app = typer.Typer(help="Task tuning: requests -> console commands -> grounded answers.")
    app.add_typer(tune_app, name="tune")

    @tune_app.callback(invoke_without_command=True)
    def tune_cmd(
        ctx: typer.Context,
        model: Path | None = typer.Option(None, "--model", help="pretrained run or step directory"),
        task: Path | None = typer.Option(None, "--task", help="task dataset (auton-slm data task)"),
        data: Path | None = typer.Option(None, "--data", help="the pretraining dataset (mixed-in text)"),
        out: Path | None = typer.Option(None, "--out", help="run directory of the tuned model"),
        minutes: float | None = typer.Option(None, "--minutes", min=0.01, help="wall-clock budget"),
        max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="schedule length in steps"),
        resume: bool = typer.Option(False, "--resume", help="continue from the run's latest checkpoint"),
        device: DeviceOpt = typer.Option(DeviceOpt.auto, "--device"),
        lr: float = typer.Option(1e-3, "--lr", min=1e-7, help="peak LR (warmup-stable-decay)"),
        batch_size: int = typer.Option(16, "--batch-size", min=1),
        pretrain_fraction: float | None = typer.Option(
            None,
            "--pretrain-fraction",
            min=0.0,
            max=0.95,
            help="share of pretraining steps (default: what make run uses)",
        ),
        command_only: bool = typer.Option(False, "--command-only", help="train request -> command only"),
        seed: int | None = typer.Option(
            None, "--seed", help="the order of the batches and the random state (make run: the plan's seed)"
        ),
        as_json: JsonFlag = False,
    ) -> None:
        """Tune a pretrained model on a task dataset (loss on its own turns, pretraining text mixed in)."""
        if ctx.invoked_subcommand is not None:
            return
        from pydantic import ValidationError

        from tools.tune import TuneRequest, tune

        missing = [
            f"--{n}" for n, v in (("model", model), ("task", task), ("data", data), ("out", out)) if v is None
        ]
        if missing:
            raise InputError(f"tune needs {', '.join(missing)}")
        try:
            req = TuneRequest(
                model=model, task=task, data=data, out=out, minutes=minutes, max_steps=max_steps, resume=resume,
                device=device.value, lr=lr, batch_size=batch_size, answers=not command_only,
                **({} if pretrain_fraction is None else {"pretrain_fraction": pretrain_fraction}),
                **({} if seed is None else {"seed": seed}),
            )  # fmt: skip
        except ValidationError as e:
            raise InputError(f"tune: {validation_message(e)} (pass --minutes or --max-steps)") from None
        quiet_transformers()
        with rich_progress(transient=as_json) as progress:
            result = tune(req, progress=progress)
        if as_json:
            emit_json(result)
        else:
            _show(
                f"tune: {result.run_dir} ({result.status})",
                result.model_dump(
                    include={"steps", "total_steps", "task_examples", "best_val_loss", "best", "wall_s"}
                ),
            )
        if result.status == "interrupted":
            print(f"interrupted at step {result.steps}; continue with --resume", file=sys.stderr)
            raise typer.Exit(130)

    @tune_app.command("eval")
    def eval_cmd(
        model: Path = typer.Option(..., "--model", help="tuned run or step directory"),
        task: Path = typer.Option(..., "--task", help="task dataset directory"),
        split: str = typer.Option("test", "--split", help="val or test"),
        limit: int | None = typer.Option(None, "--limit", min=1, help="first N examples only"),
        command_only: bool = typer.Option(False, "--command-only", help="score commands, skip answers"),
        as_json: JsonFlag = False,
    ) -> None:
        """Held-out accuracy: constrained commands, intents, arguments, refusals, grounded answers."""
        from tools.tune import TaskEvalRequest, evaluate_task

        if split not in ("val", "test"):
            raise InputError(f"--split {split}: expected val or test")
        quiet_transformers()
        req = TaskEvalRequest(model=model, task=task, split=split, limit=limit, answers=not command_only)
        with rich_progress(transient=as_json) as progress:
            result = evaluate_task(req, progress=progress)
        if as_json:
            emit_json(result)
            return
        keys = ("examples", "command_exact", "intent_accuracy", "argument_accuracy", "refusal_precision",
                "refusal_recall", "grounded_accuracy", "grounded_rate", "answers_scored")  # fmt: skip
        _show(f"task eval: {model} on {split}", result.model_dump(include=set(keys)))
        table = Table(title="per intent")
        for col in ("intent", "n", "exact", "confusions"):
            table.add_column(col)
        for name, s in result.per_intent.items():
            table.add_row(
                name, str(s.n), f"{s.exact:.1%}", ", ".join(f"{k}: {v}" for k, v in s.confusions.items())
            )
        console.print(table)
