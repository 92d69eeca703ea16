"""The architecture-aware default mix and ``--source`` specs.

Per arch (docs/pipeline.md, Tiers): x86_64 focuses on PCI, ACPI and Intel/AMD drivers; aarch64 on device trees and ARM
SoCs; riscv64 on OpenSBI, RISC-V CSRs and a minimal driver set. Each arch gets its focused
sources with large weights plus the general system-administration sources (kernel docs, man
pages, Debian packages, hardware ids). A weight is a share of the byte budget; what a small
source cannot fill goes to the others (see tools.data.collect).

Riscv-specific prose is scarce in Debian (Documentation/riscv is ~11 KB), so the riscv64 mix
leans on the RISC-V device-tree bindings (SiFive, StarFive, Microchip, Canaan, T-Head), the
riscv arch headers (csr.h, sbi.h), the OpenSBI documentation and QEMU's RISC-V pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.data.debian import DebianIndex, DebianPackages, ManPages
from tools.data.headers import KERNEL_ARCH, ArchHeaders, linux_headers_root
from tools.data.hwids import IdsSource
from tools.data.sources import JsonlSource, Source, TreeSource, UserFiles
from tools.errors import InputError

LINUX_DOC = Path("/usr/share/doc/linux-doc-6.1/Documentation")
OPENSBI_DOC = Path("/usr/share/doc/opensbi")
QEMU_DOC = Path("/usr/share/doc/qemu-system-common/system")
MAN_ROOT = Path("/usr/share/man")
PCI_IDS = Path("/usr/share/misc/pci.ids")
USB_IDS = Path("/usr/share/misc/usb.ids")

_PROSE = r"\.(rst|txt)(\.gz)?$"
_OTHER_ARCH_DOCS = r"^(alpha|arc|arm|arm64|ia64|loongarch|m68k|mips|nios2|openrisc|parisc|powerpc|riscv|s390|sh|sparc|x86|xtensa)/"
_QEMU_ARCH_PAGES = r"^(arm|i386|loongarch|openrisc|ppc|riscv|s390x)/|^target-"
_NOT_PROSE = r"^(translations|sphinx|sphinx-static|images|devicetree)/"

# per arch: (Documentation subtrees, device-tree binding path pattern, QEMU pages)
_FOCUS = {
    "riscv64": (
        r"^riscv/",
        r"riscv|sifive|starfive|mpfs|polarfire|canaan|k210|thead|andestech|sun20i",
        r"^(riscv/|target-riscv)",
    ),
    "aarch64": (
        r"^(arm64|arm)/",
        r"^bindings/(arm|cpu|interrupt-controller/arm|iommu/arm|timer/arm|soc)/|arm,|gic|smmu|psci",
        r"^(arm/|target-arm|cpu-features)",
    ),
    "x86_64": (
        r"^(x86|PCI|firmware-guide/acpi|driver-api/pci|driver-api/acpi|admin-guide/acpi)/",
        r"intel|x86|ce4100",
        r"^(i386/|target-i386)",
    ),
}


@dataclass(frozen=True)
class WeightedSource:
    source: Source
    weight: float
    arch_specific: bool = False


def default_mix(arch: str) -> list[WeightedSource]:
    if arch not in _FOCUS:
        raise InputError(f"unknown arch {arch!r} (expected one of {', '.join(_FOCUS)})")
    docs, dt, qemu = _FOCUS[arch]
    karch = KERNEL_ARCH[arch]
    debian = DebianIndex()
    kdoc = {"hint": " (install linux-doc-6.1)", "text_format": "rst"}
    focus = [
        TreeSource(
            f"linux-doc/{karch}", LINUX_DOC, docs, r"^translations/", detail=f"Documentation {docs}", **kdoc
        ),
        TreeSource(
            f"devicetree/{karch}",
            LINUX_DOC / "devicetree",
            dt,
            detail=f"{karch} device-tree bindings",
            **kdoc,
        ),
        ArchHeaders(arch, linux_headers_root(), detail=f"arch/{karch}/include of linux-headers-*-common"),
        TreeSource(
            f"qemu-doc/{karch}",
            QEMU_DOC,
            qemu,
            detail=f"QEMU {karch} machine docs",
            hint=" (install qemu-system-common)",
        ),
    ]
    weights = [12.0, 12.0, 6.0, 3.0]
    if arch == "riscv64":
        focus.append(
            TreeSource(
                "opensbi-doc", OPENSBI_DOC, r"\.md(\.gz)?$", detail="OpenSBI docs", hint=" (install opensbi)"
            )
        )
        weights.append(3.0)
    general: list[tuple[Source, float]] = [
        (
            TreeSource(
                "qemu-doc",
                QEMU_DOC,
                r"\.html$",
                f"{_QEMU_ARCH_PAGES}|{qemu}",
                detail="QEMU system emulation docs (not machine-specific)",
                hint=" (install qemu-system-common)",
            ),
            3,
        ),
        (
            TreeSource(
                "linux-doc",
                LINUX_DOC,
                _PROSE,
                f"{_OTHER_ARCH_DOCS}|{_NOT_PROSE}|{docs}",
                detail="kernel documentation, general",
                **kdoc,
            ),
            30,
        ),
        (
            TreeSource(
                "devicetree",
                LINUX_DOC / "devicetree",
                r"\.(yaml|txt|rst)(\.gz)?$",
                dt,
                detail="other device-tree bindings",
                **kdoc,
            ),
            20 if arch == "aarch64" else 4,
        ),
        (
            ManPages(
                "man-pages",
                MAN_ROOT,
                ("1", "5", "7", "8"),
                debian,
                "man pages (sections 1 5 7 8) of Debian packages",
            ),
            18,
        ),
        (DebianPackages(debian, detail="apt lists and the dpkg database"), 8),
        (IdsSource("pci-ids", "PCI", PCI_IDS, "PCI ids database"), 20 if arch == "x86_64" else 3),
        (IdsSource("usb-ids", "USB", USB_IDS, "USB ids database"), 3),
    ]
    return [WeightedSource(s, w, True) for s, w in zip(focus, weights, strict=True)] + [
        WeightedSource(s, w) for s, w in general
    ]


def resolve_sources(arch: str, specs: list[str]) -> list[WeightedSource]:
    """``--source`` specs -> sources. No spec: the default mix. ``default`` (or ``builtin``) adds
    the whole default mix; a built-in name adds that source; ``dir:PATH``, ``glob:PATTERN``,
    ``jsonl:PATH`` or a bare path add user sources (weight 10 each)."""
    mix = default_mix(arch)
    if not specs:
        return mix
    builtin = {w.source.name: w for w in mix}
    out: dict[str, WeightedSource] = {}
    for spec in specs:
        if spec in ("default", "builtin"):
            out.update((w.source.name, w) for w in mix)
        elif spec in builtin:
            out[spec] = builtin[spec]
        elif spec.startswith("jsonl:") or (spec.endswith(".jsonl") and ":" not in spec):
            src = JsonlSource(Path(spec.removeprefix("jsonl:")).expanduser())
            out[src.name] = WeightedSource(src, 10)
        elif spec.startswith(("dir:", "glob:")) or "/" in spec or "*" in spec or Path(spec).exists():
            user: Source = UserFiles(spec.split(":", 1)[1] if spec.startswith(("dir:", "glob:")) else spec)
            out[user.name] = WeightedSource(user, 10)
        else:
            raise InputError(
                f"unknown source {spec!r} (built-in for {arch}: {', '.join(builtin)}; "
                "or dir:PATH, glob:PATTERN, jsonl:PATH)"
            )
    return list(out.values())
