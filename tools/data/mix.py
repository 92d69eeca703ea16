"""The architecture-aware default mix and ``--source`` specs.

SPEC.md: x86_64 focuses on PCI, ACPI and Intel/AMD drivers; aarch64 on device trees and ARM
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

from tools.data.sources import (
    KERNEL_ARCH,
    ArchHeaders,
    DebianPackages,
    IdsSource,
    JsonlSource,
    ManPages,
    Source,
    TreeSource,
    UserFiles,
    linux_headers_root,
)
from tools.errors import InputError

LINUX_DOC = Path("/usr/share/doc/linux-doc-6.1/Documentation")
OPENSBI_DOC = Path("/usr/share/doc/opensbi")
QEMU_DOC = Path("/usr/share/doc/qemu-system-common/system")
MAN_ROOT = Path("/usr/share/man")
PCI_IDS = Path("/usr/share/misc/pci.ids")
USB_IDS = Path("/usr/share/misc/usb.ids")

_PROSE = r"\.(rst|txt)(\.gz)?$"
_OTHER_ARCH_DOCS = r"^(alpha|arc|arm|arm64|ia64|loongarch|m68k|mips|nios2|openrisc|parisc|powerpc|riscv|s390|sh|sparc|x86|xtensa)/"
_NOT_PROSE = r"^(translations|sphinx|sphinx-static|images|devicetree)/"

# per arch: (Documentation subtrees, device-tree binding path pattern, QEMU pages)
_FOCUS = {
    "riscv64": (
        r"^riscv/",
        r"riscv|sifive|starfive|microchip|mpfs|polarfire|canaan|k210|thead|andestech|sun20i",
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
_PKG = " (install linux-doc-6.1)"


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
    focus: list[WeightedSource] = [
        WeightedSource(
            TreeSource(
                f"linux-doc/{karch}", LINUX_DOC, docs, r"^translations/", f"Documentation {docs}", _PKG
            ),
            12,
            True,
        ),
        WeightedSource(
            TreeSource(
                f"devicetree/{karch}",
                LINUX_DOC / "devicetree",
                dt,
                "",
                f"{karch} device-tree bindings",
                _PKG,
            ),
            12,
            True,
        ),
        WeightedSource(
            ArchHeaders(arch, linux_headers_root(), detail=f"arch/{karch}/include of linux-headers-*-common"),
            6,
            True,
        ),
        WeightedSource(
            TreeSource(
                f"qemu-doc/{karch}",
                QEMU_DOC,
                qemu,
                "",
                f"QEMU {karch} machine docs",
                " (install qemu-system-common)",
            ),
            3,
            True,
        ),
    ]
    if arch == "riscv64":
        focus.append(
            WeightedSource(
                TreeSource(
                    "opensbi-doc", OPENSBI_DOC, r"\.md(\.gz)?$", "", "OpenSBI docs", " (install opensbi)"
                ),
                3,
                True,
            )
        )
    general = [
        WeightedSource(
            TreeSource(
                "linux-doc",
                LINUX_DOC,
                _PROSE,
                f"{_OTHER_ARCH_DOCS}|{_NOT_PROSE}|{docs}",
                "kernel documentation (not arch-specific)",
                _PKG,
            ),
            30,
        ),
        WeightedSource(
            TreeSource(
                "devicetree",
                LINUX_DOC / "devicetree",
                r"\.(yaml|txt|rst)(\.gz)?$",
                dt,
                "other device-tree bindings",
                _PKG,
            ),
            20 if arch == "aarch64" else 4,
        ),
        WeightedSource(
            ManPages("man-pages", MAN_ROOT, ("1", "5", "7", "8"), "man pages, sections 1 5 7 8"), 18
        ),
        WeightedSource(DebianPackages(detail="apt lists and the dpkg database"), 8),
        WeightedSource(
            IdsSource("pci-ids", "PCI", PCI_IDS, "PCI ids database"), 20 if arch == "x86_64" else 3
        ),
        WeightedSource(IdsSource("usb-ids", "USB", USB_IDS, "USB ids database"), 3),
    ]
    return focus + general


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
