"""Hardware facts the simulated machines are drawn from: PCI names and the modalias table.

The tables are the kernel's own (tools/kb/): given a built knowledge blob, the task data reads
its ``pci_*`` and ``alias`` sections, so a simulated machine names and binds devices exactly as
the kernel will. Without one, names come from pci.ids (tools.kb.pciids) and drivers from
:data:`BUILTIN_ALIASES`, the ``alias`` lines of Debian's modules.alias for the devices QEMU
emulates and a few common NICs and controllers. Matching is modprobe's (tools.kb.modalias).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from tools.kb.blob import read_blob
from tools.kb.modalias import first_match
from tools.kb.pciids import pci_tables

BUILTIN_ALIASES: tuple[tuple[str, str], ...] = (
    ("pci:v00008086d0000100Esv*sd*bc*sc*i*", "e1000"),
    ("pci:v00008086d0000100Fsv*sd*bc*sc*i*", "e1000"),
    ("pci:v00008086d000010D3sv*sd*bc*sc*i*", "e1000e"),
    ("pci:v00008086d00001533sv*sd*bc*sc*i*", "igb"),
    ("pci:v00008086d000010FBsv*sd*bc*sc*i*", "ixgbe"),
    ("pci:v000010ECd00008139sv*sd*bc*sc*i*", "8139cp"),  # first in modules.alias (8139too also matches)
    ("pci:v000010ECd00008168sv*sd*bc*sc*i*", "r8169"),
    ("pci:v000010ECd00008029sv*sd*bc*sc*i*", "ne2k_pci"),
    ("pci:v00001022d00002000sv*sd*bc*sc*i*", "pcnet32"),
    ("pci:v000014E4d00001657sv*sd*bc*sc*i*", "tg3"),
    ("pci:v000015ADd000007B0sv*sd*bc*sc*i*", "vmxnet3"),
    ("pci:v000015B3d00001017sv*sd*bc*sc*i*", "mlx5_core"),
    ("pci:v00001AF4d*sv*sd*bc*sc*i*", "virtio_pci"),
    ("pci:v00008086d00007010sv*sd*bc*sc*i*", "ata_piix"),
    ("pci:v00008086d00007113sv*sd*bc*sc*i*", "i2c_piix4"),
    ("pci:v00008086d00002930sv*sd*bc*sc*i*", "i2c_i801"),
    ("pci:v00008086d0000293Esv*sd*bc*sc*i*", "snd_hda_intel"),
    ("pci:v00008086d000025ABsv*sd*bc*sc*i*", "i6300esb"),
    ("pci:v00001000d00000012sv*sd*bc*sc*i*", "sym53c8xx"),
    ("pci:v00001000d0000005Bsv*sd*bc*sc*i*", "megaraid_sas"),
    ("pci:v00001234d00001111sv*sd*bc03sc*i*", "bochs"),
    ("pci:v00001B36d00000100sv*sd*bc*sc*i*", "qxl"),
    ("pci:v00001B36d00000002sv*sd*bc*sc*i*", "8250_pci"),
    ("pci:v*d*sv*sd*bc01sc06i01*", "ahci"),
    ("pci:v*d*sv*sd*bc01sc08i02*", "nvme"),
    ("pci:v*d*sv*sd*bc0Csc03i30*", "xhci_pci"),
    ("pci:v*d*sv*sd*bc0Csc03i20*", "ehci_pci"),
    ("pci:v*d*sv*sd*bc0Csc03i10*", "ohci_pci"),
    ("pci:v*d*sv*sd*bc0Csc03i00*", "uhci_hcd"),
    ("virtio:d00000001v*", "virtio_net"),
    ("virtio:d00000002v*", "virtio_blk"),
    ("virtio:d00000003v*", "virtio_console"),
    ("virtio:d00000004v*", "virtio_rng"),
    ("virtio:d00000005v*", "virtio_balloon"),
    ("virtio:d00000008v*", "virtio_scsi"),
    ("virtio:d00000010v*", "virtio_gpu"),
    ("virtio:d00000012v*", "virtio_input"),
    ("of:N*T*Cgoogle,goldfish-rtc", "rtc_goldfish"),
    ("of:N*T*Cgoogle,goldfish-rtcC*", "rtc_goldfish"),
    ("of:N*T*Carm,pl061", "gpio_pl061"),
    ("of:N*T*Carm,pl061C*", "gpio_pl061"),
)


@dataclass(eq=False)  # hashed by identity: per-table caches (tools.task.machines.extra_pool)
class HardwareTables:
    """The kernel's hardware tables (docs/console.md, Knowledge tables): names by id, aliases in order."""

    vendors: dict[str, str]  # "8086" -> "Intel Corporation"
    devices: dict[str, str]  # "8086100e" -> "82540EM Gigabit Ethernet Controller"
    classes: dict[str, str]  # "02", "0200", "020000" -> names
    aliases: tuple[str, ...]  # "pattern\tmodule" rows, modules.alias order

    @classmethod
    def from_sections(cls, sections: dict[str, list[str]]) -> HardwareTables:
        def table(name: str) -> dict[str, str]:
            return dict(row.split("\t", 1) for row in sections.get(name, []))

        return cls(
            table("pci_vendor"), table("pci_device"), table("pci_class"), tuple(sections.get("alias", []))
        )

    def class_name(self, class_code: int) -> str | None:
        """The most specific pci.ids name of a class code (prog-if, subclass, class), as the kernel looks it up."""
        key = f"{class_code:06x}"
        return next((self.classes[key[:n]] for n in (6, 4, 2) if key[:n] in self.classes), None)

    def driver(self, modalias: str) -> tuple[str, str] | None:
        """(module, pattern) of the first alias matching ``modalias``, as modprobe picks it
        (tools.kb.modalias.first_match, over only the rows whose literal prefix fits)."""
        rows = [row for prefix, row in self._prefixed if modalias.startswith(prefix)]
        hit = first_match(rows, modalias)
        return (hit[1], hit[0]) if hit else None

    @cached_property
    def _prefixed(self) -> list[tuple[str, str]]:
        """(the pattern's text before its first wildcard, row), in table order."""
        return [(re.split(r"[*?\[]", row.split("\t", 1)[0], maxsplit=1)[0], row) for row in self.aliases]


@lru_cache(maxsize=4)
def hardware_tables(kb: Path | None = None) -> HardwareTables:
    """From a built knowledge blob (``auton-slm kb build``: exactly what the kernel holds), else
    from pci.ids and :data:`BUILTIN_ALIASES`."""
    if kb is not None:
        return HardwareTables.from_sections(read_blob(kb))
    rows = [f"{pattern}\t{module}" for pattern, module in BUILTIN_ALIASES]
    return HardwareTables.from_sections({**pci_tables(), "alias": rows})


def pci_kind(class_code: int) -> str:
    """The coarse CLASS column of a PCI class code (docs/console.md; kernel/hw/inventory.c)."""
    if class_code >> 8 == 0x0C03:
        return "usb"
    kinds = {0x01: "storage", 0x02: "network", 0x03: "display", 0x06: "bridge", 0x07: "serial", 0x09: "input"}
    return kinds.get(class_code >> 16, "other")
