"""Each console command's output, byte for byte as the kernel prints it (docs/console.md;
kernel/console/cmd_hw.c, cmd_kb.c, commands.c).

One header line ``auton: <command> key=value ...``, text for people, then
``auton: end command=<first word> rc=N`` (0 found, 1 found nothing). Kept in this one module so
it can be checked against the kernel's host build (slm-run --console) and changed with it.
"""

from __future__ import annotations

import re

from tools.kb.modalias import pci_modalias
from tools.task.grammar import DEVICE_CLASSES, Command
from tools.task.index import KnowledgeIndex
from tools.task.machines import VIRTIO_TYPES, Device, Machine

TABLE_HEADER = "ADDRESS           BUS     ID         CLASS    DRIVER      NAME"
DRIVER_HEADER = "ADDRESS           DRIVER      ALIAS"
SEARCH_SHOWN = 20
SHOW_COMMANDS = 32
CLASSES = "all, network, storage, display, serial, input, rng, bridge, usb or other"
_UNSAFE = re.compile(r'["\x00-\x1f\x7f]')


def quoted(v: object) -> str:
    """A quoted header value: ``"`` and control characters as ``?``."""
    return '"' + _UNSAFE.sub("?", str(v)) + '"'


def value(v: object) -> str:
    """A header value: bare when it is one plain word, else quoted."""
    s = str(v)
    return s if s and not _UNSAFE.search(s) and " " not in s else quoted(s)


def header(name: str, /, **fields: object) -> str:
    return " ".join([f"auton: {name}", *(f"{k}={value(v)}" for k, v in fields.items())])


def column(cell: str, width: int) -> str:
    """A cell padded to ``width``, and at least two spaces after it (con_column)."""
    return cell + " " * max(width - len(cell), 2)


def _devices(cmd: Command, m: Machine) -> tuple[list[str], int]:
    cls = cmd.args[0] if cmd.args else "all"
    found = m.of_kind(cls)
    lines = [header("devices", **{"class": cls, "count": len(found)}), TABLE_HEADER]
    for d in found:
        cells = ((d.addr, 18), (d.bus, 8), (d.id, 11), (d.kind, 9), (d.driver or "-", 12))
        lines.append("".join(column(c, w) for c, w in cells) + d.name)
    return lines, 0


def _pci_lines(d: Device) -> list[str]:
    lines = [
        f"vendor:    {d.vendor:04x} {d.vendor_name or '?'}",
        f"device:    {d.device:04x} {d.device_name or '?'}",
    ]
    if d.header_type & 0x7F == 0:
        lines.append(f"subsystem: {d.subvendor:04x}:{d.subdevice:04x}")
    lines.append(f"class:     {d.class_code:06x} {d.class_name or '?'} ({d.kind})")
    for i, b in enumerate(d.bars):
        flags = (" 64-bit" if b.is64 else "") + (" prefetchable" if b.prefetch else "")
        lines.append(f"bar{i}:      {'io' if b.io else 'mem'} {b.base:#x} size {b.size:#x}{flags}")
    if d.virtio_id:
        transport = pci_modalias(d.vendor, d.device, d.subvendor, d.subdevice, d.class_code)
        lines.append(
            f"virtio:    device {d.virtio_id} ({VIRTIO_TYPES[d.virtio_id][0]}), transport {transport}"
        )
    return lines


def _device(cmd: Command, m: Machine) -> tuple[list[str], int]:
    d = m.device(cmd.args[0])
    if d is None:
        return [
            f"auton: device addr={quoted(cmd.args[0])} found=0",
            "no such device (type 'devices' for the list)",
        ], 1
    head = f"auton: device addr={d.addr} bus={d.bus} id={d.id} class={d.class_code:06x} kind={d.kind} driver={d.driver or '-'}"
    lines = [head, f"address:   {d.addr}"]
    if d.bus == "pci":
        lines += _pci_lines(d)
    else:
        if d.bus == "virtio":
            lines.append(
                f"virtio:    device {d.virtio_id} ({d.name}), version {d.virtio_version}, vendor 0x{d.virtio_vendor:08x}"
            )
        lines.append("compatible:" + "".join(f" {c}" for c in d.compatible))
        lines.append(f"reg:       {d.base:#x} size {d.size:#x}")
    lines.append(f"driver:    {d.driver or '-'}")
    if d.alias:
        lines.append(f"alias:     {d.alias}")
    lines.append(f"modalias:  {d.modalias}")
    return lines, 0


def _driver(cmd: Command, m: Machine) -> tuple[list[str], int]:
    target = cmd.args[0]
    is_class = target in DEVICE_CLASSES
    found = m.of_kind(target) if is_class else [d for d in m.devices if d.addr == target]
    lines = [f"auton: driver target={quoted(target)} count={len(found)}"]
    if not found:
        lines.append(
            "no device of that class" if is_class else "no such device or class (type 'devices' for the list)"
        )
    else:
        lines.append(DRIVER_HEADER)
    lines += [column(d.addr, 18) + column(d.driver or "-", 12) + (d.alias or "-") for d in found]
    return lines, 0 if found else 1


