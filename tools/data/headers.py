"""The Linux architecture headers (linux-headers-<version>-common) as a source of documents and facts."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from tools.data.sources import Fact, FileSource, files_under

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
        return [p for p in files_under(self.include) if p.suffix == ".h"]

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
