"""Corpus sources: each a small class that yields raw documents (and the facts they state).

A source reads lazily and in a deterministic, seeded order (files shuffled by a hash of their
path), so a byte budget takes an unbiased sample without reading what it does not use. Files
that are not UTF-8 text are yielded as :class:`Skipped` so they are counted, never fatal.
Built-in sources read what Debian packages install (see the Makefile's APT_PACKAGES); user
sources read a directory, a glob or a JSONL file.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tools.artifacts import FileRef
from tools.data.clean import decode
from tools.data.markup import Format, format_of, man_name_line
from tools.errors import InputError


@dataclass(frozen=True)
class Fact:
    """One checkable statement from a structured source, e.g. PCI 8086:1533 is an I210."""

    kind: str  # pci_device, usb_device, pci_class, package, command_package, command, constant
    fields: dict[str, str]  # what the question templates fill in (id, package, command, name)
    answer: str
    origin: str


@dataclass(frozen=True)
class RawDoc:
    source: str
    origin: str  # file path, or path#part for files split into several documents
    text: str
    fmt: Format
    facts: tuple[Fact, ...] = ()
    files: tuple[FileRef, ...] = ()  # input files first read for this document (for the manifest)


@dataclass(frozen=True)
class Skipped:
    source: str
    origin: str
    reason: str  # binary, non_utf8, bad_record, unreadable
    files: tuple[FileRef, ...] = ()


Item = RawDoc | Skipped


def seeded_order(keys: Iterable[str], seed: int) -> list[str]:
    """``keys`` in a deterministic pseudo-random order that depends only on ``seed``."""
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{k}".encode()).digest())


def read_bytes(path: Path) -> tuple[bytes, FileRef]:
    """File contents (gunzipped for ``.gz``) and a FileRef of the file as stored."""
    raw = path.read_bytes()
    ref = FileRef(path=str(path), sha256=hashlib.sha256(raw).hexdigest(), bytes=len(raw))
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            raw = b"\x00"  # a corrupt archive counts as binary
    return raw, ref


class Source(ABC):
    """A named producer of documents. ``detail`` says what it is made of, for the manifest."""

    def __init__(self, name: str, detail: str = ""):
        self.name = name
        self.detail = detail

    @abstractmethod
    def items(self, seed: int) -> Iterator[Item]:
        """Documents (and skipped files) in a deterministic order for ``seed``."""

    @abstractmethod
    def check(self) -> None:
        """Raise InputError if the source cannot give anything (missing path, no files)."""


class FileSource(Source):
    """One document per file; subclasses say which files and may attach facts."""

    missing_hint = ""

    @abstractmethod
    def paths(self) -> list[Path]:
        """The files of this source (any order; ``items`` shuffles them)."""

    def facts(self, path: Path, text: str) -> tuple[Fact, ...]:
        return ()

    def fmt(self, path: Path) -> Format:
        return format_of(path.name.removesuffix(".gz"))

    @cached_property
    def listing(self) -> list[Path]:
        return self.paths()

    def check(self) -> None:
        if not self.listing:
            raise InputError(f"source {self.name}: no files found{self.missing_hint}")

    def first(self, path: Path) -> bool:
        """Whether ``path`` is read before the others (the sample order applies within each group)."""
        return False

    def items(self, seed: int) -> Iterator[Item]:
        by_key = {str(p): p for p in self.listing}
        for key in sorted(seeded_order(by_key, seed), key=lambda k: not self.first(by_key[k])):
            path = by_key[key]
            try:
                raw, ref = read_bytes(path)
            except OSError:
                yield Skipped(self.name, key, "unreadable")
                continue
            text, reason = decode(raw)
            if text is None:
                yield Skipped(self.name, key, reason or "binary", (ref,))
                continue
            yield RawDoc(self.name, key, text, self.fmt(path), self.facts(path, text), (ref,))


def _files_under(root: Path) -> list[Path]:
    """Regular files below ``root`` (symlinks skipped: they repeat files already listed)."""
    out: list[Path] = []
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    out.append(Path(entry.path))
    return out


class TreeSource(FileSource):
    """Files under ``root`` whose relative path matches ``include`` and not ``exclude`` (regexes)."""

    def __init__(
        self, name: str, root: Path, include: str = "", exclude: str = "", detail: str = "", hint: str = ""
    ):
        super().__init__(name, detail)
        self.root = root
        self.include = re.compile(include) if include else None
        self.exclude = re.compile(exclude) if exclude else None
        self.missing_hint = f" under {root}{hint}"

    def paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        out = []
        for p in _files_under(self.root):
            rel = str(p.relative_to(self.root))
            if self.include and not self.include.search(rel):
                continue
            if self.exclude and self.exclude.search(rel):
                continue
            out.append(p)
        return out


class UserFiles(FileSource):
    """A user directory (every file below it) or a glob pattern (``**`` allowed)."""

    def __init__(self, spec: str):
        super().__init__(f"user:{spec}", "user-supplied text files")
        self.spec = spec

    def paths(self) -> list[Path]:
        p = Path(self.spec).expanduser()
        if p.is_dir():
            return _files_under(p)
        if p.is_file():
            return [p]
        return [Path(m) for m in glob.glob(str(p), recursive=True) if Path(m).is_file()]

    def check(self) -> None:
        if not self.listing:
            raise InputError(f"source {self.spec}: no such file, directory or matching files")


class JsonlSource(Source):
    """A JSONL file: each line a JSON string or an object with a ``text`` field."""

    def __init__(self, path: Path):
        super().__init__(f"jsonl:{path}", "user-supplied JSONL")
        self.path = path

    def check(self) -> None:
        if not self.path.is_file():
            raise InputError(f"source jsonl:{self.path}: no such file")

    def items(self, seed: int) -> Iterator[Item]:
        raw, ref = read_bytes(self.path)
        text, reason = decode(raw)
        if text is None:
            yield Skipped(self.name, str(self.path), reason or "binary", (ref,))
            return
        records: dict[str, str | None] = {}
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            value = obj if isinstance(obj, str) else obj.get("text") if isinstance(obj, dict) else None
            records[f"{self.path}#{i + 1}"] = value if isinstance(value, str) else None
        for i, key in enumerate(seeded_order(records, seed)):
            value = records[key]
            file_ref = (ref,) if i == 0 else ()
            if value is None:
                yield Skipped(self.name, key, "bad_record", file_ref)
            else:
                yield RawDoc(self.name, key, value, "text", (), file_ref)


# --- pci.ids / usb.ids ------------------------------------------------------------------------

_IDS_VENDOR = re.compile(r"^([0-9a-f]{4})\s+(.+)$")
_IDS_DEVICE = re.compile(r"^\t([0-9a-f]{4})\s+(.+)$")
_IDS_SUB = re.compile(r"^\t\t([0-9a-f]{4})\s+([0-9a-f]{4})\s+(.+)$")
_IDS_CLASS = re.compile(r"^C ([0-9a-f]{2})\s+(.+)$")
_IDS_SUBCLASS = re.compile(r"^\t([0-9a-f]{2})\s+(.+)$")
_MAX_ANSWER = 100


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
                if len(name) <= _MAX_ANSWER:
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


# --- Debian packages --------------------------------------------------------------------------

APT_LISTS = Path("/var/lib/apt/lists")
DPKG_STATUS = Path("/var/lib/dpkg/status")
DPKG_INFO = Path("/var/lib/dpkg/info")
_BIN_DIRS = ("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/")


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def _summaries(text: str) -> dict[str, tuple[str, str]]:
    """package -> (section, one-line description) from ``apt-cache dumpavail`` output (a fast scan)."""
    out: dict[str, tuple[str, str]] = {}
    pkg = section = summary = ""
    for line in text.splitlines():
        if not line:
            if pkg and summary:
                out[pkg] = (section or "misc", summary)
            pkg = section = summary = ""
        elif line.startswith("Package: "):
            pkg = line[9:].strip()
        elif line.startswith("Section: "):
            section = line[9:].strip()
        elif line.startswith("Description: "):
            summary = line[13:].strip()
    if pkg and summary:
        out[pkg] = (section or "misc", summary)
    return out


def _long_description(desc: str) -> str:
    body = []
    for line in desc.splitlines()[1:]:
        line = line[1:] if line.startswith(" ") else line
        body.append("" if line.strip() == "." else line)
    return "\n".join(body).strip()


class DebianPackages(Source):
    """Package descriptions from the apt lists (``apt-cache dumpavail``) and the dpkg database.

    Every available package gives its one-line description (grouped ~40 to a document);
    installed packages also give their long description and the commands they ship.
    """

    group = 40

    def __init__(self, name: str = "debian-packages", detail: str = ""):
        super().__init__(name, detail)

    def check(self) -> None:
        if not self._lists() and not DPKG_STATUS.is_file():
            raise InputError(f"source {self.name}: no apt lists under {APT_LISTS} (run apt-get update)")

    @staticmethod
    def _lists() -> list[Path]:
        return sorted(APT_LISTS.glob("*_Packages*")) if APT_LISTS.is_dir() else []

    def _available(self) -> str:
        try:
            out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, timeout=300, check=True)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.decode("utf-8", errors="replace")

    def _commands(self) -> dict[str, list[str]]:
        """Installed package -> commands it ships (from /var/lib/dpkg/info/<pkg>.list)."""
        out: dict[str, list[str]] = {}
        for lst in sorted(DPKG_INFO.glob("*.list")) if DPKG_INFO.is_dir() else []:
            pkg = lst.stem.split(":")[0]
            try:
                lines = lst.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            cmds = [
                ln.rsplit("/", 1)[1] for ln in lines if ln.startswith(_BIN_DIRS) and ln.count("/") in (2, 3)
            ]
            if cmds:
                out[pkg] = sorted({c for c in cmds if c})
        return out

    def items(self, seed: int) -> Iterator[Item]:
        refs = [FileRef.of(p) for p in [*self._lists(), DPKG_STATUS] if p.is_file()]
        available = _summaries(self._available())
        status_text = (
            DPKG_STATUS.read_text(encoding="utf-8", errors="replace") if DPKG_STATUS.is_file() else ""
        )
        installed = {s["Package"]: s for s in _stanzas(status_text) if "installed" in s.get("Status", "")}
        commands = self._commands()
        origin = "apt-cache dumpavail"
        docs: dict[str, tuple[str, tuple[Fact, ...]]] = {}
        names = sorted(available)
        for start in range(0, len(names), self.group):
            lines, facts = [], []
            for pkg in names[start : start + self.group]:
                section, summary = available[pkg]
                lines.append(f"Debian package {pkg} ({section}): {summary}.")
                if len(summary) <= _MAX_ANSWER:
                    facts.append(Fact("package", {"package": pkg}, summary, origin))
            docs[f"{origin}#{start // self.group}"] = ("\n".join(lines), tuple(facts))
        for pkg, s in sorted(installed.items()):
            desc = s.get("Description", "")
            summary = desc.split("\n")[0].strip()
            text = f"Debian package {pkg} ({s.get('Section', 'misc')}, installed): {summary}.\n\n{_long_description(desc)}"
            cmds = commands.get(pkg, [])
            facts = []
            if cmds:
                shown = ", ".join(cmds[:30])
                text += f"\n\nThe package {pkg} provides the commands: {shown}."
                facts = [
                    Fact("command_package", {"command": c}, pkg, f"{DPKG_INFO}/{pkg}.list") for c in cmds
                ]
            docs[f"{DPKG_STATUS}#{pkg}"] = (text, tuple(facts))
        for i, key in enumerate(seeded_order(docs, seed)):
            text, facts = docs[key]
            yield RawDoc(self.name, key, text, "text", facts, tuple(refs) if i == 0 else ())


# --- man pages --------------------------------------------------------------------------------

_NAME_SPLIT = re.compile(r"\s+(?:\\?-|\u2014|\u2013)+\s+")


class ManPages(FileSource):
    """English man pages (roff) of the given sections; sections 1 and 8 give command facts."""

    def __init__(self, name: str, root: Path, sections: tuple[str, ...], detail: str = ""):
        super().__init__(name, detail)
        self.root = root
        self.sections = sections
        self.missing_hint = f" under {root} (install the manpages package)"

    def paths(self) -> list[Path]:
        out: list[Path] = []
        for sec in self.sections:
            d = self.root / f"man{sec}"
            if d.is_dir():
                with os.scandir(d) as it:
                    out += [Path(e.path) for e in it if e.is_file(follow_symlinks=False)]
        return out

    def fmt(self, path: Path) -> Format:
        return "roff"

    def facts(self, path: Path, text: str) -> tuple[Fact, ...]:
        if path.parent.name not in ("man1", "man8"):
            return ()
        line = man_name_line(text)
        if not line:
            return ()
        parts = _NAME_SPLIT.split(line, maxsplit=1)
        if len(parts) != 2:
            return ()
        names = [n.strip() for n in parts[0].split(",")]
        command = path.name.split(".")[0]
        desc = parts[1].strip().rstrip(".")
        if command not in names or not desc or len(desc) > _MAX_ANSWER:
            return ()
        return (Fact("command", {"command": command}, desc, str(path)),)


# --- architecture headers ---------------------------------------------------------------------

KERNEL_ARCH = {"riscv64": "riscv", "aarch64": "arm64", "x86_64": "x86"}
KEY_HEADERS = {
    "riscv64": ("asm/csr.h", "asm/sbi.h"),
    "aarch64": ("asm/sysreg.h", "asm/esr.h"),
    "x86_64": ("asm/msr-index.h",),
}
_DEFINE = re.compile(
    r"^#define\s+([A-Z][A-Z0-9_]{3,})\s+"
    r"(?:_AC\(\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*\w+\s*\)|\(?(0x[0-9a-fA-F]+|\d+)[uUlL]*\)?|(sys_reg\([^)]*\)))\s*(?:/[*/].*)?$",
    re.M,
)
_ENUM = re.compile(r"^\s+([A-Z][A-Z0-9_]{3,})\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,", re.M)


def linux_headers_root() -> Path | None:
    """The newest /usr/src/linux-headers-*-common directory, or None."""
    found = sorted(glob.glob("/usr/src/linux-headers-*-common"))
    return Path(found[-1]) if found else None


class ArchHeaders(FileSource):
    """The architecture's kernel headers; its key headers give constant facts (CSRs, SBI, MSRs)."""

    def __init__(self, arch: str, root: Path | None, name: str = "", detail: str = ""):
        super().__init__(name or f"arch-headers/{KERNEL_ARCH[arch]}", detail)
        self.arch = arch
        self.include = root / "arch" / KERNEL_ARCH[arch] / "include" if root else None
        self.missing_hint = (
            f" (install linux-headers-<version>-common; looked in {self.include or '/usr/src'})"
        )

    def paths(self) -> list[Path]:
        if not self.include or not self.include.is_dir():
            return []
        return [p for p in _files_under(self.include) if p.suffix == ".h"]

    def _key_header(self, path: Path) -> str | None:
        assert self.include is not None
        rel = str(path.relative_to(self.include)).removeprefix("uapi/")
        return rel if rel in KEY_HEADERS[self.arch] else None

    def first(self, path: Path) -> bool:
        return self._key_header(path) is not None

    def facts(self, path: Path, text: str) -> tuple[Fact, ...]:
        rel = self._key_header(path)
        if rel is None:
            return ()
        out: dict[str, str] = {}
        for m in _DEFINE.finditer(text):
            out.setdefault(m.group(1), m.group(2) or m.group(3) or " ".join(m.group(4).split()))
        for m in _ENUM.finditer(text):
            out.setdefault(m.group(1), m.group(2))
        header = f"arch/{KERNEL_ARCH[self.arch]}/include/{rel}"
        return tuple(Fact("constant", {"name": n, "header": header}, v, header) for n, v in out.items())
