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
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tools.artifacts import FileRef
from tools.data.clean import decode
from tools.data.markup import Format, format_of
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
MAX_ANSWER = 100  # longest fact answer kept: QA answers are short (a name, a one-line description)


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


def files_under(root: Path) -> list[Path]:
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
        self,
        name: str,
        root: Path,
        include: str = "",
        exclude: str = "",
        *,
        detail: str = "",
        hint: str = "",
        text_format: Format = "text",
    ):
        super().__init__(name, detail)
        self.root = root
        self.include = re.compile(include) if include else None
        self.exclude = re.compile(exclude) if exclude else None
        self.missing_hint = f" under {root}{hint}"
        self.text_format = text_format  # how to read .txt and suffix-less files (kernel .txt files are rst)

    def fmt(self, path: Path) -> Format:
        fmt = super().fmt(path)
        return self.text_format if fmt == "text" else fmt

    def paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        out = []
        for p in files_under(self.root):
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
            return files_under(p)
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
