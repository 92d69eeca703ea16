"""The ``alias`` table: the modalias patterns of Debian's Linux kernel package for the target.

The current kernel image package (what ``linux-image-<arch>`` depends on) is fetched with the
private apt (tools.kb.apt), unpacked with ``dpkg-deb -x``, and ``depmod -b`` writes its
``modules.alias``, which is kept in the cache (``<target>/kernel/<package>_<version>.modules.alias``);
the package and its unpacked tree are removed. Only the buses the AUTON kernel enumerates are
kept: ``pci:`` and ``virtio:`` everywhere, ``of:`` on device-tree machines.

Drivers built into Debian's kernel (e.g. 8250_of, virtio_pci on some arches) have no alias in
modules.alias: no row names them.

``pci_modalias``/``virtio_modalias``/``of_modalias`` build a device's modalias the way Linux
does, and ``first_match`` applies modprobe's rule (fnmatch globs, first matching alias wins).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from fnmatch import fnmatchcase
from pathlib import Path

from pydantic import BaseModel

from tools.errors import CheckFailed, InputError
from tools.kb.apt import PrivateApt
from tools.progress import ProgressFn, null_progress

DT_PREFIXES = ("pci:", "virtio:", "of:")
PCI_PREFIXES = ("pci:", "virtio:")


class KernelPackage(BaseModel):
    name: str
    version: str
    alias_file: Path


def kernel_package(apt: PrivateApt) -> tuple[str, str]:
    """The kernel image package the target's metapackage depends on, and its version."""
    meta = apt.target.kernel
    deps = re.findall(r"Depends: (linux-image-\S+)", apt.run("apt-cache", "depends", meta))
    if not deps:
        raise CheckFailed(f"{apt.label}: {meta} depends on no linux-image package")
    shown = apt.run("apt-cache", "show", "--no-all-versions", deps[0])
    version = re.search(r"^Version: (\S+)", shown, re.M)
    if not version:
        raise CheckFailed(f"{apt.label}: apt-cache show {deps[0]} has no Version")
    return deps[0], version.group(1)


def _depmod(deb: Path, work: Path) -> Path:
    if shutil.which("depmod") is None:
        raise InputError("depmod not found: install the Debian package kmod")
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True, capture_output=True)
    dirs = sorted(tree.glob("lib/modules/*")) + sorted(tree.glob("usr/lib/modules/*"))
    if not dirs:
        raise CheckFailed(f"{deb.name}: no lib/modules/<version> in the package")
    moddir = dirs[0]
    base = moddir.parents[2]  # <base>/lib/modules/<version>
    proc = subprocess.run(["depmod", "-b", str(base), moddir.name], capture_output=True, text=True)
    if proc.returncode != 0 or not (moddir / "modules.alias").is_file():
        raise CheckFailed(f"depmod for {deb.name} failed: {(proc.stderr.splitlines() or ['?'])[0]}")
    return moddir / "modules.alias"


def modules_alias(apt: PrivateApt, progress: ProgressFn = null_progress) -> KernelPackage:
    """The target kernel package's modules.alias, downloaded and generated once."""
    name, version = kernel_package(apt)
    cached = apt.root / "kernel" / f"{name}_{version}.modules.alias"
    if not cached.is_file():
        with apt.locked():
            if not cached.is_file():
                progress("kernel package", 0, 1, package=name)
                cached.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
                    deb = apt.download(name, Path(tmp))
                    table = _depmod(deb, Path(tmp))
                    shutil.copyfile(table, cached.with_suffix(".tmp"))
                    cached.with_suffix(".tmp").replace(cached)
                progress("kernel package", 1, 1, package=name)
    return KernelPackage(name=name, version=version, alias_file=cached)


def alias_rows(alias_file: Path, prefixes: tuple[str, ...]) -> list[str]:
    """``pattern\\tmodule`` rows of modules.alias, in its order, for the given buses."""
    rows = []
    for line in alias_file.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "alias" and parts[1].startswith(prefixes):
            rows.append(f"{parts[1]}\t{parts[2]}")
    return rows


def pci_modalias(vendor: int, device: int, subvendor: int, subdevice: int, class_code: int) -> str:
    """Linux's PCI modalias; ``class_code`` is the 24-bit class/subclass/prog-if."""
    cc, sc, pi = class_code >> 16, (class_code >> 8) & 0xFF, class_code & 0xFF
    return f"pci:v{vendor:08X}d{device:08X}sv{subvendor:08X}sd{subdevice:08X}bc{cc:02X}sc{sc:02X}i{pi:02X}"


def virtio_modalias(device: int, vendor: int = 0x554D4551) -> str:
    """Linux's virtio modalias (virtio-mmio reports QEMU's vendor id 'QEMU')."""
    return f"virtio:d{device:08X}v{vendor:08X}"


def of_modalias(name: str, compatibles: list[str], device_type: str | None = None) -> str:
    """Linux's device-tree modalias: of:N<name>T<type>C<compatible>C<compatible>..."""
    return f"of:N{name}T{device_type or '<NULL>'}" + "".join(f"C{c}" for c in compatibles)


def first_match(rows: list[str], modalias: str) -> tuple[str, str] | None:
    """(pattern, module) of the first alias row matching ``modalias``, as modprobe picks it."""
    for row in rows:
        pattern, module = row.split("\t")
        if fnmatchcase(modalias, pattern):
            return pattern, module
    return None
