"""Run the ``auton-slm`` entry point in-process (no interpreter start-up per call)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Call graph.cli.main() with ``args`` as argv and return its exit code, stdout and stderr."""
    from graph.cli import main

    capsys.readouterr()
    argv, sys.argv = sys.argv, ["auton-slm", *args]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return CliResult(code=code, out=captured.out, err=captured.err)
