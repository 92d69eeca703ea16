"""Debian as a corpus: package descriptions, the commands packages ship, and their man pages.

Only packages the Debian archive knows (those in the apt lists) count: software installed from
other repositories (a cloud SDK with 16,000 man pages, say) would otherwise swamp the corpus
and make it depend on the machine rather than on the Debian packages the Makefile installs.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

from tools.artifacts import FileRef
from tools.data.markup import Format, man_name_line
from tools.data.sources import MAX_ANSWER, Fact, FileSource, Item, RawDoc, Source, seeded_order
from tools.errors import InputError

APT_LISTS = Path("/var/lib/apt/lists")
DPKG_STATUS = Path("/var/lib/dpkg/status")
DPKG_INFO = Path("/var/lib/dpkg/info")
_BIN_DIRS = ("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/")


def parse_stanzas(text: str) -> Iterator[dict[str, str]]:
    """deb822 stanzas (dpkg status, Packages files) as dicts; continuation lines are kept."""
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


_SUMMARY_FIELDS = re.compile(r"^(Package|Section|Description): *(.*)$", re.M)


def parse_summaries(text: str) -> dict[str, tuple[str, str]]:
    """package -> (section, one-line description) from ``apt-cache dumpavail`` output.

    A regex scan of the three fields (Package opens each stanza), not a full deb822 parse:
    the output is ~50 MB."""
    out: dict[str, tuple[str, str]] = {}
    pkg = section = summary = ""
    for field_name, value in [*_SUMMARY_FIELDS.findall(text), ("Package", "")]:
        if field_name == "Package":
            if pkg and summary:
                out[pkg] = (section or "misc", summary)
            pkg, section, summary = value.strip(), "", ""
        elif field_name == "Section":
            section = value.strip()
        else:
            summary = value.strip()
    return out


def long_description(desc: str) -> str:
    """The extended description of a Description field (" ." lines are paragraph breaks)."""
    body = []
    for line in desc.splitlines()[1:]:
        line = line[1:] if line.startswith(" ") else line
        body.append("" if line.strip() == "." else line)
    return "\n".join(body).strip()


class DebianIndex:
    """What apt and dpkg know, read once and shared by the sources that need it."""

    @cached_property
    def lists(self) -> list[Path]:
        return sorted(APT_LISTS.glob("*_Packages*")) if APT_LISTS.is_dir() else []

    def inputs(self) -> list[FileRef]:
        return [FileRef.of(p) for p in [*self.lists, DPKG_STATUS] if p.is_file()]

    @cached_property
    def available(self) -> dict[str, tuple[str, str]]:
        """Packages of the Debian archive (apt lists): name -> (section, one-line description)."""
        try:
            out = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, timeout=300, check=True)
        except (OSError, subprocess.SubprocessError):
            return {}
        return parse_summaries(out.stdout.decode("utf-8", errors="replace"))

    @cached_property
    def installed(self) -> dict[str, dict[str, str]]:
        """Installed packages that the archive knows: name -> dpkg status stanza."""
        if not DPKG_STATUS.is_file():
            return {}
        text = DPKG_STATUS.read_text(encoding="utf-8", errors="replace")
        return {
            s["Package"]: s
            for s in parse_stanzas(text)
            if "installed" in s.get("Status", "") and s["Package"] in self.available
        }

    @cached_property
    def files(self) -> dict[str, list[str]]:
        """Installed archive package -> the paths it installed (/var/lib/dpkg/info/<pkg>.list)."""
        out: dict[str, list[str]] = {}
        for lst in sorted(DPKG_INFO.glob("*.list")) if DPKG_INFO.is_dir() else []:
            pkg = lst.stem.split(":")[0]
            if pkg in self.installed:
                out[pkg] = lst.read_text(encoding="utf-8", errors="replace").splitlines()
        return out

    def commands(self, pkg: str) -> list[str]:
        paths = self.files.get(pkg, [])
        return sorted(
            {p.rsplit("/", 1)[1] for p in paths if p.startswith(_BIN_DIRS) and p.count("/") in (2, 3)} - {""}
        )


class DebianPackages(Source):
    """Package descriptions: every archive package's one-line description (~40 to a document),
    and for installed packages the long description and the commands they ship."""

    group = 40

    def __init__(self, index: DebianIndex, name: str = "debian-packages", detail: str = ""):
        super().__init__(name, detail)
        self.index = index

    def check(self) -> None:
        if not self.index.available:
            raise InputError(f"source {self.name}: apt-cache knows no packages (run apt-get update)")

    def _documents(self) -> dict[str, tuple[str, tuple[Fact, ...]]]:
        origin = "apt-cache dumpavail"
        available = self.index.available
        docs: dict[str, tuple[str, tuple[Fact, ...]]] = {}
        names = sorted(available)
        for start in range(0, len(names), self.group):
            lines, facts = [], []
            for pkg in names[start : start + self.group]:
                section, summary = available[pkg]
                lines.append(f"Debian package {pkg} ({section}): {summary}.")
                if len(summary) <= MAX_ANSWER:
                    facts.append(Fact("package", {"package": pkg}, summary, origin))
            docs[f"{origin}#{start // self.group}"] = ("\n".join(lines), tuple(facts))
        for pkg, stanza in sorted(self.index.installed.items()):
            desc = stanza.get("Description", "")
            section = stanza.get("Section", "misc")
            text = f"Debian package {pkg} ({section}, installed): {desc.splitlines()[0] if desc else ''}.\n\n"
            text += long_description(desc)
            cmds = self.index.commands(pkg)
            if cmds:
                text += f"\n\nThe package {pkg} provides the commands: {', '.join(cmds[:30])}."
            facts = tuple(
                Fact("command_package", {"command": c}, pkg, f"{DPKG_INFO}/{pkg}.list") for c in cmds
            )
            docs[f"{DPKG_STATUS}#{pkg}"] = (text, facts)
        return docs

    def items(self, seed: int) -> Iterator[Item]:
        docs = self._documents()
        for i, key in enumerate(seeded_order(docs, seed)):
            text, facts = docs[key]
            yield RawDoc(self.name, key, text, "text", facts, tuple(self.index.inputs()) if i == 0 else ())


_NAME_SPLIT = re.compile(r"\s+(?:\\?-|\u2014|\u2013)+\s+")


def command_fact(path: Path, text: str) -> Fact | None:
    """ "ls - list directory contents" from the NAME section of ls.1 -> a fact about ls."""
    line = man_name_line(text)
    parts = _NAME_SPLIT.split(line, maxsplit=1) if line else []
    if len(parts) != 2:
        return None
    names = [n.strip() for n in parts[0].split(",")]
    command = path.name.split(".")[0]
    desc = parts[1].strip().rstrip(".")
    if command not in names or not desc or len(desc) > MAX_ANSWER:
        return None
    return Fact("command", {"command": command}, desc, str(path))


class ManPages(FileSource):
    """English man pages (roff) of the given sections, from archive packages when ``index`` is
    given; pages of sections 1 and 8 give facts about what a command does."""

    def __init__(
        self, name: str, root: Path, sections: tuple[str, ...], index: DebianIndex | None, detail: str = ""
    ):
        super().__init__(name, detail)
        self.root = root
        self.sections = sections
        self.index = index
        self.missing_hint = f" under {root} (install the manpages package)"

    def paths(self) -> list[Path]:
        out: list[Path] = []
        for sec in self.sections:
            d = self.root / f"man{sec}"
            if d.is_dir():
                with os.scandir(d) as it:
                    out += [Path(e.path) for e in it if e.is_file(follow_symlinks=False)]
        if self.index is not None:
            owned = {p for files in self.index.files.values() for p in files}
            out = [p for p in out if str(p) in owned]
        return out

    def fmt(self, path: Path) -> Format:
        return "roff"

    def facts(self, path: Path, text: str) -> tuple[Fact, ...]:
        fact = command_fact(path, text) if path.parent.name in ("man1", "man8") else None
        return (fact,) if fact else ()
