"""Build the kernel's knowledge blob for one arch and tier: ``build(KbBuildRequest) -> KbBuildResult``.

The tables come from real data (tools.kb.pciids, modalias, archive, whatis) and are cut to the
tier's share of RAM: the blob may take 1/16 of the tier's largest RAM (tiny: 8 MiB of 128).
The tiny tier keeps the PCI devices QEMU's machines show (tools.kb.pciids.qemu_subset), the
packages that ship a command, and the man pages of commands the target's archive ships; larger
tiers keep everything. ``<out>/kb.txt`` is the blob; ``<out>/manifest.json`` (kind ``kb``)
records each table's source package and version, its line count and bytes.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.artifacts import MANIFEST, FileRef, read_manifest, write_manifest
from tools.errors import CheckFailed
from tools.kb import archive, modalias, pciids, whatis
from tools.kb.apt import TARGETS, PrivateApt, open_archive
from tools.kb.blob import SECTION_ORDER, UNSORTED, section_bytes, sort_rows, write_blob
from tools.progress import ProgressFn, null_progress
from tools.tiers import MB, TIERS, Arch, TierName

BLOB = "kb.txt"
RAM_SHARE = 16  # the blob may take 1/RAM_SHARE of the tier's largest RAM
PHRASE_SOURCE = "auton-slm request phrasings (train split), well-known names by Debian priority"


class TierKb(BaseModel):
    """What one tier's blob holds."""

    budget_bytes: int
    all_pci_devices: bool = Field(description="else the devices of QEMU's vendors and of exact aliases")
    packages: Literal["all", "commands"] = Field(description="commands: only packages that ship one")
    whatis: Literal["all", "archive"] = Field(description="archive: only commands the archive ships")


def kb_tier(tier: str | None) -> TierName:
    """The tier whose tables a model of ``tier`` gets: a micro (test-sized) model or one of no
    known tier gets the tiny tier's."""
    return TierName(tier) if tier in {t.value for t in TierName} else TierName.tiny


def tier_kb(tier: TierName) -> TierKb:
    budget = TIERS[tier].ram_max_mb * MB // RAM_SHARE
    if tier is TierName.tiny:
        return TierKb(budget_bytes=budget, all_pci_devices=False, packages="commands", whatis="archive")
    return TierKb(budget_bytes=budget, all_pci_devices=True, packages="all", whatis="all")


class KbTable(BaseModel):
    name: str
    lines: int
    bytes: int
    source: str = Field(description="the package (or archive index) the rows come from")
    version: str


class KbBuildRequest(BaseModel):
    arch: Arch
    tier: TierName = TierName.tiny
    out: Path
    refresh: bool = Field(False, description="fetch the archive indexes again")
    phrasing: list[str] = Field(
        description="the words requests are phrased in (tools.task.requests.phrasing_words): the phrase table"
    )


class KbBuildResult(BaseModel):
    arch: Arch
    tier: TierName
    blob: Path
    bytes: int
    budget_bytes: int
    debian: str = Field(description="the suite and architecture the archive tables describe")
    note: str = ""
    tables: list[KbTable]
    seconds: float


def phrasing_sha256(phrasing: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted({w.lower() for w in phrasing})).encode()).hexdigest()


def phrase_rows(phrasing: list[str], well_known: set[str]) -> list[str]:
    """The ``phrase`` table: a phrasing word a line, lowercased, with a second field ``name``
    where it is also a well-known command or package name (``find``, ``free``, ``apt``): such a
    word may name one when the request names nothing else; any other phrasing word names none."""
    words = {w.lower() for w in phrasing}
    return sort_rows([f"{w}\tname" if w in well_known else w for w in words])


def is_current(out: Path, phrasing: list[str]) -> bool:
    """``out`` holds a finished blob with every section this builder writes, each as it writes
    it, from these phrasing words (one built before a section was added, such as ``phrase``,
    before the phrase table marked its well-known names, or from other phrasings, is stale and
    is built again)."""
    if not (out / MANIFEST).is_file():
        return False
    manifest = read_manifest(out)
    tables = manifest.metrics.get("tables", {})
    return (
        set(SECTION_ORDER) <= set(tables)
        and tables["phrase"].get("source") == PHRASE_SOURCE
        and manifest.parameters.get("phrasing_sha256") == phrasing_sha256(phrasing)
    )


def _dpkg_version(package: str) -> str:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "unknown"


def _release(apt: PrivateApt) -> str:
    r = apt.release()
    return " ".join(x for x in (r.get("Version", ""), f"({r['Date']})" if "Date" in r else "") if x) or "?"


