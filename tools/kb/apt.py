"""A private apt configuration for one Debian suite and architecture, kept under the cache.

The knowledge tables describe the TARGET's Debian archive, not what is installed here, so apt is
pointed at its own sources list, state, lists and cache directories
(``<cache>/<suite>-<arch>/``) with ``APT::Architectures`` set to the target's architecture and
the Contents index (what apt-file reads) added as an index target. The system's apt setup is
never read or touched: ``apt-get update`` and ``apt-get download`` run with ``APT_CONFIG``
naming the private configuration. Lists are fetched once and reused until ``refresh``.

The cache is ``$AUTON_SLM_DEBIAN_CACHE``, else ``debian/`` under the tool cache
(``$AUTON_SLM_CACHE``, else ``~/.cache/auton-slm``).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from tools.arch.hardware import cache_dir
from tools.errors import CheckFailed, InputError
from tools.tiers import Arch

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
APT_HELPER = "/usr/lib/apt/apt-helper"


class DebianTarget(BaseModel):
    """Where one arch's Debian facts come from."""

    suite: str
    arch: str  # Debian's name for the architecture
    kernel: str  # the metapackage whose Depends names the current kernel image package
    fallback: DebianTarget | None = None  # used when this suite's indexes cannot be fetched


BOOKWORM_ARM64 = DebianTarget(suite="bookworm", arch="arm64", kernel="linux-image-arm64")
# bookworm has no riscv64 port; trixie (Debian 13) is the first release with one, on the same
# mirror and signed by a key in bookworm's debian-archive-keyring. Should its indexes not be
# fetchable (a mirror mid-sync serves Contents files that do not match the Release), bookworm's
# arm64 archive stands in, another device-tree machine; the kernel package still comes from
# trixie's riscv64 Packages index when that alone can be fetched (tools.kb.build).
TARGETS: dict[Arch, DebianTarget] = {
    Arch.x86_64: DebianTarget(suite="bookworm", arch="amd64", kernel="linux-image-amd64"),
    Arch.aarch64: BOOKWORM_ARM64,
    Arch.riscv64: DebianTarget(
        suite="trixie", arch="riscv64", kernel="linux-image-riscv64", fallback=BOOKWORM_ARM64
    ),
}


def debian_cache() -> Path:
    env = os.environ.get("AUTON_SLM_DEBIAN_CACHE")
    return Path(env) if env else cache_dir() / "debian"


CONTENTS_TARGET = """Acquire::IndexTargets::deb::Contents-deb {
  MetaKey "$(COMPONENT)/Contents-$(ARCHITECTURE)";
  ShortDescription "Contents-$(ARCHITECTURE)";
  Description "$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) Contents (deb)";
  KeepCompressed "true";
};
"""


def _config(root: Path, target: DebianTarget, contents: bool) -> str:
    d = {k: root / k for k in ("etc", "state", "lists", "cache")}
    return f"""Dir::Etc::SourceList "{d["etc"]}/sources.list";
Dir::Etc::SourceParts "{d["etc"]}/sources.list.d";
Dir::Etc::Parts "{d["etc"]}/apt.conf.d";
Dir::Etc::Preferences "{d["etc"]}/preferences";
Dir::Etc::PreferencesParts "{d["etc"]}/preferences.d";
Dir::State "{d["state"]}";
Dir::State::Lists "{d["lists"]}";
Dir::State::status "{d["state"]}/status";
Dir::Cache "{d["cache"]}";
APT::Architecture "{target.arch}";
APT::Architectures {{ "{target.arch}"; }};
APT::Sandbox::User "{getpass.getuser()}";
Acquire::Languages "none";
Acquire::PDiffs "false";
""" + (CONTENTS_TARGET if contents else "")


