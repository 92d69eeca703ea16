"""``auton-slm kb build --arch A [--tier T] --out DIR``: the kernel's knowledge blob (tools.kb)."""

from __future__ import annotations

from pathlib import Path

import typer

from graph.cli._output import JsonFlag, console, emit_json
from graph.cli.kernel import ARCH_HELP, _arch, enum_option
from tools.progress import rich_progress
from tools.tiers import TierName


def register(app: typer.Typer) -> None:
    kb_app = typer.Typer(
        help="The kernel's knowledge tables: PCI names, driver aliases, Debian packages and commands.",
        no_args_is_help=True,
    )
    app.add_typer(kb_app, name="kb")

    @kb_app.command("build")
    def build_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        tier: str = typer.Option("tiny", "--tier", help="Model tier whose RAM bounds the tables."),
        out: Path = typer.Option(..., "--out", help="Output directory (kb.txt, manifest.json)."),
        refresh: bool = typer.Option(False, "--refresh", help="Fetch the Debian archive indexes again."),
        json_out: JsonFlag = False,
    ) -> None:
        """Build the knowledge blob from pci.ids, Debian's kernel modalias table, the target's
        Debian archive (Packages, Contents) and the man pages' whatis data."""
        from tools.kb.build import KbBuildRequest, build
        from tools.task.requests import phrasing_words

        req = KbBuildRequest(
            arch=_arch(arch),
            tier=enum_option(TierName, "--tier", tier),
            out=out,
            refresh=refresh,
            phrasing=phrasing_words(),
        )
        with rich_progress(transient=True) as progress:
            result = build(req, progress)
        if json_out:
            emit_json(result)
            return
        console.print(
            f"{result.blob}  {result.bytes:,} bytes of {result.budget_bytes:,} ({arch}, {result.tier.value}, "
            f"Debian {result.debian}, {result.seconds:.1f} s)",
            markup=False,
            soft_wrap=True,
        )
        if result.note:
            console.print(f"note: {result.note}", markup=False, soft_wrap=True)
        for t in result.tables:
            console.print(
                f"  {t.name:<11} {t.lines:>7,} lines {t.bytes:>10,} bytes  {t.source} {t.version}",
                markup=False,
                soft_wrap=True,
            )
