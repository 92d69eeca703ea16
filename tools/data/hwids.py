"""The pci.ids and usb.ids hardware databases as a source of documents and facts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.data.clean import decode
from tools.data.sources import MAX_ANSWER, Fact, Item, RawDoc, Skipped, Source, read_bytes, seeded_order
from tools.errors import InputError

_IDS_VENDOR = re.compile(r"^([0-9a-f]{4})\s+(.+)$")
_IDS_DEVICE = re.compile(r"^\t([0-9a-f]{4})\s+(.+)$")
_IDS_SUB = re.compile(r"^\t\t([0-9a-f]{4})\s+([0-9a-f]{4})\s+(.+)$")
_IDS_CLASS = re.compile(r"^C ([0-9a-f]{2})\s+(.+)$")
_IDS_SUBCLASS = re.compile(r"^\t([0-9a-f]{2})\s+(.+)$")


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
        vendor = vendor_name = cls = None
        in_classes = False

        def flush() -> None:
            nonlocal cur
            if cur.lines:
                blocks.append(cur)
            cur = _Block()

        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            if m := _IDS_CLASS.match(line):
                if not in_classes:
                    flush()
                in_classes, cls = True, m.group(1)
                cur.lines.append(f"{bus} device class {cls}: {m.group(2)}")
                cur.facts.append(Fact(f"{kind}_class", {"id": cls}, m.group(2), str(self.path)))
                continue
            if in_classes:
                if (m := _IDS_SUBCLASS.match(line)) and cls:
                    cur.lines.append(f"{bus} device class {cls}{m.group(1)}: {m.group(2)}")
                    continue
                if not line.startswith("\t"):
                    in_classes = False  # another section (usb.ids has several) or vendors again
                    cls = None
                else:
                    continue
            if m := _IDS_VENDOR.match(line):
                if cur.size > 2000:
                    flush()
                vendor, vendor_name = m.group(1), m.group(2)
                cur.lines.append(f"{bus} vendor {vendor}: {vendor_name}")
                cur.facts.append(Fact(f"{kind}_vendor", {"id": vendor}, vendor_name, str(self.path)))
            elif (m := _IDS_DEVICE.match(line)) and vendor:
                if cur.size > 4000:
                    flush()
                    cur.lines.append(f"{bus} vendor {vendor}: {vendor_name}")
                dev, name = m.group(1), m.group(2)
                cur.lines.append(f"{bus} device {vendor}:{dev}: {name} (from {vendor_name})")
                if len(name) <= MAX_ANSWER:
                    cur.facts.append(Fact(f"{kind}_device", {"id": f"{vendor}:{dev}"}, name, str(self.path)))
            elif (m := _IDS_SUB.match(line)) and vendor:
                cur.lines.append(f"  subsystem {m.group(1)}:{m.group(2)}: {m.group(3)}")
            elif not line.startswith("\t"):
                vendor = None  # a section this source does not render (usb.ids HID, language ids)
        flush()
        return blocks

    def items(self, seed: int) -> Iterator[Item]:
        raw, ref = read_bytes(self.path)
        text, reason = decode(raw)
        if text is None:
            # pci.ids has a few Latin-1 names in old copies; take it as Latin-1 rather than lose it
            text = raw.decode("latin-1") if reason == "non_utf8" else None
        if text is None:
            yield Skipped(self.name, str(self.path), reason or "binary", (ref,))
            return
        blocks = {f"{self.path}#{i}": b for i, b in enumerate(self._blocks(text))}
        for i, key in enumerate(seeded_order(blocks, seed)):
            b = blocks[key]
            yield RawDoc(self.name, key, "\n".join(b.lines), "text", tuple(b.facts), (ref,) if i == 0 else ())
