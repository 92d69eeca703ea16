"""Build the AUTON kernel with a GGUF model linked in, and boot it under QEMU.

``build(KernelBuildRequest) -> KernelBuildResult`` runs ``make -C kernel ARCH=... MODEL=... OUT=...``:
the Makefile copies the GGUF into the kernel workspace (``<out>/model.gguf``) and links it into
``<out>/kernel.img``. The directory (default ``kernel/build/<arch>/``) gets ``build.log`` and
``manifest.json`` (kind ``kernel``: the model as input, the image, ELF and workspace copy as
outputs, the compiler and the model's tier as parameters).

With ``kb`` (a knowledge blob from tools.kb.build) the Makefile links the tables in too
(``KB=<file>``) and the manifest records their size.

``boot(KernelBootRequest) -> BootResult`` starts ``qemu-system-<arch>`` headless with the image,
``-m`` from the request, the model's tier or 128 MiB, the arch's default device set
(``DEFAULT_DEVICES``: a NIC, a disk, an RNG; virtio-mmio and one PCIe device on the
device-tree machines) or the request's, plus any extra QEMU arguments; waits for the kernel's
prompt, sends each prompt as one line on the serial console, collects the answers (text, token
ids, timings) and the console commands' typed results (tools.kernel_console), powers the machine off and checks that QEMU's exit status agrees with the exit code the kernel
printed. The whole transcript (and QEMU's stderr) goes to the boot log, by default
``<image dir>/boot.log``. A kernel that fails (malformed model, CPU exception, timeout) gives a
result with ``ok=False`` and ``error`` set; only bad input (no image, no QEMU) raises.

Exit codes (kernel/include/kernel.h): 0 poweroff, 1 model failed to load, 2 no usable memory map,
3 CPU exception. QEMU reports them as they are on riscv64 (sifive_test) and aarch64
(semihosting), and as ``2 * code + 1`` on x86_64 (isa-debug-exit).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import selectors
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from tools.artifacts import REPO_ROOT, FileRef, atomic_write_text, read_json, sha256_file, write_manifest
from tools.errors import CheckFailed, InputError
from tools.kernel_console import (
    ANSWER_END,
    COMMAND_END,
    EXIT,
    LINE_END,
    READY,
    Answer,
    ArenaFacts,
    BootFacts,
    CommandResult,
    InventoryFacts,
    KbFacts,
    ModelFacts,
    SamplerFacts,
    console_text,
    fatal_error,
    parse_answer,
    parse_banner,
    parse_command,
)
from tools.progress import ProgressFn, null_progress
from tools.tiers import TIERS, Arch, TierName

KERNEL_DIR = REPO_ROOT / "kernel"
DEFAULT_RAM_MB = TIERS[TierName.tiny].ram_max_mb
EXIT_CODES = {0: "poweroff", 1: "model failed to load", 2: "no usable memory map", 3: "CPU exception"}

# Per arch: the cross compiler prefix (kernel/Makefile's CROSS), its Debian package, the QEMU
# binary, its Debian package, and the machine arguments.
CROSS = {
    Arch.riscv64: ("riscv64-linux-gnu-", "gcc-riscv64-linux-gnu"),
    Arch.aarch64: ("aarch64-linux-gnu-", "gcc-aarch64-linux-gnu"),
    Arch.x86_64: ("x86_64-linux-gnu-", "gcc (gcc-x86-64-linux-gnu on other hosts)"),
}
QEMU = {
    Arch.riscv64: ("qemu-system-riscv64", "qemu-system-misc", ["-machine", "virt", "-bios", "default"]),
    Arch.aarch64: (
        "qemu-system-aarch64",
        "qemu-system-arm",
        ["-machine", "virt", "-cpu", "cortex-a76", "-semihosting-config", "enable=on,target=native"],
    ),
    Arch.x86_64: (
        "qemu-system-x86_64",
        "qemu-system-x86",
        ["-machine", "pc", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
    ),
}
# What `make run`, the Integrator and `kernel boot` give each machine unless told otherwise: a
# NIC (user networking, restricted: no way out), a 64 MiB null disk and an RNG. The device-tree
# machines mix virtio-mmio devices with one PCIe device.
_NET = ["-netdev", "user,id=net0,restrict=on"]
_DISK = ["-blockdev", "null-co,node-name=disk0,size=67108864"]
DEFAULT_DEVICES: dict[Arch, list[str]] = {
    Arch.riscv64: [
        *_NET,
        "-device", "virtio-net-pci,netdev=net0,id=nic0",
        *_DISK,
        "-device", "virtio-blk-device,drive=disk0,id=blk0",
        "-device", "virtio-rng-device,id=rng0",
    ],
    Arch.aarch64: [
        *_NET,
        "-device", "e1000,netdev=net0,id=nic0",
        *_DISK,
        "-device", "virtio-blk-device,drive=disk0,id=blk0",
        "-device", "virtio-rng-device,id=rng0",
    ],
    Arch.x86_64: [
        *_NET,
        "-device", "e1000,netdev=net0,id=nic0",
        *_DISK,
        "-device", "virtio-blk-pci,drive=disk0,id=blk0",
        "-device", "virtio-rng-pci,id=rng0",
    ],
}  # fmt: skip


class KernelBuildRequest(BaseModel):
    arch: Arch
    model: Path = Field(description="GGUF file to embed (the kernel validates it at boot)")
    kb: Path | None = Field(None, description="knowledge blob to link in (tools.kb.build's kb.txt)")
    out: Path | None = Field(None, description="image directory; default kernel/build/<arch>")
    jobs: int = Field(2, ge=1, description="parallel make jobs")
    timeout_s: float = Field(900, gt=0)


class KernelBuildResult(BaseModel):
    arch: Arch
    out: Path = Field(
        description="image directory: kernel.img, kernel.elf, model.gguf, build.log, manifest.json"
    )
    image: Path = Field(
        description="what QEMU's -kernel takes (ELF on riscv64/aarch64, multiboot binary on x86_64)"
    )
    image_bytes: int
    image_sha256: str
    elf: Path = Field(description="the same kernel with symbols, for gdb")
    model: FileRef = Field(description="the workspace copy of the GGUF that is linked in")
    kb: FileRef | None = Field(None, description="the knowledge blob linked in")
    tier: str | None = Field(None, description="the model's tier, from deploy.json beside the GGUF")
    compiler: str = Field(description="first line of the cross compiler's --version")
    build_log: Path
    seconds: float


class KernelBootRequest(BaseModel):
    arch: Arch
    image: Path | None = Field(None, description="kernel image; default kernel/build/<arch>/kernel.img")
    prompts: list[str] = Field(
        default_factory=list, description="questions and console commands, one line each"
    )
    devices: list[str] | None = Field(
        None, description="QEMU device arguments; None: the arch's DEFAULT_DEVICES, []: none"
    )
    qemu_args: list[str] = Field(default_factory=list, description="more QEMU arguments, after the devices")
    ram_mb: int | None = Field(None, ge=4, description="-m; default the model's tier RAM, else 128")
    smp: int = Field(1, ge=1, le=8, description="-smp: cores (the kernel runs the model on all of them)")
    max_tokens: int = Field(64, ge=1, le=1 << 20)
    temperature: float = Field(0.0, ge=0, le=100, description="0 = greedy")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = Field(0, ge=0)
    isa: str | None = Field(
        None,
        pattern=r"^[a-z0-9]{1,16}$",
        description="the runtime's block-kernel path (isa=NAME); None: the fastest, timed at boot",
    )
    timeout_s: float = Field(300, gt=0, description="for the whole boot, all prompts included")
    log: Path | None = Field(None, description="boot log; default <image dir>/boot.log")


class BootResult(BaseModel):
    arch: Arch
    image: Path
    ram_mb: int
    command: list[str] = Field(description="the QEMU command line")
    prompts: list[str] = Field(default_factory=list, description="the lines sent, in order")
    ok: bool = Field(description="booted, loaded the model, answered every prompt, powered off with code 0")
    boot: BootFacts | None = None
    model: ModelFacts | None = None
    arena: ArenaFacts | None = None
    sampler: SamplerFacts | None = None
    kb: KbFacts | None = Field(None, description="the knowledge tables, as the kernel found them")
    inventory: InventoryFacts | None = None
    answers: list[Answer] = Field(default_factory=list, description="the model's answers to the questions")
    commands: list[CommandResult] = Field(
        default_factory=list, description="the console commands among the prompts, parsed"
    )
    exit_code: int | None = Field(None, description="the kernel's exit code (its 'auton: exit code=N' line)")
    qemu_status: int | None = Field(None, description="QEMU's own exit status (None: killed at the timeout)")
    error: str | None = Field(None, description="why ok is False, one line")
    timed_out: bool = False
    ready_s: float | None = Field(None, description="seconds from QEMU start to the kernel's first prompt")
    seconds: float
    log: Path

    def replies(self) -> list[Answer | CommandResult]:
        """The answers and command results in the order their prompts were sent (a line the
        kernel ran as a command is in ``commands``, with its prompt)."""
        answers, commands, out = iter(self.answers), list(self.commands), []
        for prompt in self.prompts:
            reply = (
                commands.pop(0) if commands and commands[0].prompt == prompt.strip() else next(answers, None)
            )
            if reply is None:
                break
            out.append(reply)
        return out


def _kernel_dir_ok() -> None:
    if not (KERNEL_DIR / "Makefile").is_file():
        raise InputError(f"{KERNEL_DIR}/Makefile: no such file (is this an auton-slm checkout?)")


def compiler_version(arch: Arch) -> str:
    prefix, package = CROSS[arch]
    cc = f"{prefix}gcc"
    if shutil.which(cc) is None:
        raise InputError(
            f"{cc} not found: install the Debian package {package} (make bootstrap does, as root)"
        )
    out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.splitlines()[0] if out else cc


def _model_tier(model: Path) -> str | None:
    deploy = model.parent / "deploy.json"
    if not deploy.is_file():
        return None
    tier = read_json(deploy).get("tier")
    return tier if isinstance(tier, str) else None


@contextlib.contextmanager
def _objects_lock(arch: Arch) -> Iterator[None]:
    """Serialize builds of one arch: every image directory shares its objects (build/obj/<arch>)."""
    lock = KERNEL_DIR / "build" / "obj" / f".{arch.value}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def build(req: KernelBuildRequest, progress: ProgressFn | None = None) -> KernelBuildResult:
    progress = progress or null_progress
    _kernel_dir_ok()
    if shutil.which("make") is None:
        raise InputError("make not found: install the Debian package make")
    model = req.model.resolve()
    if not model.is_file():
        raise InputError(f"{req.model}: no such model file")
    kb = req.kb.resolve() if req.kb else None
    if kb is not None and not kb.is_file():
        raise InputError(f"{req.kb}: no such knowledge blob (auton-slm kb build makes one)")
    compiler = compiler_version(req.arch)
    out = (req.out or KERNEL_DIR / "build" / req.arch.value).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "build.log"
    cmd = [
        "make",
        "-C",
        str(KERNEL_DIR),
        f"-j{req.jobs}",
        f"ARCH={req.arch.value}",
        f"MODEL={model}",
        f"OUT={out}",
        *([f"KB={kb}"] if kb else []),
    ]
    progress("kernel build", 0, 1, arch=req.arch.value)
    start = time.monotonic()
    try:
        with _objects_lock(req.arch):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=req.timeout_s)
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"kernel build for {req.arch.value} took over {req.timeout_s:.0f} s") from None
    atomic_write_text(log, f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        lines = (
            [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
            or proc.stderr.splitlines()
            or ["?"]
        )
        raise CheckFailed(f"kernel build for {req.arch.value} failed: {lines[0].strip()} (log: {log})")
    seconds = time.monotonic() - start
    image, elf, workspace = out / "kernel.img", out / "kernel.elf", out / "model.gguf"
    tier = _model_tier(model)
    kb_ref = FileRef.of(kb) if kb else None
    write_manifest(
        out,
        "kernel",
        inputs=[FileRef.of(model), *([kb_ref] if kb_ref else [])],
        parameters={"arch": req.arch.value, "compiler": compiler, "tier": tier},
        metrics={
            "image_bytes": image.stat().st_size,
            "kb_bytes": kb_ref.bytes if kb_ref else 0,
            "build_seconds": round(seconds, 2),
        },
    )
    progress("kernel build", 1, 1, arch=req.arch.value)
    return KernelBuildResult(
        arch=req.arch,
        out=out,
        image=image,
        image_bytes=image.stat().st_size,
        image_sha256=sha256_file(image),
        elf=elf,
        model=FileRef.of(workspace),
        kb=kb_ref,
        tier=tier,
        compiler=compiler,
        build_log=log,
        seconds=seconds,
    )


def qemu_command(
    arch: Arch, image: Path, ram_mb: int, append: str, extra: list[str] | None = None, smp: int = 1
) -> list[str]:
    """The headless QEMU command line: serial console on stdio, no reboot, no devices but the
    machine's own and ``extra``; ``smp`` cores, one host thread each (MTTCG)."""
    binary, package, machine = QEMU[arch]
    if shutil.which(binary) is None:
        raise InputError(
            f"{binary} not found: install the Debian package {package} (make bootstrap does, as root)"
        )
    return [
        binary,
        *machine,
        "-m",
        f"{ram_mb}M",
        "-smp",
        str(smp),
        *(["-accel", "tcg,thread=multi"] if smp > 1 else []),
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-kernel",
        str(image),
        "-append",
        append,
        *(extra or []),
    ]


