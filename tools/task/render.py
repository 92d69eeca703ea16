"""Each console command's output, byte for byte as the kernel prints it (docs/console.md).

One header line ``auton: <command> key=value ...``, text for people, then
``auton: end command=<first word> rc=N`` (0 found, 1 found nothing). Everything here follows
docs/console.md where it shows the text (the device table's columns, ``device`` of a PCI
device, ``provides``, ``whatis``, ``uptime``); where it shows only the header, the text is
this module's choice, kept in this one place so it can be checked byte for byte against the
kernel's host build (slm-run) and changed together with it.
"""

from __future__ import annotations

import re

from tools.task.grammar import Command
from tools.task.hardware import pci_tables
from tools.task.index import KnowledgeIndex
from tools.task.machines import MIB, Device, Machine

TABLE_COLUMNS = (("ADDRESS", 18), ("BUS", 8), ("ID", 11), ("CLASS", 9), ("DRIVER", 12), ("NAME", 0))
DRIVER_COLUMNS = (("ADDRESS", 18), ("DRIVER", 12), ("ALIAS", 0))
KEY_WIDTH = 11  # "subsystem: "
SEARCH_SHOWN = 20
_UNSAFE = re.compile(r'["\x00-\x1f\x7f]')


def value(v: object) -> str:
    """A header field's value: quoted when it holds a space, ``"`` and control characters as ``?``."""
    s = _UNSAFE.sub("?", str(v))
    return f'"{s}"' if (" " in s or not s) else s


def header(name: str, /, **fields: object) -> str:
    return " ".join([f"auton: {name}", *(f"{k}={value(v)}" for k, v in fields.items())])


def columns(cells: list[str], widths: tuple[tuple[str, int], ...]) -> str:
    """Cells padded to their column width, at least two spaces apart; the last is not padded."""
    out = []
    for cell, (_, width) in zip(cells[:-1], widths[:-1], strict=True):
        out.append(cell.ljust(width) if len(cell) <= width - 2 else cell + "  ")
    return "".join(out) + cells[-1]


def keyed(pairs: list[tuple[str, object]]) -> list[str]:
    return [f"{(k + ':').ljust(KEY_WIDTH - 1)} {v}" for k, v in pairs]


def _devices(cmd: Command, m: Machine) -> tuple[list[str], int]:
    cls = cmd.args[0] if cmd.args else "all"
    found = m.of_kind(cls)
    lines = [header("devices", **{"class": cls, "count": len(found)})]
    if found:
        lines.append(columns([name for name, _ in TABLE_COLUMNS], TABLE_COLUMNS))
        lines += [columns([d.addr, d.bus, d.id, d.kind, d.driver, d.name], TABLE_COLUMNS) for d in found]
    return lines, 0 if found else 1


def class_name(class_code: str) -> str:
    names = pci_tables().classes
    return names.get(class_code[:4]) or names.get(class_code[:2]) or "Unknown class"


def _device_lines(d: Device) -> list[str]:
    if d.bus == "pci":
        vendor, dev = d.id.split(":")
        pairs: list[tuple[str, object]] = [
            ("address", d.addr),
            ("vendor", f"{vendor} {d.vendor_name or 'Unknown vendor'}"),
            ("device", f"{dev} {d.device_name or 'Unknown device'}"),
            ("subsystem", d.subsystem),
            ("class", f"{d.class_code} {class_name(d.class_code)} ({d.kind})"),
        ]
    elif d.bus == "virtio":
        vendor, dev = d.id.split(":")
        pairs = [("address", d.addr), ("vendor", f"{vendor} Virtio"), ("device", f"{dev} {d.device_name}")]
        pairs.append(("class", d.kind))
    else:
        pairs = [("address", d.addr), ("compatible", " ".join(d.compatible)), ("class", d.kind)]
    pairs += [("driver", d.driver), ("alias", d.alias or "-"), ("modalias", d.modalias)]
    pairs.append(("bar0" if d.bus == "pci" else "reg", d.reg))
    return keyed(pairs)