def _cpu(m: Machine) -> tuple[list[str], int]:
    c = m.cpu
    head = f"auton: cpu count={c.count} isa={quoted(c.isa)} model={quoted(c.model)} vendor={quoted(c.vendor)} timer_hz={c.timer_hz}"
    lines = [
        head,
        f"arch:      {m.arch.value}",
        f"count:     {c.count}",
        f"isa:       {c.isa or '-'}",
        f"model:     {c.model or '-'}",
        f"vendor:    {c.vendor or '-'}",
        f"timer:     {c.timer_hz} Hz",
    ]
    return lines + ([c.extra] if c.extra else []), 0


def mib(n: int) -> str:
    """Bytes in MiB with one truncated decimal, as the kernel prints them: ``128.0``."""
    return f"{n >> 20}.{(n & 0xFFFFF) * 10 >> 20}"


def _memory(m: Machine) -> tuple[list[str], int]:
    mem = m.memory
    fields = dict(
        total=mem.total, kernel=mem.kernel, model=mem.model, kb=mem.kb, arena=mem.arena, used=mem.used
    )
    fields["free"] = mem.free
    lines = [header("memory", **fields)]
    lines += [f"{k + ':':<8} {mib(v):>8} MiB" for k, v in fields.items()]
    lines += [f"bank {i}:   {base:#x}-{base + size - 1:#x}" for i, (base, size) in enumerate(mem.banks)]
    return lines, 0


def uptime_text(us: int) -> str:
    s = us // 1_000_000
    return f"up {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _model(m: Machine) -> tuple[list[str], int]:
    i = m.model
    head = (
        f"auton: model name={quoted(i.name)} params={i.params} quant={i.quant} tokenizer={i.tokenizer} "
        f"layers={i.layers} d_model={i.d_model} heads={i.heads} kv_heads={i.kv_heads} d_ff={i.d_ff} "
        f"context={i.context} vocab={i.vocab} bytes={i.bytes} sha256={i.sha256}"
    )
    lines = [
        head,
        f"name:       {i.name}",
        f"parameters: {i.params}",
        f"quant:      {i.quant}",
        f"tokenizer:  {i.tokenizer}",
        f"layers:     {i.layers} (d_model {i.d_model}, {i.heads} heads, {i.kv_heads} kv heads, d_ff {i.d_ff})",
        f"context:    {i.context} tokens",
        f"vocab:      {i.vocab}",
        f"bytes:      {i.bytes}",
        f"kv cache:   {i.kv_bytes} bytes",
        f"sha256:     {i.sha256}",
    ]
    return lines, 0


def _provides(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    pkgs = index.commands.get(name, [])
    head = f"auton: provides command={value(name)} count={len(pkgs)} packages={','.join(pkgs)}"
    if not pkgs:
        return [head, f"no package in the archive ships a command '{name}'"], 1
    return [head, f"{name}: {', '.join(pkgs)}"], 0


def _whatis(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    entries = index.whatis.get(name, [])
    lines = [f"auton: whatis command={value(name)} count={len(entries)}"]
    lines += [f"{name} ({e.section}) - {e.description}" for e in entries] or [f"{name}: nothing appropriate"]
    return lines, 0 if entries else 1


def _pkg_show(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    desc = index.packages.get(name)
    if desc is None:
        return [f"auton: pkg show name={value(name)} found=0", f"no package '{name}' in the archive index"], 1
    commands = index.shipped_by.get(name, [])
    listed = "".join(("," if i else "") + f" {c}" for i, c in enumerate(commands[:SHOW_COMMANDS]))
    if len(commands) > SHOW_COMMANDS:
        listed += f" ... ({len(commands)} in all)"
    lines = [f"Package: {name}", f"Description: {desc}", f"Commands:{listed or ' -'}"]
    return [f"auton: pkg show name={value(name)} found=1", *lines], 0


def _pkg_search(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    words = [w.lower() for w in cmd.args]
    hits = index.search(words)
    shown = hits[:SEARCH_SHOWN]
    lines = [f'auton: pkg search words="{" ".join(words)}" count={len(hits)} shown={len(shown)}']
    lines += [f"{n} - {index.packages[n]}" for n in shown]
    if not hits:
        lines.append("no package matches all the words")
    return lines, 0 if hits else 1


def render(cmd: Command, machine: Machine, index: KnowledgeIndex) -> str:
    """The console's output for ``cmd`` on ``machine`` ("" for ``none``, which runs nothing)."""
    i = cmd.intent
    if i == "none":
        return ""
    if i in ("devices", "device", "driver"):
        lines, rc = {"devices": _devices, "device": _device, "driver": _driver}[i](cmd, machine)
    elif i in ("cpu", "memory", "model"):
        lines, rc = {"cpu": _cpu, "memory": _memory, "model": _model}[i](machine)
    elif i == "uptime":
        lines, rc = [f"auton: uptime us={machine.uptime_us}", uptime_text(machine.uptime_us)], 0
    else:
        fn = {"provides": _provides, "whatis": _whatis, "pkg_show": _pkg_show, "pkg_search": _pkg_search}[i]
        lines, rc = fn(cmd, index)
    return "\n".join([*lines, f"auton: end command={cmd.text.split(' ')[0]} rc={rc}"]) + "\n"