def decode_exit(arch: Arch, status: int) -> int | None:
    """The kernel's exit code from QEMU's exit status (None if the status cannot carry one)."""
    if arch is Arch.x86_64:
        return (status - 1) // 2 if status % 2 == 1 else None
    return status


def _ram_mb(req: KernelBootRequest, image: Path) -> int:
    if req.ram_mb is not None:
        return req.ram_mb
    manifest = image.parent / "manifest.json"
    tier = read_json(manifest).get("parameters", {}).get("tier") if manifest.is_file() else None
    return TIERS[TierName(tier)].ram_max_mb if tier in {t.value for t in TierName} else DEFAULT_RAM_MB


class _Console:
    """QEMU's serial console: everything read so far, and waits for patterns in it."""

    def __init__(self, proc: subprocess.Popen[bytes], deadline: float):
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self.deadline, self.buf, self.eof = proc, deadline, bytearray(), False
        os.set_blocking(proc.stdout.fileno(), False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)

    def wait(self, *patterns: re.Pattern[bytes], start: int = 0) -> tuple[int | None, re.Match[bytes] | None]:
        """The first pattern that matches after ``start``: (index, match), or (None, None) at the
        deadline or once QEMU has closed its output."""
        while True:
            for i, p in enumerate(patterns):
                if m := p.search(self.buf, start):
                    return i, m
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or self.eof:
                return None, None
            if self.sel.select(min(remaining, 0.5)):
                chunk = self.proc.stdout.read()  # type: ignore[union-attr]
                if chunk == b"":
                    self.eof = True
                elif chunk:
                    self.buf += chunk

    def send(self, line: str) -> None:
        try:
            self.proc.stdin.write(line.encode() + b"\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except BrokenPipeError:
            self.eof = True


class _Transcript(BaseModel):
    """What one QEMU run produced."""

    raw: bytes
    stderr: str
    status: int | None
    answers: list[Answer]
    commands: list[CommandResult]
    replies: int = Field(description="prompts that got a whole reply")
    ready_s: float | None
    timed_out: bool


def _converse(
    cmd: list[str], prompts: list[str], timeout_s: float, progress: ProgressFn, arch: str
) -> _Transcript:
    """Run QEMU: wait for the kernel's prompt, send each line (a question or a console command),
    power off, collect everything."""
    total = len(prompts) + 2  # ready, each prompt, poweroff
    answers: list[Answer] = []
    commands: list[CommandResult] = []
    replies = 0
    ready_s: float | None = None
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        con = _Console(proc, start + timeout_s)
        try:
            which, m = con.wait(READY, EXIT)
            if which == 0 and m is not None:
                ready_s = time.monotonic() - start
                progress("kernel boot", 1, total, arch=arch)
                cursor = m.end()
                for prompt in prompts:
                    sent = time.monotonic()
                    con.send(prompt)
                    _, echo = con.wait(LINE_END, start=cursor)
                    which, end = con.wait(ANSWER_END, COMMAND_END, EXIT, start=echo.end() if echo else cursor)
                    if which not in (0, 1) or echo is None or end is None:
                        break
                    segment = bytes(con.buf[echo.end() : end.start()])
                    fields: dict = {}
                    if which == 0:
                        answers.append(parse_answer(prompt.strip(), segment, end))
                        fields = {"tok_s": answers[-1].tokens_per_s}
                    else:
                        commands.append(parse_command(prompt.strip(), segment, end))
                        fields = {"command": commands[-1].command, "rc": commands[-1].rc}
                    (answers[-1] if which == 0 else commands[-1]).seconds = time.monotonic() - sent
                    replies += 1
                    cursor = end.end()
                    progress("kernel boot", 1 + replies, total, arch=arch, **fields)
                else:
                    con.send("poweroff")
            con.wait(EXIT)
            timed_out = time.monotonic() >= con.deadline
            status = _finish(proc, timed_out)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()  # type: ignore[union-attr]
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    progress("kernel boot", total, total, arch=arch)
    return _Transcript(
        raw=bytes(con.buf),
        stderr=stderr,
        status=status,
        answers=answers,
        commands=commands,
        replies=replies,
        ready_s=ready_s,
        timed_out=timed_out,
    )


def _finish(proc: subprocess.Popen[bytes], timed_out: bool) -> int | None:
    """QEMU's exit status once the kernel has said its last word (None if it had to be killed)."""
    if not timed_out:
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()
    return None


def _verdict(
    req: KernelBootRequest,
    t: _Transcript,
    text: str,
    exit_code: int | None,
    sampler: SamplerFacts | None,
    image_bytes: int,
    ram_mb: int,
) -> str | None:
    """Why the boot is not ok, in one line; None when it is."""
    if t.timed_out:
        return f"timed out after {req.timeout_s:.0f} s"
    if exit_code is None:
        why = t.stderr.strip().splitlines()[:1]
        if not why and image_bytes >= ram_mb << 20:  # x86's multiboot loader truncates it silently
            why = [
                f"the kernel image ({image_bytes / (1 << 20):.1f} MiB) does not fit in {ram_mb} MiB of RAM"
            ]
        return f"QEMU ended (status {t.status}) without the kernel's exit line" + (
            f": {why[0]}" if why else ""
        )
    if t.status is None or decode_exit(req.arch, t.status) != exit_code:
        return f"QEMU exit status {t.status} does not carry the kernel's exit code {exit_code}"
    if exit_code != 0:
        return f"kernel exit code {exit_code} ({EXIT_CODES.get(exit_code, '?')}): {fatal_error(text) or '?'}"
    if failed := next((a for a in t.answers if a.error), None):
        return f"generation failed: {failed.error}"
    if t.replies != len(req.prompts):
        return "not every prompt was answered"
    if sampler is None or (sampler.max_tokens, sampler.seed) != (req.max_tokens, req.seed):
        return "the kernel did not apply the requested sampler settings (see the boot log)"
    return None


def _check_prompts(prompts: list[str]) -> None:
    for p in prompts:
        if "\n" in p or "\r" in p:
            raise InputError("a prompt must be one line (no newline characters)")
        if not p.strip():
            raise InputError("a prompt must not be empty")
        if p.split()[0] == "poweroff":
            raise InputError("'poweroff' ends the boot: kernel boot sends it after the last prompt")
        if len(p.encode()) > 1000:
            raise InputError("a prompt must be at most 1000 bytes (the kernel's line buffer)")


def boot_command(req: KernelBootRequest) -> tuple[list[str], Path, int]:
    """The QEMU command line for ``req``, the image it boots and the RAM it gives (MiB)."""
    image = (req.image or KERNEL_DIR / "build" / req.arch.value / "kernel.img").resolve()
    if not image.is_file():
        raise InputError(
            f"{image}: no such kernel image (run `auton-slm kernel build --arch {req.arch.value}` first)"
        )
    ram_mb = _ram_mb(req, image)
    append = f"max_tokens={req.max_tokens} temperature={req.temperature:g} top_p={req.top_p:g} seed={req.seed} ids=1"
    if req.isa:
        append += f" isa={req.isa}"
    devices = DEFAULT_DEVICES[req.arch] if req.devices is None else req.devices
    return qemu_command(req.arch, image, ram_mb, append, [*devices, *req.qemu_args], req.smp), image, ram_mb


def boot(req: KernelBootRequest, progress: ProgressFn | None = None) -> BootResult:
    progress = progress or null_progress
    _check_prompts(req.prompts)
    cmd, image, ram_mb = boot_command(req)
    log = (req.log or image.parent / "boot.log").resolve()
    start = time.monotonic()
    progress("kernel boot", 0, len(req.prompts) + 2, arch=req.arch.value)
    t = _converse(cmd, req.prompts, req.timeout_s, progress, req.arch.value)
    text = console_text(t.raw)
    atomic_write_text(log, f"$ {' '.join(cmd)}\n{text}\n--- qemu stderr (status {t.status}) ---\n{t.stderr}")
    banner = parse_banner(text)
    exits = EXIT.findall(t.raw)
    exit_code = int(exits[-1]) if exits else None
    error = _verdict(req, t, text, exit_code, banner.sampler, image.stat().st_size, ram_mb)
    return BootResult(
        arch=req.arch,
        image=image,
        ram_mb=ram_mb,
        command=cmd,
        prompts=req.prompts,
        ok=error is None,
        boot=banner.boot,
        model=banner.model,
        arena=banner.arena,
        sampler=banner.sampler,
        kb=banner.kb,
        inventory=banner.inventory,
        answers=t.answers,
        commands=t.commands,
        exit_code=exit_code,
        qemu_status=t.status,
        error=error,
        timed_out=t.timed_out,
        ready_s=t.ready_s,
        seconds=time.monotonic() - start,
        log=log,
    )
