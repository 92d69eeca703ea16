"""The ``whatis`` table: ``name\\tsection\\tone-line description`` of the commands' man pages.

The source is man-db's whatis data (the NAME sections of every page installed under the manual
path, ``/usr/share/man`` among them), read with ``whatis --long`` for the command sections 1, 6
and 8: ``gzip (1) - compress or expand files`` becomes ``gzip\\t1\\tcompress or expand files``.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from tools.errors import CheckFailed, InputError
from tools.kb.archive import clean

SECTIONS = "1,6,8"
_LINE = re.compile(r"^(\S+) \((\w+)\)\s+- (.*)$")


def whatis_rows() -> list[str]:
    if shutil.which("whatis") is None:
        raise InputError("whatis not found: install the Debian package man-db")
    proc = subprocess.run(
        ["whatis", "--long", "-s", SECTIONS, "-w", "*"], capture_output=True, text=True, errors="replace"
    )
    rows = {
        f"{m.group(1)}\t{m.group(2)}\t{clean(m.group(3))}"
        for line in proc.stdout.splitlines()
        if (m := _LINE.match(line))
    }
    if not rows:
        raise CheckFailed("whatis knows no command pages: install man-db and manpages, then run mandb")
    return sorted(rows)
