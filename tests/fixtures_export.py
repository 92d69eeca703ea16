"""Shared pytest fixtures of the export stage.

- ``micro_gguf``: dict type -> GGUF path of the trained micro model (``micro_run``) at F32, F16,
  Q8_0 and Q4_0 (Q8_0/Q4_0 by round-to-nearest; the token embedding, tied to the output, is Q8_0
  in the Q4_0 file, see tools.gguf.plan). Files are written by tools.export without the parity
  checks (tests/test_export_gguf.py runs those); each sits in its own export directory with its
  deploy.json, e.g. ``micro_gguf["Q8_0"].parent / "deploy.json"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MICRO_GGUF_TYPES = ("F32", "F16", "Q8_0", "Q4_0")


@pytest.fixture(scope="session")
def micro_gguf(micro_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tools.export.export import ExportRequest, export

    root = tmp_path_factory.mktemp("micro_gguf")
    return {
        t: export(ExportRequest(model=micro_run, out=root / f"micro-{t}", type=t, validate=False)).file
        for t in MICRO_GGUF_TYPES
    }
