"""Hardware facts the simulated machines are drawn from: pci.ids names and the modalias table.

pci.ids (the hwdata/pciutils database) gives vendor, device and class names. Drivers come from
a modalias table: ``pattern -> module`` lines in modules.alias order, matched with modprobe's
glob rules (``fnmatch``: ``*``, ``?``, ``[...]``), first match wins.

The seam: :func:`alias_table` reads ``tools.kb``'s alias section (Debian's linux-image
modules.alias) when that package is importable; until then it uses :data:`BUILTIN_ALIASES`,
the ``alias`` lines Linux's module device tables generate for the devices QEMU emulates and a
few common real NICs and controllers (e1000 ``pci:v00008086d0000100Esv*sd*bc*sc*i*`` and so on).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tools.data.hwids import ids_records, read_ids
from tools.errors import InputError

PCI_IDS = Path("/usr/share/misc/pci.ids")

BUILTIN_ALIASES: tuple[tuple[str, str], ...] = (
    ("pci:v00008086d0000100Esv*sd*bc*sc*i*", "e1000"),
    ("pci:v00008086d0000100Fsv*sd*bc*sc*i*", "e1000"),
    ("pci:v00008086d000010D3sv*sd*bc*sc*i*", "e1000e"),
    ("pci:v00008086d00001533sv*sd*bc*sc*i*", "igb"),
    ("pci:v00008086d000010FBsv*sd*bc*sc*i*", "ixgbe"),
    ("pci:v000010ECd00008139sv*sd*bc*sc*i*", "8139too"),
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
    ("of:N*T*Cns16550a", "8250_of"),
    ("of:N*T*Cns16550aC*", "8250_of"),
    ("of:N*T*Cgoogle,goldfish-rtc", "rtc_goldfish"),
    ("of:N*T*Cgoogle,goldfish-rtcC*", "rtc_goldfish"),
    ("of:N*T*Carm,pl031", "rtc_pl031"),
    ("of:N*T*Carm,pl031C*", "rtc_pl031"),
    ("of:N*T*Carm,pl061", "gpio_pl061"),
    ("of:N*T*Carm,pl061C*", "gpio_pl061"),
)


@dataclass(frozen=True)
class PciTables:
    vendors: dict[str, str]  # "8086" -> "Intel Corporation"
    devices: dict[str, str]  # "8086:100e" -> "82540EM Gigabit Ethernet Controller"
    classes: dict[str, str]  # "02", "0200", "020000" -> names


@lru_cache(maxsize=1)
def pci_tables(path: Path = PCI_IDS) -> PciTables:
    """pci.ids read with the parser the corpus and the kernel's tables share (tools.data.hwids)."""
    if not path.is_file():
        raise InputError(f"{path}: not found (install the pci.ids package)")
    text, reason, _ = read_ids(path)
    if text is None:
        raise InputError(f"{path}: not a pci.ids file ({reason})")
    vendors: dict[str, str] = {}
    devices: dict[str, str] = {}
    classes: dict[str, str] = {}
    for rec in ids_records(text):
        if rec.kind == "vendor":
            vendors[rec.ids[0]] = rec.name
        elif rec.kind == "device":
            devices[":".join(rec.ids)] = rec.name
        elif rec.kind in ("class", "subclass", "progif"):
            classes["".join(rec.ids)] = rec.name
    return PciTables(vendors, devices, classes)


@lru_cache(maxsize=1)
def alias_table() -> tuple[tuple[str, str], ...]:
    """``(pattern, module)`` in match order: tools.kb's table when it exists, else the builtin one."""
    try:
        from tools.kb import aliases  # type: ignore[attr-defined]  # the kb helper's reader, when present
    except ImportError:
        return BUILTIN_ALIASES
    return tuple(aliases())


def match_alias(modalias: str, table: tuple[tuple[str, str], ...] | None = None) -> tuple[str, str] | None:
    """``(module, pattern)`` of the first alias matching ``modalias``, as modprobe picks it."""
    for pattern, module in table if table is not None else alias_table():
        if fnmatch.fnmatchcase(modalias, pattern):
            return module, pattern
    return None


def pci_modalias(vendor: str, device: str, subsystem: str, class_code: str) -> str:
    sv, sd = subsystem.split(":")
    cc, sc, pi = class_code[0:2], class_code[2:4], class_code[4:6]
    return (
        f"pci:v0000{vendor.upper()}d0000{device.upper()}sv0000{sv.upper()}sd0000{sd.upper()}"
        f"bc{cc.upper()}sc{sc.upper()}i{pi.upper()}"
    )


def virtio_modalias(device_id: int) -> str:
    return f"virtio:d{device_id:08X}v554D4551"  # vendor "QEMU" as QEMU's virtio-mmio reports it


def of_modalias(node: str, compatible: tuple[str, ...]) -> str:
    name = node.split("@", 1)[0]
    return f"of:N{name}T<NULL>" + "".join(f"C{c}" for c in compatible)


def pci_kind(class_code: str) -> str:
    """The coarse CLASS column of a PCI class code (docs/console.md)."""
    if class_code.startswith("0c03"):
        return "usb"
    return {"02": "network", "01": "storage", "03": "display", "07": "serial", "09": "input", "06": "bridge"}.get(
        class_code[:2], "other"
    )
