"""The AUTON kernel's serial console protocol, parsed (kernel/main.c is the other side).

Machine-readable lines start with ``auton: `` and carry ``key=value`` fields::

    auton: boot arch=riscv64 machine="QEMU virt, OpenSBI, S-mode" ram_start=0x80000000 ram_bytes=N image_bytes=N
    auton: model name="micro" params=N quant=Q8_0 tokenizer=gpt2 layers=N d_model=N heads=N kv_heads=N
           d_ff=N context=N vocab=N bytes=N sha256=HEX
    auton: arena bytes=N used=N peak=N kv_bytes=N
    auton: sampler max_tokens=N temperature=F top_p=F seed=N ids=0|1
    auton: ready ...
    > the prompt, echoed
    the answer text (a chat-tuned model: auton: command C, C's output, auton: answer TEXT)
    auton: stats prompt_tokens=N tokens=N eos=0|1 prefill_us=N decode_us=N tok_s=F arena_peak=N
    auton: ids N N N ...
    > poweroff
    auton: exit code=N

A generation error replaces the stats line with ``auton: error: message``; a fatal error prints
``auton: error: message`` and then the exit line.

A line whose first word is a console command (docs/console.md) gets the command's header line
``auton: <command> key=value ...`` (or ``auton: error: ...`` for a bad argument), text for people,
and the closing line ``auton: end command=<command> rc=N``; :func:`parse_command` turns it into a
:class:`CommandResult` whose ``result`` is the command's typed facts (DevicesResult, CpuFacts, ...). The kernel writes ``\\r\\n`` for every ``\\n``
(terminals want it); :func:`console_text` undoes that exactly.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field

FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
READY = re.compile(rb"auton: ready[^\n]*\n> ")
LINE_END = re.compile(rb"\n")
EXIT = re.compile(rb"auton: exit code=(-?\d+)")
# The end of one answer: its stats (or error) line, the ids line, and the next prompt.
ANSWER_END = re.compile(rb"\nauton: (stats|error:) ?([^\n]*?)\r?\n(?:auton: ids([^\n]*?)\r?\n)?> ")
FATAL = re.compile(r"^auton: error: (.*)$", re.M)
# The end of a console command's output: its closing line and the next prompt.
COMMAND_END = re.compile(rb"\nauton: end command=(\S+) rc=(-?\d+)\r?\n> ")


def console_text(raw: bytes) -> str:
    """Serial bytes as text: the kernel's CR LF back to LF, invalid UTF-8 replaced."""
    return raw.replace(b"\r\n", b"\n").decode("utf-8", errors="replace")


def fields(text: str, kind: str) -> dict[str, str]:
    """The key=value fields of the first ``auton: <kind> ...`` line ({} if there is none)."""
    m = re.search(rf"^auton: {kind} (.*)$", text, re.M)
    if not m:
        return {}
    return line_fields(m.group(1))


def line_fields(rest: str) -> dict[str, str]:
    """The key=value fields of one line (quotes taken off)."""
    return {k: v.strip('"') for k, v in FIELD.findall(rest)}


class BootFacts(BaseModel):
    """The ``auton: boot`` line: what the firmware gave the kernel."""

    arch: str
    machine: str
    ram_start: int = Field(description="physical address of the RAM region holding the image")
    ram_bytes: int = Field(description="size of that region, as the DTB / multiboot map reports it")
    image_bytes: int = Field(description="kernel image in memory, model and .bss included")


class ModelFacts(BaseModel):
    """The ``auton: model`` line: the embedded GGUF as the runtime loaded it."""

    name: str
    params: int
    quant: str = Field(description="dominant weight type: F32, F16, Q8_0, Q4_0")
    tokenizer: str = Field(description="gpt2 (byte-level BPE) or llama (SentencePiece)")
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    d_ff: int
    context: int
    vocab: int
    bytes: int = Field(description="size of the embedded GGUF file")
    sha256: str = Field(description="sha256 of the embedded GGUF, computed at build time")


class ArenaFacts(BaseModel):
    """The ``auton: arena`` line: the runtime's memory, carved from RAM after the image."""

    bytes: int = Field(description="arena size: RAM region end minus image end")
    used: int = Field(description="bytes the loaded model holds (fixed after load)")
    peak: int = Field(description="high-water mark, including temporary load-time buffers")
    kv_bytes: int = Field(description="KV cache share of `used`")


class SamplerFacts(BaseModel):
    """The ``auton: sampler`` line: the settings the kernel actually applied."""

    max_tokens: int
    temperature: float
    top_p: float
    seed: int
    ids: int