def build(req: KbBuildRequest, progress: ProgressFn | None = None) -> KbBuildResult:
    progress = progress or null_progress
    start, steps = time.monotonic(), 6
    spec = tier_kb(req.tier)

    def step(i: int, what: str) -> None:
        progress("kb build", i, steps, arch=req.arch.value, table=what)

    step(0, "archive indexes")
    apt, note = open_archive(req.arch, req.refresh)
    target = apt.target
    release = _release(apt)
    step(1, "packages")
    pkgs = archive.packages(apt)
    step(2, "commands")
    cmds = archive.commands(apt)
    step(3, "kernel modalias")
    kapt = apt
    if note:  # the archive fell back: the target's own kernel (Packages only) may still be reachable
        own = PrivateApt(TARGETS[req.arch], contents=False)
        try:
            own.update(refresh=req.refresh)
            kapt, note = own, f"{note}; the kernel package from {own.label}"
        except CheckFailed:
            pass
    kernel = modalias.modules_alias(kapt, progress)
    dt = req.arch is not Arch.x86_64
    aliases = modalias.alias_rows(kernel.alias_file, modalias.DT_PREFIXES if dt else modalias.PCI_PREFIXES)
    step(4, "pci.ids")
    pci = pciids.pci_tables()
    if not spec.all_pci_devices:
        pci["pci_device"] = pciids.qemu_subset(pci["pci_device"], aliases)
    step(5, "whatis")
    pages = whatis.whatis_rows()
    if spec.whatis == "archive":
        pages = [r for r in pages if r.split("\t", 1)[0] in cmds]

    shipping = {p for names in cmds.values() for p in names}
    pkg_rows = sort_rows(
        [f"{n}\t{d}" for n, (d, _) in pkgs.items() if spec.packages == "all" or n in shipping]
    )
    sections = {
        **{k: sort_rows(v) for k, v in pci.items()},
        "alias": aliases,
        "pkg": pkg_rows,
        "cmd": sort_rows([f"{c}\t{','.join(p)}" for c, p in cmds.items()]),
        "whatis": pages,
        "word": sort_rows(archive.word_rows(pkg_rows)),
        "phrase": phrase_rows(req.phrasing, archive.well_known(pkgs, cmds)),
    }
    archive_src = f"{apt.label} Packages"
    sources = {
        "pci_vendor": ("pci.ids", _dpkg_version("pci.ids")),
        "alias": (kernel.name, kernel.version),
        "pkg": (archive_src, release),
        "cmd": (f"{apt.label} Contents", release),
        "whatis": ("man-db whatis (installed pages)", _dpkg_version("man-db")),
        "word": (archive_src, release),
        "phrase": (PHRASE_SOURCE, metadata.version("auton-slm")),
    }
    sources["pci_device"] = sources["pci_class"] = sources["pci_vendor"]
    tables = [
        KbTable(
            name=name,
            lines=len(rows),
            bytes=len(section_bytes(rows)),
            source=sources[name][0],
            version=sources[name][1],
        )
        for name, rows in sections.items()
    ]
    assert all(name in UNSORTED or rows == sort_rows(rows) for name, rows in sections.items())
    size = sum(t.bytes for t in tables)
    if size > spec.budget_bytes:
        raise CheckFailed(
            f"the {req.tier.value} tier's knowledge tables take {size:,} bytes, over its budget of "
            f"{spec.budget_bytes:,}: " + ", ".join(f"{t.name} {t.bytes:,}" for t in tables)
        )
    out = req.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    blob = out / BLOB
    total = write_blob(blob, sections)
    seconds = time.monotonic() - start
    write_manifest(
        out,
        "kb",
        inputs=[FileRef.of(pciids.PCI_IDS), FileRef.of(kernel.alias_file)],
        parameters={
            "arch": req.arch.value,
            "tier": req.tier.value,
            "debian": f"{target.suite} {target.arch}",
            "note": note,
            "phrasing_sha256": phrasing_sha256(req.phrasing),
            **spec.model_dump(),
        },
        metrics={
            "bytes": total,
            "build_seconds": round(seconds, 2),
            "tables": {t.name: t.model_dump(exclude={"name"}) for t in tables},
        },
    )
    step(steps, "done")
    return KbBuildResult(
        arch=req.arch,
        tier=req.tier,
        blob=blob,
        bytes=total,
        budget_bytes=spec.budget_bytes,
        debian=f"{target.suite} {target.arch}",
        note=note,
        tables=tables,
        seconds=seconds,
    )
