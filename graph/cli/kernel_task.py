"""``auton-slm kernel task --arch A --image IMG --task TASKDIR [-n 60] [--out DIR] [--json]``: the
console task scored on the booted kernel (tools.kernel_task); graph/cli/kernel.py adds it to
the ``kernel`` group."""

from __future__ import annotations

from pathlib import Path

import typer

from graph.cli._output import JsonFlag, console, emit_json
from graph.cli.kernel import ARCH_HELP, _arch
from tools.errors import CheckFailed
from tools.progress import rich_progress


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def add_task_command(kernel_app: typer.Typer) -> None:
    @kernel_app.command("task")
    def task_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        image: Path = typer.Option(
            ..., "--image", help="Kernel image with a chat-tuned model and kb tables."
        ),
        task: Path = typer.Option(
            ..., "--task", help="Task dataset built from the image's kb (data task --kb)."
        ),
        n: int = typer.Option(
            60, "-n", min=1, help="Requests from the test templates (freeform set on top)."
        ),
        out: Path = typer.Option(
            Path("SLM/runs/kernel-task"), "--out", help="result.json, transcript, logs."
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of the drawn requests."),
        ram: int | None = typer.Option(None, "--ram", help="RAM in MiB (default: the image's tier)."),
        timeout: float = typer.Option(900, "--timeout", help="Seconds for each boot."),
        json_out: JsonFlag = False,
    ) -> None:
        """Type held-out requests at the booted kernel and score them against its own inventory:
        command exact, intent, arguments, refusals, grounded answers, latency; freeform apart."""
        from tools.kernel_task import ConsoleTaskRequest, score_console

        req = ConsoleTaskRequest(
            arch=_arch(arch), image=image, task=task, n=n, seed=seed, ram_mb=ram, timeout_s=timeout, out=out
        )
        with rich_progress(transient=True) as progress:
            result = score_console(req, progress)
        if json_out:
            emit_json(result)
        else:
            lines = [
                f"{result.requests} requests on {arch} ({result.machine} devices found); {result.result}"
            ]
            for name in ("template", "freeform"):
                s = getattr(result, name)
                lines.append(
                    f"{name:<9} n={s.examples:<3} command exact {_pct(s.command_exact)}  intent "
                    f"{_pct(s.intent_accuracy)}  args {_pct(s.argument_accuracy)}  refusals P "
                    f"{_pct(s.refusal_precision)} R {_pct(s.refusal_recall)}  grounded "
                    f"{_pct(s.grounded_accuracy)} ({s.answers_scored} answers)"
                )
            if result.latency_median_s is not None:
                lines.append(
                    f"latency median {result.latency_median_s:.2f} s, p90 {result.latency_p90_s:.2f} s; "
                    f"transcript {result.transcript}"
                )
            console.print("\n".join(lines), markup=False, soft_wrap=True)
        if not result.boots_ok:
            raise CheckFailed(f"kernel task on {arch}: {result.error}")
