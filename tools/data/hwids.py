"""The pci.ids and usb.ids hardware databases as a source of documents and facts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from tools.artifacts import FileRef
from tools.data.clean import decode
from tools.data.sources import MAX_ANSWER, Fact, Item, RawDoc, Skipped, Source, read_bytes, seeded_order
from tools.errors import InputError

_IDS_VENDOR = re.compile(r"^([0-9a-f]{4})\s+(.+)$")
_IDS_DEVICE = re.compile(r"^\t([0-9a-f]{4})\s+(.+)$")
_IDS_SUB = re.compile(r"^\t\t([0-9a-f]{4})\s+([0-9a-f]{4})\s+(.+)$")
_IDS_CLASS = re.compile(r"^C ([0-9a-f]{2})\s+(.+)$")
_IDS_SUBCLASS = re.compile(r"^\t([0-9a-f]{2})\s+(.+)$")
_IDS_PROGIF = re.compile(r"^\t\t([0-9a-f]{2})\s+(.+)$")

IdsKind = Literal["vendor", "device", "subsystem", "class", "subclass", "progif", "other"]


class IdsRecord(NamedTuple):
    """One line of a pci.ids / usb.ids file: ids are the hex fields that name it, outer first
    (device: vendor, device; subsystem: subvendor, subdevice; progif: class, subclass, prog-if).
    ``other`` is a top-level line of a section this parser does not read (usb.ids HID, languages)."""

    kind: IdsKind
    ids: tuple[str, ...]
    name: str


def ids_records(text: str) -> Iterator[IdsRecord]:
    """The vendors, devices, subsystems and classes of an ids file, in file order."""
    vendor = cls = sub = None
    in_classes = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if m := _IDS_CLASS.match(line):
            in_classes, cls, sub, vendor = True, m.group(1), None, None
            yield IdsRecord("class", (cls,), m.group(2))
            continue
        if in_classes:
            if (m := _IDS_SUBCLASS.match(line)) and cls:
                sub = m.group(1)
                yield IdsRecord("subclass", (cls, sub), m.group(2))
            elif (m := _IDS_PROGIF.match(line)) and cls and sub:
                yield IdsRecord("progif", (cls, sub, m.group(1)), m.group(2))
            if line.startswith("\t"):
                continue
            in_classes, cls, sub = False, None, None  # another section, or vendors again
        if m := _IDS_VENDOR.match(line):
            vendor = m.group(1)
            yield IdsRecord("vendor", (vendor,), m.group(2))
        elif (m := _IDS_DEVICE.match(line)) and vendor:
            yield IdsRecord("device", (vendor, m.group(1)), m.group(2))
        elif (m := _IDS_SUB.match(line)) and vendor:
            yield IdsRecord("subsystem", (m.group(1), m.group(2)), m.group(3))
        elif not line.startswith("\t"):
            vendor = None
            yield IdsRecord("other", (), line)


def read_ids(path: Path) -> tuple[str | None, str | None, FileRef]:
    """An ids file's text (old copies hold a few Latin-1 names: read as Latin-1 rather than
    lost), the reason when it is not text, and its reference."""
    raw, ref = read_bytes(path)
    text, reason = decode(raw)
    if text is None and reason == "non_utf8":
        text = raw.decode("latin-1")
    return text, None if text is not None else reason or "binary", ref


@dataclass
class _Block:
    lines: list[str] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(x) + 1 for x in self.lines)


class IdsSource(Source):
    """The pci.ids / usb.ids hardware databases, rendered as short statements per vendor.

    Small vendors are grouped and large ones split so that documents are a few KB each.
    Facts: vendor and device names by id, and device class names.
    """

    def __init__(self, name: str, bus: str, path: Path, detail: str = ""):
        super().__init__(name, detail)
        self.bus = bus
        self.path = path

    def check(self) -> None:
        if not self.path.is_file():
            raise InputError(
                f"source {self.name}: {self.path} not found (install the {self.path.name} package)"
            )

    def _blocks(self, text: str) -> list[_Block]:
        bus, kind = self.bus, self.bus.lower()
        blocks: list[_Block] = []
        cur = _Block()
        vendor = vendor_name = None
        in_classes = False

        def flush() -> None:
            nonlocal cur
            if cur.lines:
                blocks.append(cur)
            cur = _Block()

        for rec in ids_records(text):
            if rec.kind == "class" and not in_classes:
                flush()
            in_classes = rec.kind in ("class", "subclass", "progif")
            if rec.kind == "class":
                cls = rec.ids[0]
                cur.lines.append(f"{bus} device class {cls}: {rec.name}")
                cur.facts.append(Fact(f"{kind}_class", {"id": cls}, rec.name, str(self.path)))
            elif rec.kind == "subclass":
                cur.lines.append(f"{bus} device class {''.join(rec.ids)}: {rec.name}")
            elif rec.kind == "vendor":
                if cur.size > 2000:
                    flush()
                vendor, vendor_name = rec.ids[0], rec.name
                cur.lines.append(f"{bus} vendor {vendor}: {vendor_name}")
                cur.facts.append(Fact(f"{kind}_vendor", {"id": vendor}, vendor_name, str(self.path)))
            elif rec.kind == "device":
                if cur.size > 4000:
                    flush()
                    cur.lines.append(f"{bus} vendor {vendor}: {vendor_name}")
                dev, name = rec.ids[1], rec.name
                cur.lines.append(f"{bus} device {vendor}:{dev}: {name} (from {vendor_name})")
                if len(name) <= MAX_ANSWER:
                    cur.facts.append(Fact(f"{kind}_device", {"id": f"{vendor}:{dev}"}, name, str(self.path)))
            elif rec.kind == "subsystem":
                cur.lines.append(f"  subsystem {rec.ids[0]}:{rec.ids[1]}: {rec.name}")
        flush()
        return blocks

    def items(self, seed: int) -> Iterator[Item]:
        text, reason, ref = read_ids(self.path)
        if text is None:
            yield Skipped(self.name, str(self.path), reason or "binary", (ref,))
            return
        blocks = {f"{self.path}#{i}": b for i, b in enumerate(self._blocks(text))}
        for i, key in enumerate(seeded_order(blocks, seed)):
            b = blocks[key]
            yield RawDoc(self.name, key, "\n".join(b.lines), "text", tuple(b.facts), (ref,) if i == 0 else ())