class Answer(BaseModel):
    """One prompt and the kernel's answer to it."""

    prompt: str
    text: str = Field(description="the generated text, byte for byte as the kernel printed it")
    token_ids: list[int] = Field(default_factory=list, description="generated token ids, in order")
    prompt_tokens: int = 0
    tokens: int = Field(0, description="generated tokens, a final end-of-generation token included")
    stopped_at_eos: bool = False
    prefill_us: int = 0
    decode_us: int = 0
    tokens_per_s: float = Field(0.0, description="decode speed: tokens - 1 forward passes over decode_us")
    arena_peak: int = 0
    error: str | None = Field(None, description="the runtime's message when generation failed")
    command: str | None = Field(
        None,
        description="a request's command, as the model chose it (`auton: command`; 'none' for a refusal)",
    )
    answer: str | None = Field(None, description="a request's one-sentence answer (`auton: answer`)")
    seconds: float = Field(0.0, description="host seconds from sending the line to the end of the reply")


_REQUEST_LINE = re.compile(r"^auton: (command|answer) (.*)$", re.M)


def parse_answer(prompt: str, segment: bytes, end: re.Match[bytes]) -> Answer:
    """An answer from the bytes after the echoed prompt line up to ``end`` (an ANSWER_END match)."""
    text = segment[:-1] if segment.endswith(b"\r") else segment  # the newline the kernel adds
    kind, rest = end.group(1).decode(), console_text(end.group(2))
    request = dict(reversed(_REQUEST_LINE.findall(console_text(text))))  # the first of each
    said = {"command": request.get("command"), "answer": request.get("answer")}
    if kind == "error:":
        return Answer(prompt=prompt, text=console_text(text), error=rest.strip(), **said)
    f = {k: v for k, v in FIELD.findall(rest)}
    ids = [int(t) for t in (end.group(3) or b"").split()]
    return Answer(
        prompt=prompt,
        text=console_text(text),
        **said,
        token_ids=ids,
        prompt_tokens=int(f["prompt_tokens"]),
        tokens=int(f["tokens"]),
        stopped_at_eos=f["eos"] == "1",
        prefill_us=int(f["prefill_us"]),
        decode_us=int(f["decode_us"]),
        tokens_per_s=float(f["tok_s"]),
        arena_peak=int(f["arena_peak"]),
    )


class KbFacts(BaseModel):
    """The ``auton: kb`` line: the knowledge tables linked into the image (tools.kb)."""

    bytes: int
    pci_vendors: int = 0
    pci_devices: int = 0
    pci_classes: int = 0
    aliases: int = 0
    packages: int = 0
    commands: int = 0
    whatis: int = 0


class InventoryFacts(BaseModel):
    """The ``auton: inventory`` line: devices found at boot."""

    devices: int
    truncated: bool


class Banner(BaseModel):
    """The boot banner's facts; each is None when its line is missing (the boot failed before it)."""

    boot: BootFacts | None = None
    model: ModelFacts | None = None
    arena: ArenaFacts | None = None
    kb: KbFacts | None = None
    inventory: InventoryFacts | None = None
    sampler: SamplerFacts | None = None


def parse_banner(text: str) -> Banner:
    def build(model: type[BaseModel], kind: str) -> BaseModel | None:
        f = fields(text, kind)
        if not f:
            return None
        if "ram_start" in f:
            f["ram_start"] = str(int(f["ram_start"], 16))
        return model.model_validate(f)

    return Banner(
        boot=build(BootFacts, "boot"),
        model=build(ModelFacts, "model"),
        arena=build(ArenaFacts, "arena"),
        kb=build(KbFacts, "kb"),
        inventory=build(InventoryFacts, "inventory"),
        sampler=build(SamplerFacts, "sampler"),
    )


def fatal_error(text: str) -> str | None:
    """The last ``auton: error:`` message of a transcript, if any."""
    found = FATAL.findall(text)
    return found[-1].strip() if found else None


# --- console commands (docs/console.md) ---------------------------------------------------------

COMMANDS = frozenset(
    "devices device driver cpu memory uptime model provides whatis pkg help set poweroff".split()
)
_COLUMNS = re.compile(r"\s{2,}")
_KEY_VALUE = re.compile(r"^([\w ]+?):\s+(.*)$")


def is_command(line: str) -> bool:
    """Whether the kernel takes ``line`` as a console command (its first word names one)."""
    words = line.split()
    return bool(words) and words[0] in COMMANDS


def _key_values(lines: list[str]) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for ln in lines if (m := _KEY_VALUE.match(ln))}


def _table(lines: list[str], first: str, columns: int) -> list[list[str]]:
    """The rows of a column table whose heading starts with ``first`` (the last column may hold
    spaces)."""
    start = next((i for i, ln in enumerate(lines) if ln.startswith(first)), None)
    if start is None:
        return []
    rows = []
    for ln in lines[start + 1 :]:
        cells = _COLUMNS.split(ln.rstrip(), maxsplit=columns - 1)
        if len(cells) == columns:
            rows.append(cells)
    return rows


