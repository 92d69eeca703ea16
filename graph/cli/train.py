"""``auton-slm train``: train or resume a run (also under ``torchrun`` for DDP/FSDP)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from graph.cli._output import JsonFlag, console, emit_json
from tools.progress import rich_progress

if TYPE_CHECKING:
    from tools.train import TrainResult


class DeviceOpt(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _report(result: TrainResult, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"train: {result.run_dir} ({result.status})", show_header=False)
    for key in ("steps", "tokens_seen", "params", "final_loss", "best_val_ppl", "best_step", "best"):
        value = getattr(result, key)
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    table.add_row("tokens/s, MFU", f"{result.tokens_per_s:,.0f}, {result.mfu:.1%}")
    table.add_row("NaN rollbacks", str(len(result.nan_events)))
    console.print(table)


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        config: Path = typer.Option(..., "--config", help="model/training config (YAML)"),
        data: Path = typer.Option(..., "--data", help="prepared dataset directory"),
        out: Path = typer.Option(..., "--out", help="run directory, e.g. SLM/models/checkpoints/<run>"),
        resume: bool = typer.Option(False, "--resume", help="continue from the run's latest checkpoint"),
        max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="override training.max_steps"),
        minutes: float | None = typer.Option(
            None, "--minutes", min=0.1, help="fit a new run's schedule into M minutes at its measured step time"
        ),
        device: DeviceOpt = typer.Option(DeviceOpt.auto, "--device"),
        lr_scale: float | None = typer.Option(
            None, "--lr-scale", min=1e-6, help="LR scale to run at (default: the checkpoint's own, 1.0 new)"
        ),
        compile: bool | None = typer.Option(
            None, "--compile/--no-compile", help="torch.compile (default: CUDA)"
        ),
        as_json: JsonFlag = False,
        inject_nan_at_step: list[int] = typer.Option([], "--inject-nan-at-step", hidden=True),
    ) -> None:
        """Train a Llama model from a config on a prepared dataset, with checkpoints and metrics."""
        from tools.train import TrainRequest, train

        req = TrainRequest(
            config=config,
            data=data,
            out=out,
            resume=resume,
            max_steps=max_steps,
            time_budget_s=minutes * 60 if minutes else None,
            device=device.value,
            lr_scale=lr_scale,
            compile=compile,
            inject_nan_at_steps=inject_nan_at_step,
        )
        with rich_progress(transient=as_json) as progress:
            result = train(req, progress=progress)
        if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 reports
            _report(result, as_json)
        if result.status == "interrupted":
            print(f"interrupted at step {result.steps}; continue with --resume", file=sys.stderr)
            raise typer.Exit(130)
