"""Variants of shared fixture artifacts for negative tests, made without copying large files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


def dataset_variant(src: Path, dst: Path, **meta_updates: Any) -> Path:
    """A dataset sharing ``src``'s files (symlinks) with its own tokenizer.json and a meta.json
    with ``meta_updates`` applied; replace a symlink before writing to that file."""
    dst.mkdir()
    for f in src.iterdir():
        if f.name not in ("meta.json", "tokenizer.json"):
            (dst / f.name).symlink_to(f.resolve())
    shutil.copyfile(src / "tokenizer.json", dst / "tokenizer.json")
    meta = json.loads((src / "meta.json").read_text())
    meta.update(meta_updates)
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst


def run_copy(src: Path, dst: Path) -> Path:
    """A copy of a training run directory (pointers kept as symlinks)."""
    shutil.copytree(src, dst, symlinks=True)
    return dst
