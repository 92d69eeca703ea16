"""The ``pkg``, ``cmd`` and ``word`` tables: the target's Debian archive, from its indexes.

- ``pkg``: ``name\\tone-line description`` from the Packages index;
- ``cmd``: ``command\\tpackage[,package...]`` from the Contents index (what apt-file reads): the
  files directly in ``usr/bin``, ``usr/sbin``, ``bin`` and ``sbin``;
- ``word``: ``word\\tline,line,...``: the 0-based ``pkg`` lines whose name or description holds
  the word (lower-case letters and digits, 2 or more, stop words left out).

:func:`well_known` names what a sysadmin knows without asking: the packages of Debian priority
required, important or standard, and the commands they ship (``find``, ``free``, ``who``, ``apt``).

Both indexes are read through ``apt-helper cat-file`` (tools.kb.apt), the Contents lines
filtered by ``grep`` first (they are hundreds of MB; the command lines are a few MB).
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict

from tools.errors import CheckFailed
from tools.kb.apt import PrivateApt

COMMAND_DIRS = re.compile(r"^(?:usr/)?s?bin/([^/\s]+)\s+(\S+)$")
WORD = re.compile(r"[a-z0-9]+(?:[.+][a-z0-9]+)*")
STOP_WORDS = frozenset(
    "a an and as at by for from in into is it of on or the to with without this that its".split()
)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
WELL_KNOWN_PRIORITIES = frozenset({"required", "important", "standard"})


def clean(field: str) -> str:
    """A field fit for the blob: no tabs, newlines or other control characters."""
    return _UNSAFE.sub(" ", field).strip()


def _lines(apt: PrivateApt, identifier: str, grep: str | None = None) -> list[str]:
    cat = apt.cat(apt.index(identifier))
    assert cat.stdout is not None
    if grep is None:
        lines = cat.stdout.read().splitlines()
    else:
        out = subprocess.run(["grep", "-E", grep], stdin=cat.stdout, capture_output=True, text=True)
        lines = out.stdout.splitlines()
    if cat.wait() != 0:
        raise CheckFailed(f"{apt.label}: apt-helper cat-file could not read the {identifier} index")
    return lines


def packages(apt: PrivateApt) -> dict[str, tuple[str, str]]:
    """name -> (one-line description, priority) of every package in the Packages index."""
    out: dict[str, tuple[str, str]] = {}
    stanza: dict[str, str] = {}
    for line in [*_lines(apt, "Packages"), ""]:
        if not line:
            if "Package" in stanza:
                out.setdefault(
                    stanza["Package"], (clean(stanza.get("Description", "")), stanza.get("Priority", ""))
                )
            stanza = {}
        elif not line[0].isspace():
            key, _, value = line.partition(":")
            stanza[key] = value.strip()
    return out


def commands(apt: PrivateApt) -> dict[str, list[str]]:
    """command -> the packages shipping it (sorted), from the Contents index."""
    found: dict[str, set[str]] = defaultdict(set)
    for line in _lines(apt, "Contents-deb", r"^(usr/)?s?bin/[^/[:space:]]+[[:space:]]"):
        if m := COMMAND_DIRS.match(line):
            found[clean(m.group(1))].update(p.rsplit("/", 1)[-1] for p in m.group(2).split(","))
    return {cmd: sorted(pkgs) for cmd, pkgs in found.items() if cmd}


def well_known(packages: dict[str, tuple[str, str]], commands: dict[str, list[str]]) -> set[str]:
    """The names of the packages of a well-known priority and of the commands they ship."""
    known = {n for n, (_, priority) in packages.items() if priority in WELL_KNOWN_PRIORITIES}
    return known | {c for c, pkgs in commands.items() if known.intersection(pkgs)}


def words(name: str, description: str) -> set[str]:
    text = f"{name} {description}".lower()
    return {w for w in WORD.findall(text) if len(w) > 1 and w not in STOP_WORDS}


def word_rows(pkg_rows: list[str]) -> list[str]:
    """The ``word`` table over sorted ``pkg`` rows."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(pkg_rows):
        name, _, description = row.partition("\t")
        for w in words(name, description):
            index[w].append(i)
    return [f"{w}\t{','.join(map(str, lines))}" for w, lines in index.items()]
