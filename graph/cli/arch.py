"""``auton-slm arch design|estimate|validate|probe``: the ModelArchitect's tools."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import get_args

import typer
from rich.table import Table

from graph.cli._output import JsonFlag, console, emit_json
from graph.cli.train import DeviceOpt
from tools.arch.estimates import WEIGHT_TYPES
from tools.config import ModelConfig, TierField
from tools.errors import CheckFailed
from tools.tiers import Arch

arch_app = typer.Typer(help="Design, estimate and validate model configs.", no_args_is_help=True)
TierOpt = Enum("TierOpt", {t: t for t in get_args(TierField)}, type=str)  # the four tiers and micro


QuantOpt = Enum("QuantOpt", {w: w for w in WEIGHT_TYPES}, type=str)


def _mib(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


@arch_app.command("design")
def design_cmd(
    tier: TierOpt = typer.Option(..., "--tier"),
    arch: Arch = typer.Option(..., "--arch"),
    vocab_size: int = typer.Option(..., "--vocab-size", min=1),
    budget_minutes: float | None = typer.Option(None, "--budget-minutes", min=0.01, help="training budget"),
    device: DeviceOpt = typer.Option(DeviceOpt.auto, "--device"),
    tokens_per_param: float = typer.Option(20.0, "--tokens-per-param", min=0.01),
    flops_per_s: float | None = typer.Option(
        None, "--flops-per-s", min=1.0, help="skip the probe: sustained FLOP/s"
    ),
    name: str | None = typer.Option(None, "--name"),
    out: Path | None = typer.Option(None, "--out", help="write the config YAML here"),
    as_json: JsonFlag = False,
) -> None:
    """Propose a config inside the tier that the budget trains on this machine's measured throughput."""
    from tools.arch import DesignRequest, design

    cfg = design(
        DesignRequest(
            tier=tier.value,
            arch=arch,
            vocab_size=vocab_size,
            train_minutes=budget_minutes,
            device=device.value,
            tokens_per_param=tokens_per_param,
            flops_per_s=flops_per_s,
            name=name,
        )
    )
    if out is not None:
        cfg.save(out)
    if as_json:
        emit_json(cfg)
    else:
        console.print(cfg.to_yaml(), end="", markup=False, highlight=False)


@arch_app.command("estimate")
def estimate_cmd(
    config: Path = typer.Argument(..., help="config YAML"),
    batch: int | None = typer.Option(
        None, "--batch", min=1, help="micro-batch for training memory (default: config's)"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Parameters, training FLOPs per token, training memory, kernel-runtime RAM per weight type."""
    from tools.arch.estimates import flops_per_token, inference_ram_all, param_count, train_memory

    cfg = ModelConfig.load(config)
    m, t = cfg.model, cfg.training
    mem = train_memory(m, batch or t.batch_size, act_bytes=2 if t.precision == "bf16" else 4)
    doc = {
        "params": param_count(m),
        "flops_per_token": flops_per_token(m),
        "train_memory": {
            **mem.model_dump(),
            "total": mem.total,
            "batch": batch or t.batch_size,
            "context": m.context,
        },
        "inference_ram": inference_ram_all(m),
    }
    if as_json:
        emit_json(doc)
        return
    table = Table(title=f"estimates: {config}", show_header=False)
    table.add_row("parameters", f"{doc['params']:,}")
    table.add_row("training FLOPs / token", f"{doc['flops_per_token']:.4g}")
    for k in ("weights", "grads", "optimizer", "activations", "total"):
        table.add_row(f"train memory: {k}", _mib(doc["train_memory"][k]))
    for w, b in doc["inference_ram"].items():
        table.add_row(f"kernel RAM at {w}", _mib(b))
    console.print(table)


@arch_app.command("validate")
def validate_cmd(
    config: Path = typer.Argument(..., help="config YAML"),
    quant: QuantOpt | None = typer.Option(
        None, "--quant", help="the weight type it ships with (default: Q4_0)"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Check shape rules, GGUF block alignment and the tier's parameter/RAM bounds (exit 1 on failure)."""
    from tools.arch import validate

    v = validate(ModelConfig.load(config), quant=quant.value if quant else None, path=str(config))
    if as_json:
        emit_json(v)
    else:
        status = "[green]valid[/green]" if v.ok else "[red]invalid[/red]"
        console.print(
            f"{config}: {status} ({v.tier} tier, {v.params / 1e6:.2f}M parameters, fits: {', '.join(v.fits)})"
        )
        for issue in v.issues:
            console.print(f"  - {issue.check}: {issue.message}", markup=False)
    if not v.ok:
        more = f" (+{len(v.issues) - 1} more)" if len(v.issues) > 1 else ""
        raise CheckFailed(f"{config}: {v.issues[0].message}{more}", "invalid config")


@arch_app.command("probe")
def probe_cmd(
    device: DeviceOpt = typer.Option(DeviceOpt.auto, "--device"),
    again: bool = typer.Option(False, "--again", help="re-measure instead of using the cached figures"),
    as_json: JsonFlag = False,
) -> None:
    """Measure (once, cached) the training FLOP/s this machine sustains; design uses it."""
    from tools.arch.design import resolve_device
    from tools.arch.hardware import default_precision, peak_flops
    from tools.arch.probe import train_flops_per_s

    dev = resolve_device(device.value)
    precision = default_precision(dev)
    doc = {
        "device": dev,
        "precision": precision,
        "train_flops_per_s": train_flops_per_s(dev, precision, again=again),
        "peak_flops": peak_flops(dev, precision, again=again),
    }
    if as_json:
        emit_json(doc)
    else:
        console.print(
            f"{dev} {precision}: sustained training {doc['train_flops_per_s'] / 1e9:,.1f} GFLOP/s, "
            f"peak {doc['peak_flops'] / 1e9:,.1f} GFLOP/s"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(arch_app, name="arch")
