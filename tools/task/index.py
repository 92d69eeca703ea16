"""The package and command knowledge the console's ``provides``, ``whatis`` and ``pkg``
commands answer from, as the task data sees it.

Read from the Debian data on the build machine (tools.data.debian): the archive's package
names and one-line descriptions (apt lists), command -> package from the installed packages'
file lists, and whatis lines from those commands' man pages. Given a built knowledge blob
(``auton-slm kb build``: the target archive's Packages and Contents, the whatis table), the
index is read from it instead (:meth:`KnowledgeIndex.from_kb`), so the task data shows exactly
what the kernel will print. Search matches the kb's word index (tools.kb.archive.words).
"""

from __future__ import annotations

import os
import random
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import BaseModel

from tools.data.debian import DebianIndex, command_fact
from tools.data.sources import read_bytes
from tools.errors import InputError
from tools.kb.archive import well_known
from tools.kb.archive import words as package_words
from tools.kb.blob import read_blob
from tools.task.grammar import COMMAND_NAME
from tools.task.requests import phrasing_words

MAN_ROOT = Path("/usr/share/man")


class WhatisEntry(BaseModel):
    section: str
    description: str


class KnowledgeIndex(BaseModel):
    packages: dict[str, str]  # name -> one-line description
    commands: dict[str, list[str]]  # command -> packages that ship it
    whatis: dict[str, list[WhatisEntry]]
    phrasing: list[str] = []  # the words requests are phrased in (tools.task.requests.phrasing_words)
    # the phrasing words that are also well-known command or package names (tools.kb.archive.well_known)
    phrasing_names: list[str] = []

    @cached_property
    def shipped_by(self) -> dict[str, list[str]]:
        """package -> the commands it ships."""
        out: dict[str, list[str]] = {}
        for cmd, pkgs in sorted(self.commands.items()):
            for p in pkgs:
                out.setdefault(p, []).append(cmd)
        return out

    @cached_property
    def command_names(self) -> list[str]:
        """Every command name the index knows that the console can take (for ``provides`` and
        ``whatis``; ``[`` is a command but not a console word)."""
        return sorted(c for c in set(self.commands) | set(self.whatis) if COMMAND_NAME.match(c))

    @cached_property
    def _words(self) -> dict[str, set[str]]:
        return {n: package_words(n, d) for n, d in self.packages.items()}

    def search(self, words: list[str]) -> list[str]:
        """Packages whose name and description hold every word (the kb's word index), by name."""
        want = [w.lower() for w in words]
        return [n for n in sorted(self.packages) if all(w in self._words[n] for w in want)]

    @classmethod
    def from_kb(cls, path: Path) -> KnowledgeIndex:
        """The ``pkg``, ``cmd``, ``whatis`` and ``phrase`` sections of a built knowledge blob."""
        sections = read_blob(path)
        phrase = sections.get("phrase", [])
        whatis: dict[str, list[WhatisEntry]] = {}
        for row in sections.get("whatis", []):
            name, section, desc = (row.split("\t") + ["", ""])[:3]
            whatis.setdefault(name, []).append(WhatisEntry(section=section, description=desc))
        return cls(
            packages=dict(row.split("\t", 1) for row in sections.get("pkg", [])),
            commands={c: p.split(",") for c, p in (row.split("\t", 1) for row in sections.get("cmd", []))},
            whatis=whatis,
            phrasing=[row.split("\t", 1)[0] for row in phrase],
            phrasing_names=[row.split("\t", 1)[0] for row in phrase if "\t" in row],
        )


def _man_pages() -> dict[str, tuple[str, Path]]:
    """command -> (section, its man page), sections 1 then 8."""
    out: dict[str, tuple[str, Path]] = {}
    for section in ("8", "1"):
        d = MAN_ROOT / f"man{section}"
        for name in sorted(os.listdir(d)) if d.is_dir() else []:
            if name.split(".")[1:2] == [section]:
                out[name.split(".")[0]] = (section, d / name)
    return out


def _whatis(command: str, pages: dict[str, tuple[str, Path]]) -> list[WhatisEntry]:
    if command not in pages:
        return []
    section, path = pages[command]
    raw, _ = read_bytes(path)
    fact = command_fact(path, raw.decode("utf-8", errors="replace"))
    return [WhatisEntry(section=section, description=fact.answer)] if fact else []


@lru_cache(maxsize=2)
def load_index(seed: int = 0, max_packages: int = 6000) -> KnowledgeIndex:
    """The index from this machine's Debian data: every installed archive package plus a
    seeded sample of the archive up to ``max_packages``, their commands and whatis lines (read
    once per process: treat it as read-only)."""
    deb = DebianIndex()
    available = deb.available
    if not available:
        raise InputError(
            "apt-cache knows no packages (run apt-get update): the task data needs the archive index"
        )
    installed = sorted(deb.installed)
    others = sorted(set(available) - set(installed))
    random.Random(seed).shuffle(others)
    names = installed + others[: max(0, max_packages - len(installed))]
    packages = {n: available[n][1] for n in sorted(names)}
    commands: dict[str, list[str]] = {}
    for pkg in installed:
        for cmd in deb.commands(pkg):
            commands.setdefault(cmd, []).append(pkg)
    pages = _man_pages()
    whatis = {c: entries for c in sorted(commands) if (entries := _whatis(c, pages))}
    priorities = {p: ("", s.get("Priority", "")) for p, s in deb.installed.items()}
    phrasing = phrasing_words()
    known = well_known(priorities, commands)
    return KnowledgeIndex(
        packages=packages,
        commands=commands,
        whatis=whatis,
        phrasing=phrasing,
        phrasing_names=[w for w in phrasing if w in known],
    )
