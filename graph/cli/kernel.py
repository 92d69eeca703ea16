"""``auton-slm kernel build --arch A --model M`` and ``auton-slm kernel boot --arch A [--prompt P] [--ram MB]``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from graph.cli._output import JsonFlag, console, emit_json
from tools.errors import CheckFailed, InputError
from tools.progress import rich_progress
from tools.tiers import Arch

if TYPE_CHECKING:
    from tools.kernel import BootResult


ARCH_HELP = "Target architecture: " + ", ".join(a.value for a in Arch) + "."


def _arch(value: str) -> Arch:
    try:
        return Arch(value)
    except ValueError:
        raise InputError(f"--arch must be one of {', '.join(a.value for a in Arch)}, not {value!r}") from None


def register(app: typer.Typer) -> None:
    kernel_app = typer.Typer(
        help="Build the AUTON kernel with a GGUF model linked in, and boot it under QEMU.",
        no_args_is_help=True,
    )
    app.add_typer(kernel_app, name="kernel")

    @kernel_app.command("build")
    def build_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        model: Path = typer.Option(..., "--model", help="GGUF file to embed."),
        out: Path | None = typer.Option(None, "--out", help="Image directory (default kernel/build/<arch>)."),
        jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Parallel make jobs."),
        json_out: JsonFlag = False,
    ) -> None:
        """Copy the GGUF into the kernel workspace and build the bootable image."""
        from tools.kernel import KernelBuildRequest, build

        with rich_progress(transient=True) as progress:
            result = build(KernelBuildRequest(arch=_arch(arch), model=model, out=out, jobs=jobs), progress)
        if json_out:
            emit_json(result)
            return
        console.print(
            f"{result.image}  {result.image_bytes:,} bytes  ({arch}, {result.seconds:.1f} s)\n"
            f"model {result.model.path}  {result.model.bytes:,} bytes  sha256 {result.model.sha256}",
            markup=False,
            soft_wrap=True,
        )

    @kernel_app.command("boot")
    def boot_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        image: Path | None = typer.Option(
            None, "--image", help="Kernel image (default kernel/build/<arch>/kernel.img)."
        ),
        prompt: list[str] = typer.Option([], "--prompt", "-p", help="A question for the model (repeatable)."),
        ram: int | None = typer.Option(
            None, "--ram", help="RAM in MiB (default: the model's tier, else 128)."
        ),
        max_tokens: int = typer.Option(64, "--max-tokens", "-n", help="Tokens to generate per answer."),
        temperature: float = typer.Option(0.0, "--temp", help="Sampling temperature (0 = greedy)."),
        top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling threshold."),
        seed: int = typer.Option(0, "--seed", help="Sampler seed."),
        timeout: float = typer.Option(300, "--timeout", help="Seconds for the whole boot."),
        interactive: bool = typer.Option(
            False, "--interactive", "-i", help="Attach QEMU's serial console to this terminal (Ctrl-C quits)."
        ),
        json_out: JsonFlag = False,
    ) -> None:
        """Boot the kernel headless under QEMU, ask each --prompt on its serial console, power off.

        Exits 1 when the kernel fails (malformed model, CPU exception, timeout); the boot log
        keeps the whole console transcript."""
        from tools.kernel import KernelBootRequest, boot, boot_command, decode_exit

        target = _arch(arch)
        req = KernelBootRequest(
            arch=target,
            image=image,
            prompts=prompt,
            ram_mb=ram,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            timeout_s=timeout,
        )
        if interactive:
            cmd, _, _ = boot_command(req)
            status = subprocess.call(cmd)
            code = decode_exit(target, status)
            if code != 0:
                raise CheckFailed(f"the kernel ended with exit code {code} (QEMU status {status})")
            return
        with rich_progress(transient=True) as progress:
            result = boot(req, progress)
        if json_out:
            emit_json(result)
        else:
            _print_boot(result)
        if not result.ok:
            raise CheckFailed(f"kernel boot on {arch} failed: {result.error} (log: {result.log})")


def _print_boot(result: BootResult) -> None:
    if result.boot:
        b = result.boot
        console.print(
            f"{b.arch} on {b.machine}, {result.ram_mb} MiB RAM, image {b.image_bytes:,} bytes", markup=False
        )
    if result.model and result.arena:
        m, a = result.model, result.arena
        console.print(
            f"model {m.name or '?'}: {m.params:,} params {m.quant}, {m.layers} layers, d_model {m.d_model}, "
            f"context {m.context}; arena {a.used:,} of {a.bytes:,} bytes used",
            markup=False,
            soft_wrap=True,
        )
    for ans in result.answers:
        console.print(f"> {ans.prompt}\n{ans.text}", markup=False, soft_wrap=True)
        if ans.error:
            console.print(f"  error: {ans.error}", markup=False, soft_wrap=True)
        else:
            console.print(
                f"  ({ans.tokens} tokens, prefill {ans.prefill_us / 1000:.1f} ms, {ans.tokens_per_s:.1f} tok/s)",
                markup=False,
                soft_wrap=True,
            )
    console.print(f"exit code {result.exit_code}; boot log {result.log}", markup=False, soft_wrap=True)