def _none(value: str) -> str | None:
    return None if value in ("", "-") else value


class DeviceRow(BaseModel):
    """One row of the device table."""

    address: str = Field(description="BB:DD.F, virtio@<base>, or the device-tree node name")
    bus: Literal["pci", "virtio", "dt"]
    vendor: int | None = Field(None, description="PCI vendor id, or 0x1af4 for virtio")
    device: int | None = Field(None, description="PCI device id, or the virtio device id")
    kind: str = Field(description="network, storage, display, serial, input, rng, bridge, usb, other")
    driver: str | None = Field(None, description="the module Linux would bind (None: no alias matched)")
    name: str


class DevicesResult(BaseModel):
    type: Literal["devices"] = "devices"
    kind: str = Field(description="the class asked for (all, network, ...)")
    count: int
    rows: list[DeviceRow]
    truncated: bool = Field(False, description="the kernel's device table was full")


class DeviceDetail(BaseModel):
    type: Literal["device"] = "device"
    found: bool
    addr: str
    bus: str | None = None
    vendor: int | None = None
    device: int | None = None
    class_code: int | None = Field(None, description="24-bit class/subclass/prog-if")
    kind: str | None = None
    driver: str | None = None
    details: dict[str, str] = Field(default_factory=dict, description="the `key: value` lines")


class DriverRow(BaseModel):
    address: str
    driver: str | None
    alias: str | None = Field(description="the modalias pattern that matched")


class DriverResult(BaseModel):
    type: Literal["driver"] = "driver"
    target: str
    count: int
    rows: list[DriverRow]


class CpuFacts(BaseModel):
    type: Literal["cpu"] = "cpu"
    count: int
    isa: str
    model: str
    vendor: str
    timer_hz: int
    details: dict[str, str] = Field(default_factory=dict)


class MemoryFacts(BaseModel):
    type: Literal["memory"] = "memory"
    total: int = Field(description="RAM the firmware reports")
    kernel: int = Field(description="the image less the model and the tables")
    model: int
    kb: int = Field(description="the knowledge tables")
    arena: int
    used: int = Field(description="arena bytes the loaded model holds")
    free: int
    banks: list[tuple[int, int]] = Field(default_factory=list, description="(first, last) address")


class UptimeFacts(BaseModel):
    type: Literal["uptime"] = "uptime"
    us: int


class ModelCommand(BaseModel):
    type: Literal["model"] = "model"
    model: ModelFacts


class SetResult(BaseModel):
    type: Literal["set"] = "set"
    sampler: SamplerFacts


class ProvidesResult(BaseModel):
    type: Literal["provides"] = "provides"
    command: str
    count: int
    packages: list[str]


class WhatisEntry(BaseModel):
    name: str
    section: str
    description: str


class WhatisResult(BaseModel):
    type: Literal["whatis"] = "whatis"
    command: str
    count: int
    entries: list[WhatisEntry]


class PkgShowResult(BaseModel):
    type: Literal["pkg show"] = "pkg show"
    name: str
    found: bool
    description: str | None = None
    commands: list[str] = Field(default_factory=list)
    details: dict[str, str] = Field(default_factory=dict)


class PkgRow(BaseModel):
    name: str
    description: str


class PkgSearchResult(BaseModel):
    type: Literal["pkg search"] = "pkg search"
    words: str
    count: int
    shown: int
    rows: list[PkgRow]


class HelpResult(BaseModel):
    type: Literal["help"] = "help"
    commands: list[str] = Field(description="the usage lines help lists")


CommandFacts = Annotated[
    DevicesResult
    | DeviceDetail
    | DriverResult
    | CpuFacts
    | MemoryFacts
    | UptimeFacts
    | ModelCommand
    | SetResult
    | ProvidesResult
    | WhatisResult
    | PkgShowResult
    | PkgSearchResult
    | HelpResult,
    Field(discriminator="type"),
]


class CommandResult(BaseModel):
    """One console command typed on the serial console and what the kernel printed for it."""

    prompt: str = Field(description="the line as typed")
    command: str = Field(description="the command named in the closing line")
    rc: int = Field(description="0 success, 1 found nothing, 2 bad argument")
    header: dict[str, str] = Field(default_factory=dict, description="the header line's fields")
    text: str = Field(description="the lines for people (header, error and closing line left out)")
    error: str | None = Field(None, description="the kernel's one-line message for a bad argument")
    result: CommandFacts | None = Field(None, description="the typed facts (None after an error)")
    seconds: float = Field(0.0, description="host seconds from sending the line to the end of the reply")


def _hex(value: str | None) -> int | None:
    return int(value, 16) if value and value != "-" else None


