"""The machine a booted AUTON kernel discovered, as a task Machine: ``machine_from_console``.

A probe boot types ``devices``, ``device <addr>`` for every device, ``cpu``, ``memory``, ``model``
and ``uptime``; their parsed replies (tools.kernel_console) become a tools.task.machines.Machine,
so tools.task.render prints what the kernel printed and tools.task.answers gives the facts of
the real machine. Device names are the kernel's own (``Device.label``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from tools.errors import CheckFailed
from tools.kernel_console import (
    CommandResult,
    CpuFacts,
    DeviceDetail,
    DeviceRow,
    DevicesResult,
    MemoryFacts,
    ModelCommand,
    UptimeFacts,
)
from tools.task.answers import answer
from tools.task.grammar import Command
from tools.task.index import KnowledgeIndex
from tools.task.machines import VIRTIO_VENDOR, Bar, Cpu, Device, Machine, Memory, ModelInfo
from tools.tiers import Arch

_NAMED = re.compile(r"^[0-9a-f]+ (.*)$")  # "1b36 Red Hat, Inc."
_CLASS = re.compile(r"^[0-9a-f]{6} (.*) \(\w+\)$")  # "060000 Host bridge (bridge)"
_BAR = re.compile(r"^(io|mem) (0x[0-9a-f]+) size (0x[0-9a-f]+)( 64-bit)?( prefetchable)?$")
_VIRTIO = re.compile(r"^device (\d+) \([^)]*\)(?:, version (\d+), vendor (0x[0-9a-f]+))?")
_REG = re.compile(r"^(0x[0-9a-f]+) size (0x[0-9a-f]+)$")
_KV = re.compile(r"^kv cache:\s+(\d+) bytes$", re.M)
_UPTIME = re.compile(r"^auton: uptime us=(\d+)$", re.M)


def _named(value: str | None) -> str | None:
    m = _NAMED.match(value or "")
    return m.group(1) if m and m.group(1) != "?" else None


def _device(row: DeviceRow, detail: DeviceDetail | None) -> Device:
    """One device from its row of the table and, when probed, its ``device <addr>`` lines."""
    kv = detail.details if detail else {}
    d = Device(
        addr=row.address,
        bus=row.bus,
        kind=row.kind,
        vendor=row.vendor or 0,
        device=row.device or 0,
        class_code=(detail.class_code or 0) if detail else 0,
        driver=row.driver,
        alias=kv.get("alias"),
        modalias=kv.get("modalias", ""),
        label=row.name,
    )
    if sub := kv.get("subsystem"):
        d.subvendor, d.subdevice = (int(x, 16) for x in sub.split(":"))
    elif row.bus == "pci":
        d.header_type = 1  # the kernel prints a subsystem for header type 0 only
    d.vendor_name, d.device_name = _named(kv.get("vendor")), _named(kv.get("device"))
    if m := _CLASS.match(kv.get("class", "")):
        d.class_name = None if m.group(1) == "?" else m.group(1)
    d.bars = [
        Bar(io=m.group(1) == "io", base=int(m.group(2), 16), size=int(m.group(3), 16), is64=bool(m.group(4)),
            prefetch=bool(m.group(5)))
        for key in sorted((k for k in kv if re.fullmatch(r"bar\d+", k)), key=lambda k: int(k[3:]))
        if (m := _BAR.match(kv[key]))
    ]  # fmt: skip
    if m := _VIRTIO.match(kv.get("virtio", "")):
        d.virtio_id = int(m.group(1))
        if m.group(2):  # virtio-mmio: the transport's own version and vendor
            d.virtio_version, d.virtio_vendor = int(m.group(2)), int(m.group(3), 16)
        else:
            d.virtio_vendor = d.subvendor if d.vendor == VIRTIO_VENDOR else 0
    d.compatible = tuple(kv.get("compatible", "").split())
    if m := _REG.match(kv.get("reg", "")):
        d.base, d.size = int(m.group(1), 16), int(m.group(2), 16)
    return d


def _extra(text: str) -> str:
    """The cpu command's arch-specific lines: those after ``timer:``."""
    lines = text.split("\n")
    start = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("timer:")), len(lines))
    return "\n".join(lines[start:])


T = TypeVar("T")


def _reply(probe: Sequence[CommandResult], kind: type[T], what: str) -> tuple[CommandResult, T]:
    for c in probe:
        if isinstance(c.result, kind) and getattr(c.result, "kind", "all") == "all":
            return c, c.result
    raise CheckFailed(f"the probe boot has no parsed `{what}` reply")


def machine_from_console(arch: Arch, probe: Sequence[CommandResult]) -> Machine:
    """The Machine behind a probe boot's command replies (BootResult.commands): the ``devices``
    table, the ``device <addr>`` details, ``cpu``, ``memory``, ``model`` and ``uptime``."""
    _, table = _reply(probe, DevicesResult, "devices")
    details = {
        c.result.addr: c.result for c in probe if isinstance(c.result, DeviceDetail) and c.result.found
    }
    cpu_reply, cpu = _reply(probe, CpuFacts, "cpu")
    _, mem = _reply(probe, MemoryFacts, "memory")
    model_reply, model = _reply(probe, ModelCommand, "model")
    _, up = _reply(probe, UptimeFacts, "uptime")
    kv = _KV.search(model_reply.text)
    return Machine(
        id=f"{Arch(arch).value}-live",
        arch=arch,
        split="test",
        devices=[_device(row, details.get(row.address)) for row in table.rows],
        cpu=Cpu(**cpu.model_dump(include=set(Cpu.model_fields)), extra=_extra(cpu_reply.text)),
        memory=Memory(
            **mem.model_dump(include=set(Memory.model_fields) - {"banks"}),
            banks=[(first, last - first + 1) for first, last in mem.banks],
        ),
        uptime_us=up.us,
        model=ModelInfo(**model.model.model_dump(), kv_bytes=int(kv.group(1)) if kv else 0),
    )


def facts(cmd: Command, machine: Machine, index: KnowledgeIndex, output: str) -> list[str]:
    """The facts ``cmd``'s answer must hold on ``machine``; uptime's from the exchange's own
    ``output`` (the clock moved on since the probe), when it printed one."""
    if cmd.intent == "uptime" and (m := _UPTIME.search(output)):
        machine = machine.model_copy(update={"uptime_us": int(m.group(1))})
    return answer(cmd, machine, index)[1]
