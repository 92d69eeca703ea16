"""The ``pci_vendor``, ``pci_device`` and ``pci_class`` tables, from pci.ids.

Read with the corpus's parser (tools.data.hwids.ids_records). Rows: ``vvvv\\tName``,
``vvvvdddd\\tName`` and ``cc``/``ccss``/``ccsspp\\tName``. A tier short of RAM keeps the devices
of the vendors QEMU's machines present (Intel, Red Hat/virtio, QEMU, Cirrus, Realtek, AMD, LSI,
VMware, ...) and of every other device a driver alias names by exact id.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.data.hwids import ids_records, read_ids
from tools.errors import InputError
from tools.kb.archive import clean

PCI_IDS = Path("/usr/share/misc/pci.ids")
# Vendors of the devices QEMU emulates (qemu-system-* -device help).
QEMU_VENDORS = frozenset(
    "8086 1af4 1b36 1234 1013 10ec 1022 1000 15ad 1274 1033 106b 1344 1b73 1de1 104c 10ee".split()
)
_EXACT_PCI = re.compile(r"^pci:v0000([0-9A-F]{4})d0000([0-9A-F]{4})")


def pci_tables(path: Path = PCI_IDS) -> dict[str, list[str]]:
    """Every vendor, device and class row of pci.ids (unsorted)."""
    text, reason, _ = read_ids(path)
    if text is None:
        raise InputError(f"{path}: not a pci.ids file ({reason}); install the Debian package pci.ids")
    tables: dict[str, list[str]] = {"pci_vendor": [], "pci_device": [], "pci_class": []}
    for rec in ids_records(text):
        table = {"vendor": "pci_vendor", "device": "pci_device"}.get(
            rec.kind, "pci_class" if rec.kind in ("class", "subclass", "progif") else None
        )
        if table:
            tables[table].append(f"{''.join(rec.ids)}\t{clean(rec.name)}")
    if not tables["pci_device"]:
        raise InputError(f"{path}: no PCI devices in it (install the Debian package pci.ids)")
    return tables


def aliased_devices(alias_rows: list[str]) -> set[str]:
    """``vvvvdddd`` of every device an alias names by exact vendor and device id."""
    return {(m.group(1) + m.group(2)).lower() for row in alias_rows if (m := _EXACT_PCI.match(row))}


def qemu_subset(device_rows: list[str], alias_rows: list[str]) -> list[str]:
    keep = aliased_devices(alias_rows)
    return [r for r in device_rows if r[:4] in QEMU_VENDORS or r[:8] in keep]