def _ids(value: str | None) -> tuple[int | None, int | None]:
    vendor, _, device = (value or "-").partition(":")
    return _hex(vendor), _hex(device)


def _facts(kind: str, h: dict[str, str], lines: list[str]) -> BaseModel | None:
    if kind == "devices":
        rows = []
        for address, bus, ident, cls, driver, name in _table(lines, "ADDRESS", 6):
            vendor, device = _ids(ident)
            rows.append(
                DeviceRow(
                    address=address,
                    bus=bus,  # type: ignore[arg-type]
                    vendor=vendor,
                    device=device,
                    kind=cls,
                    driver=_none(driver),
                    name=name,
                )
            )
        truncated = any(ln.startswith("(the table is full") for ln in lines)
        return DevicesResult(kind=h["class"], count=int(h["count"]), rows=rows, truncated=truncated)
    if kind == "device":
        vendor, device = _ids(h.get("id"))
        return DeviceDetail(
            found=h.get("found") != "0",
            addr=h["addr"],
            bus=h.get("bus"),
            vendor=vendor,
            device=device,
            class_code=_hex(h.get("class")),
            kind=h.get("kind"),
            driver=_none(h.get("driver", "")),
            details=_key_values(lines),
        )
    if kind == "driver":
        rows = [
            DriverRow(address=a, driver=_none(d), alias=_none(al)) for a, d, al in _table(lines, "ADDRESS", 3)
        ]
        return DriverResult(target=h["target"], count=int(h["count"]), rows=rows)
    if kind == "cpu":
        return CpuFacts.model_validate({**h, "details": _key_values(lines)})
    if kind == "memory":
        banks = [
            (int(m.group(1), 16), int(m.group(2), 16))
            for ln in lines
            if (m := re.match(r"^bank \d+:\s+0x([0-9a-f]+)-0x([0-9a-f]+)", ln))
        ]
        return MemoryFacts.model_validate({**h, "banks": banks})
    if kind == "uptime":
        return UptimeFacts(us=int(h["us"]))
    if kind == "model":
        return ModelCommand(model=ModelFacts.model_validate(h))
    if kind == "sampler":
        return SetResult(sampler=SamplerFacts.model_validate(h))
    if kind == "provides":
        packages = [p for p in h.get("packages", "").split(",") if p]
        return ProvidesResult(command=h["command"], count=int(h["count"]), packages=packages)
    if kind == "whatis":
        entries = [
            WhatisEntry(name=m.group(1), section=m.group(2), description=m.group(3))
            for ln in lines
            if (m := re.match(r"^(\S+) \((\w+)\)\s+- (.*)$", ln))
        ]
        return WhatisResult(command=h["command"], count=int(h["count"]), entries=entries)
    if kind == "pkg show":
        kv = _key_values(lines)
        cmds = [c for c in re.split(r"[,\s]+", kv.get("Commands", "")) if c and c != "-"]
        return PkgShowResult(
            name=h["name"],
            found=h["found"] == "1",
            description=kv.get("Description"),
            commands=cmds,
            details=kv,
        )
    if kind == "pkg search":
        rows = [
            PkgRow(name=m.group(1), description=m.group(2))
            for ln in lines
            if (m := re.match(r"^(\S+) - (.*)$", ln))
        ]
        return PkgSearchResult(words=h["words"], count=int(h["count"]), shown=int(h["shown"]), rows=rows)
    if kind == "help":
        return HelpResult(commands=[ln.strip() for ln in lines if ln.startswith("  ")])
    return None


_HEADER = re.compile(r"^auton: ((?:pkg )?\w+)(?: (.*))?$")


def parse_command(prompt: str, segment: bytes, end: re.Match[bytes]) -> CommandResult:
    """A command's result from the bytes after the echoed line up to ``end`` (a COMMAND_END match)."""
    lines = console_text(segment.removesuffix(b"\r")).split("\n")
    command, rc = end.group(1).decode(errors="replace"), int(end.group(2))
    error = header = None
    body = []
    for ln in lines:
        if error is None and ln.startswith("auton: error: "):
            error = ln.removeprefix("auton: error: ").strip()
        elif header is None and error is None and (m := _HEADER.match(ln)):
            header = (m.group(1), line_fields(m.group(2) or ""))
        else:
            body.append(ln)
    text = "\n".join(body).strip("\n")
    if header is None:
        return CommandResult(prompt=prompt, command=command, rc=rc, text=text, error=error)
    try:
        facts = _facts(header[0], header[1], body)
    except (KeyError, ValueError) as e:  # a line the contract does not describe: keep the text
        facts, error = None, error or f"unparsed {header[0]} output ({e.__class__.__name__}: {e})"
    return CommandResult(
        prompt=prompt, command=command, rc=rc, header=header[1], text=text, error=error, result=facts
    )
