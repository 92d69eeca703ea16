"""The knowledge blob's file format (docs/console.md, "Knowledge tables").

Text, so ``less`` reads it and the kernel searches it in place: the magic line ``AUTONKB 1``,
then per section ``@section <name> <lines> <bytes>`` and its ``bytes`` bytes of tab-separated
lines each ending in ``\\n``, and the closing line ``@end``. Sections are sorted by their first
field in byte order (the kernel binary-searches line starts), except ``alias``, which keeps
modules.alias order (the first matching alias wins).
"""

from __future__ import annotations

from pathlib import Path

from tools.artifacts import atomic_write_bytes
from tools.errors import InputError

MAGIC = b"AUTONKB 1\n"
END = b"@end\n"
SECTION_ORDER = ("pci_vendor", "pci_device", "pci_class", "alias", "pkg", "cmd", "whatis", "word", "phrase")
UNSORTED = frozenset({"alias"})


def sort_rows(rows: list[str]) -> list[str]:
    """Rows in the byte order of their first field: whole-line byte order is that, since a tab
    sorts below every character a field may hold."""
    return sorted(set(rows), key=lambda r: r.encode())


def section_bytes(rows: list[str]) -> bytes:
    return "".join(f"{r}\n" for r in rows).encode()


def encode(sections: dict[str, list[str]]) -> bytes:
    """The blob for ``sections`` (name -> rows, already in their final order)."""
    out = [MAGIC]
    for name in SECTION_ORDER:
        if name in sections:
            body = section_bytes(sections[name])
            out.append(f"@section {name} {len(sections[name])} {len(body)}\n".encode())
            out.append(body)
    out.append(END)
    return b"".join(out)


def write_blob(path: Path, sections: dict[str, list[str]]) -> int:
    data = encode(sections)
    atomic_write_bytes(path, data)
    return len(data)


def read_blob(path: Path) -> dict[str, list[str]]:
    """name -> rows of a blob file, checking its framing."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise InputError(f"{path}: not a knowledge blob (no {MAGIC.decode().strip()!r} line)")
    pos, sections = len(MAGIC), {}
    while data[pos:] != END:
        eol = data.find(b"\n", pos)
        head = data[pos:eol].decode().split()
        if eol < 0 or len(head) != 4 or head[0] != "@section":
            raise InputError(f"{path}: bad section header at byte {pos}")
        body = data[eol + 1 : eol + 1 + int(head[3])]
        rows = body.decode().split("\n")[:-1]
        if len(body) != int(head[3]) or len(rows) != int(head[2]):
            raise InputError(f"{path}: section {head[1]} is not {head[2]} lines of {head[3]} bytes")
        sections[head[1]] = rows
        pos = eol + 1 + len(body)
    return sections
