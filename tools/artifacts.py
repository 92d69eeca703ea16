"""Artifact plumbing shared by every stage: atomic writes, sha256, manifest.json, staging dirs.

Every artifact directory holds ``manifest.json`` (kind, creation time, inputs with sha256,
parameters, metrics, producing code version). Writes go to a temporary name, are fsynced and
renamed, so a crash never leaves a half-written file that looks complete. Whole directories are
built in a staging directory next to the target and renamed into place at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning a missing or corrupt file into a one-line InputError."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None


@contextlib.contextmanager
def staging_dir(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory under a temporary name and move it to ``target`` only on success.

    On any exception the staging directory is removed and ``target`` is left as it was, so a
    failed run never leaves a partial artifact behind and never destroys a complete one.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists (pass --overwrite to replace it)")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(target.parent, os.W_OK):
        raise InputError(f"{target.parent}: directory is not writable")
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    try:
        yield tmp
        _fsync_dir(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def code_version() -> str:
    """The git commit of the producing code (with '+dirty' for local changes), or 'unknown'."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class FileRef(BaseModel):
    path: str
    sha256: str
    bytes: int

    @classmethod
    def of(cls, path: str | Path, root: str | Path | None = None) -> FileRef:
        p = Path(path)
        shown = str(p.relative_to(root)) if root is not None else str(p)
        return cls(path=shown, sha256=sha256_file(p), bytes=p.stat().st_size)


class Manifest(BaseModel):
    kind: str
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    code_version: str = Field(default_factory=code_version)
    inputs: list[FileRef] = Field(default_factory=list)
    outputs: list[FileRef] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)


def write_manifest(
    directory: str | Path,
    kind: str,
    *,
    inputs: list[FileRef] | None = None,
    parameters: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    hash_outputs: bool = True,
) -> Manifest:
    """Write ``manifest.json`` into ``directory``, hashing every other file in it as outputs."""
    directory = Path(directory)
    outputs = []
    if hash_outputs:
        for p in sorted(directory.rglob("*")):
            if p.is_file() and p.name != MANIFEST and not p.name.startswith("."):
                outputs.append(FileRef.of(p, root=directory))
    m = Manifest(
        kind=kind,
        inputs=inputs or [],
        outputs=outputs,
        parameters=parameters or {},
        metrics=metrics or {},
    )
    atomic_write_json(directory / MANIFEST, m)
    return m


def read_manifest(directory: str | Path) -> Manifest:
    data = read_json(Path(directory) / MANIFEST)
    try:
        return Manifest.model_validate(data)
    except ValueError as e:
        raise InputError(f"{directory}/{MANIFEST}: invalid manifest ({e.__class__.__name__})") from None