class PrivateApt:
    """apt-get and apt-cache for one target, with their own configuration under the cache."""

    def __init__(self, target: DebianTarget, root: Path | None = None, contents: bool = True):
        """``contents``: fetch the Contents index too (without it: Packages only, in its own lists)."""
        self.target, self.contents = target, contents
        name = f"{target.suite}-{target.arch}" + ("" if contents else "-packages")
        self.root = (root or debian_cache()) / name
        self.conf = self.root / "etc" / "apt.conf"

    @property
    def label(self) -> str:
        return f"Debian {self.target.suite} main {self.target.arch}"

    def _setup(self) -> None:
        if shutil.which("apt-get") is None:
            raise InputError("apt-get not found: the knowledge tables need Debian's apt")
        for sub in ("etc/sources.list.d", "etc/apt.conf.d", "etc/preferences.d", "state", "lists/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (self.root / "state" / "status").touch()
        sources = f"deb [signed-by={KEYRING}] {MIRROR} {self.target.suite} main\n"
        (self.root / "etc" / "sources.list").write_text(sources)
        self.conf.write_text(_config(self.root, self.target, self.contents))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One process at a time updates or downloads into this target's cache."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 600) -> str:
        """Run an apt tool with the private configuration; its stdout, or a one-line CheckFailed."""
        env = {**os.environ, "APT_CONFIG": str(self.conf), "LC_ALL": "C.UTF-8"}
        try:
            proc = subprocess.run(
                args, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"{' '.join(args[:2])} for {self.label} took over {timeout:.0f} s") from None
        if proc.returncode != 0:
            why = [ln for ln in proc.stderr.splitlines() if ln.startswith("E:")] or proc.stderr.splitlines()
            raise CheckFailed(f"{' '.join(args[:2])} for {self.label} failed: {(why or ['?'])[0].strip()}")
        return proc.stdout

    def update(self, refresh: bool = False) -> None:
        """Fetch the Release, Packages and Contents indexes once (again when ``refresh``)."""
        with self.locked():
            self._setup()
            stamp = self.root / "lists" / ".updated"
            if stamp.is_file() and not refresh and self.indextargets():
                return
            self.run("apt-get", "update", "-q")
            stamp.touch()

    def indextargets(self) -> dict[tuple[str, str], Path]:
        """(identifier, architecture) -> the downloaded index file, e.g. ("Contents-deb", "all")."""
        out = self.run("apt-get", "indextargets", "--format", "$(IDENTIFIER) $(ARCHITECTURE) $(FILENAME)")
        found = {}
        for line in out.splitlines():
            ident, arch, path = line.split(" ", 2)
            if Path(path).is_file():
                found[(ident, arch)] = Path(path)
        return found

    def index(self, identifier: str) -> list[Path]:
        """The downloaded index files of one kind (Packages, Contents-deb), any architecture."""
        files = [p for (ident, _), p in sorted(self.indextargets().items()) if ident == identifier]
        if not files:
            raise CheckFailed(f"{self.label}: no {identifier} index after apt-get update")
        return files

    def cat(self, files: list[Path]) -> subprocess.Popen[str]:
        """apt-helper cat-file: the index files decompressed (apt keeps some as .lz4), as a pipe."""
        if not Path(APT_HELPER).is_file():
            raise InputError(f"{APT_HELPER} not found: the knowledge tables need Debian's apt")
        return subprocess.Popen(
            [APT_HELPER, "cat-file", *map(str, files)],
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )

    def release(self) -> dict[str, str]:
        """The suite's Release fields (Version, Codename, Date) from the downloaded InRelease."""
        files = sorted((self.root / "lists").glob("*_InRelease"))
        fields: dict[str, str] = {}
        if files:
            for line in files[0].read_text(errors="replace").splitlines():
                if not line.strip() or line.startswith(" "):
                    if fields:
                        break
                    continue
                key, sep, value = line.partition(": ")
                if sep and key in ("Origin", "Suite", "Codename", "Version", "Date"):
                    fields[key] = value.strip()
        return fields

    def download(self, package: str, into: Path) -> Path:
        """``apt-get download`` of one package from the target's archive into ``into``."""
        into.mkdir(parents=True, exist_ok=True)
        self.run("apt-get", "download", "-q", package, cwd=into)
        debs = sorted(into.glob(f"{package}_*.deb"))
        if not debs:
            raise CheckFailed(f"apt-get download {package} for {self.label} left no .deb in {into}")
        return debs[-1]


def open_archive(arch: Arch, refresh: bool = False, contents: bool = True) -> tuple[PrivateApt, str]:
    """The updated private apt for ``arch``'s Debian target (or its fallback), and a note
    saying why a fallback stands in ("" when none does)."""
    target, why = TARGETS[arch], ""
    while True:
        apt = PrivateApt(target, contents=contents)
        try:
            apt.update(refresh=refresh)
            return apt, why
        except CheckFailed as e:
            if target.fallback is None:
                raise
            why = f"{apt.label} unavailable ({e}); {PrivateApt(target.fallback).label} used instead"
            target = target.fallback
