"""``auton-slm kernel build --arch A --model M [--kb KB]`` and
``auton-slm kernel boot --arch A [--prompt P] [--qemu ARGS] [--ram MB]``; ``kernel task`` is
graph/cli/kernel_task.py's."""

from __future__ import annotations

import shlex
import subprocess
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from graph.cli._output import JsonFlag, console, emit_json
from tools.errors import CheckFailed, InputError
from tools.progress import rich_progress
from tools.tiers import Arch

if TYPE_CHECKING:
    from tools.kernel import BootResult
    from tools.kernel_console import Answer, CommandResult


E = TypeVar("E", bound=Enum)
ARCH_HELP = "Target architecture: " + ", ".join(a.value for a in Arch) + "."


def enum_option(kind: type[E], option: str, value: str) -> E:
    """``value`` as a member of ``kind``, or a one-line InputError naming the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise InputError(f"{option} must be one of {choices}, not {value!r}") from None


def _arch(value: str) -> Arch:
    return enum_option(Arch, "--arch", value)


def register(app: typer.Typer) -> None:
    kernel_app = typer.Typer(
        help="Build the AUTON kernel with a GGUF model linked in, and boot it under QEMU.",
        no_args_is_help=True,
    )
    app.add_typer(kernel_app, name="kernel")
    from graph.cli.kernel_task import add_task_command  # it reads this module's arch option

    add_task_command(kernel_app)

    @kernel_app.command("build")
    def build_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        model: Path = typer.Option(..., "--model", help="GGUF file to embed."),
        kb: Path | None = typer.Option(
            None, "--kb", help="Knowledge blob to link in (auton-slm kb build writes kb.txt)."
        ),
        out: Path | None = typer.Option(None, "--out", help="Image directory (default kernel/build/<arch>)."),
        jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Parallel make jobs."),
        json_out: JsonFlag = False,
    ) -> None:
        """Copy the GGUF into the kernel workspace and build the bootable image."""
        from tools.kernel import KernelBuildRequest, build

        with rich_progress(transient=True) as progress:
            result = build(
                KernelBuildRequest(arch=_arch(arch), model=model, kb=kb, out=out, jobs=jobs), progress
            )
        if json_out:
            emit_json(result)
            return
        console.print(
            f"{result.image}  {result.image_bytes:,} bytes  ({arch}, {result.seconds:.1f} s)\n"
            f"model {result.model.path}  {result.model.bytes:,} bytes  sha256 {result.model.sha256}"
            + (f"\nkb {result.kb.path}  {result.kb.bytes:,} bytes" if result.kb else ""),
            markup=False,
            soft_wrap=True,
        )

    @kernel_app.command("boot")
    def boot_cmd(
        arch: str = typer.Option(..., "--arch", help=ARCH_HELP),
        image: Path | None = typer.Option(
            None, "--image", help="Kernel image (default kernel/build/<arch>/kernel.img)."
        ),
        prompt: list[str] = typer.Option(
            [],
            "--prompt",
            "-p",
            help="A line for the console, repeatable: a question, or a console command (devices, cpu, "
            "provides dig, ...; docs/console.md).",
        ),
        qemu: str = typer.Option(
            "", "--qemu", help='More QEMU arguments, e.g. "-device e1000,netdev=n0 -netdev user,id=n0".'
        ),
        default_devices: bool = typer.Option(
            True, "--default-devices/--no-default-devices", help="Give the machine its NIC, disk and RNG."
        ),
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
        """Boot the kernel headless under QEMU, send each --prompt to its serial console, power off.

        Exits 1 when the kernel fails (malformed model, CPU exception, timeout); the boot log
        keeps the whole console transcript."""
        from tools.kernel import KernelBootRequest, boot, boot_command, decode_exit

        target = _arch(arch)
        try:
            qemu_args = shlex.split(qemu)
        except ValueError as e:
            raise InputError(f"--qemu: {e}") from None
        req = KernelBootRequest(
            arch=target,
            image=image,
            prompts=prompt,
            devices=None if default_devices else [],
            qemu_args=qemu_args,
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
    if result.kb and result.inventory:
        k = result.kb
        console.print(
            f"tables {k.bytes:,} bytes ({k.pci_devices:,} PCI devices, {k.aliases:,} driver aliases, "
            f"{k.packages:,} packages, {k.commands:,} commands); {result.inventory.devices} devices found",
            markup=False,
            soft_wrap=True,
        )
    for reply in result.replies():
        _print_reply(reply)
    console.print(f"exit code {result.exit_code}; boot log {result.log}", markup=False, soft_wrap=True)


RC_MEANING = {1: "found nothing", 2: "bad argument"}


def _print_reply(reply: Answer | CommandResult) -> None:
    """A model answer with its timings, or a command's text as the kernel printed it for people."""
    from tools.kernel_console import CommandResult

    if isinstance(reply, CommandResult):
        console.print(f"> {reply.prompt}\n{reply.text}".rstrip("\n"), markup=False, soft_wrap=True)
        if reply.error:
            console.print(f"  error: {reply.error}", markup=False, soft_wrap=True)
        if reply.rc:
            console.print(
                f"  ({reply.command}: rc {reply.rc}, {RC_MEANING.get(reply.rc, '?')})", markup=False
            )
        return
    console.print(f"> {reply.prompt}\n{reply.text}", markup=False, soft_wrap=True)
    if reply.error:
        console.print(f"  error: {reply.error}", markup=False, soft_wrap=True)
    else:
        console.print(
            f"  ({reply.tokens} tokens, prefill {reply.prefill_us / 1000:.1f} ms, {reply.tokens_per_s:.1f} tok/s)",
            markup=False,
            soft_wrap=True,
        )