def _device(cmd: Command, m: Machine) -> tuple[list[str], int]:
    d = m.device(cmd.args[0])
    if d is None:
        return [header("device", addr=cmd.args[0], found=0), f"no device at {cmd.args[0]}"], 1
    head = header("device", addr=d.addr, bus=d.bus, id=d.id, **{"class": d.class_code}, kind=d.kind, driver=d.driver)
    return [head, *_device_lines(d)], 0


def _driver(cmd: Command, m: Machine) -> tuple[list[str], int]:
    target = cmd.args[0]
    found = m.of_kind(target) if "@" not in target and ":" not in target else [d for d in m.devices if d.addr == target]
    lines = [header("driver", target=target, count=len(found))]
    if found:
        lines.append(columns([name for name, _ in DRIVER_COLUMNS], DRIVER_COLUMNS))
        lines += [columns([d.addr, d.driver, d.alias or "-"], DRIVER_COLUMNS) for d in found]
    return lines, 0 if found else 1


def _cpu(m: Machine) -> tuple[list[str], int]:
    c = m.cpu
    head = header("cpu", count=c.count, isa=c.isa, model=c.model, vendor=c.vendor, timer_hz=c.timer_hz)
    pairs = [("cpus", c.count), ("isa", c.isa), ("model", c.model), ("vendor", c.vendor), ("timer", f"{c.timer_hz} Hz")]
    return [head, *keyed(pairs)], 0


def mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


def _memory(m: Machine) -> tuple[list[str], int]:
    mem = m.memory
    fields = dict(total=mem.total, kernel=mem.kernel, model=mem.model, kb=mem.kb, arena=mem.arena, used=mem.used)
    fields["free"] = mem.free
    return [header("memory", **fields), *keyed([(k, mib(v)) for k, v in fields.items()])], 0


def uptime_text(us: int) -> str:
    s = us // 1_000_000
    return f"up {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _model(m: Machine) -> tuple[list[str], int]:
    fields = m.model.model_dump()
    return [header("model", **fields), *keyed(list(fields.items()))], 0


def _provides(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    pkgs = index.commands.get(name, [])
    head = header("provides", command=name, count=len(pkgs), packages=",".join(pkgs) or "-")
    return [head, f"{name}: {', '.join(pkgs)}" if pkgs else f"{name}: no package ships it"], 0 if pkgs else 1


def _whatis(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    entries = index.whatis.get(name, [])
    lines = [header("whatis", command=name, count=len(entries))]
    lines += [f"{name} ({e.section}) - {e.description}" for e in entries] or [f"{name}: nothing appropriate."]
    return lines, 0 if entries else 1


def _pkg_show(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    name = cmd.args[0]
    desc = index.packages.get(name)
    if desc is None:
        return [header("pkg show", name=name, found=0), f"Package {name} not found"], 1
    commands = index.shipped_by.get(name, [])
    lines = [f"Package: {name}", f"Description: {desc}", f"Commands: {', '.join(commands) or '-'}"]
    return [header("pkg show", name=name, found=1), *lines], 0


def _pkg_search(cmd: Command, index: KnowledgeIndex) -> tuple[list[str], int]:
    words = list(cmd.args)
    hits = index.search(words)
    shown = hits[:SEARCH_SHOWN]
    lines = [header("pkg search", words=" ".join(words), count=len(hits), shown=len(shown))]
    lines += [f"{n} - {index.packages[n]}" for n in shown]
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
        lines, rc = [header("uptime", us=machine.uptime_us), uptime_text(machine.uptime_us)], 0
    else:
        fn = {"provides": _provides, "whatis": _whatis, "pkg_show": _pkg_show, "pkg_search": _pkg_search}[i]
        lines, rc = fn(cmd, index)
    return "\n".join([*lines, f"auton: end command={cmd.text.split(' ')[0]} rc={rc}"]) + "\n"
