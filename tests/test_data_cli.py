"""``auton-slm data prepare``: --json output, and bad input as one line, exit 2, nothing left on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_run import run_cli
from tools.dataset import Dataset


def _prepare(out: Path, *args: str) -> list[str]:
    return [
        "data",
        "prepare",
        "--arch",
        "riscv64",
        "--tokenizer",
        "bpe",
        "--vocab-size",
        "300",
        "--out",
        str(out),
        *args,
    ]


def test_json_result(fixture_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ds"
    res = run_cli(capsys, *_prepare(out, "--source", f"dir:{fixture_corpus}", "--json", "--seed", "3"))
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["path"] == str(out) and doc["meta"]["vocab_size"] == 300
    assert doc["clean"]["skipped"] == {"binary": 1, "non_utf8": 1}
    assert doc["meta"]["splits"]["train"]["tokens"] == Dataset(out).meta.splits["train"].tokens
    assert set(doc["timings"]) == {"collect", "qa", "tokenizer", "encode", "total"}
    again = run_cli(capsys, *_prepare(out, "--source", f"dir:{fixture_corpus}"))
    assert again.code == 2 and "already exists (pass --overwrite" in again.err
    capped = run_cli(
        capsys,
        *_prepare(out, "--source", str(fixture_corpus), "--max-bytes", "120000", "--overwrite", "--json"),
    )
    assert capped.code == 0, capped.err
    assert (
        120_000 <= json.loads(capped.out)["clean"]["clean_bytes"] < 123_000
    )  # the budget, plus one document


def test_sentencepiece_options(
    fixture_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "prepare", "--arch", "x86_64", "--tokenizer", "sentencepiece", "--spm-type", "bpe"]
    res = run_cli(
        capsys, *argv, "--vocab-size", "320", "--source", str(fixture_corpus), "--out", str(tmp_path / "s")
    )
    assert res.code == 0, res.err
    meta = Dataset(tmp_path / "s").meta
    assert (meta.tokenizer_type, meta.tokenizer_detail, meta.arch) == ("sentencepiece", "bpe", "x86_64")
    assert (tmp_path / "s" / "spm.model").is_file()


def _binary_dir(tmp_path: Path) -> Path:
    d = tmp_path / "binary"
    d.mkdir()
    (d / "a.bin").write_bytes(b"\x00\x01" * 500)
    return d


def _empty_dir(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda c, t: ["--source", str(t / "missing")], "no such file, directory or matching files"),
        (lambda c, t: ["--source", str(_empty_dir(t))], "no such file, directory or matching files"),
        (lambda c, t: ["--source", str(_binary_dir(t))], "gave no usable documents (skipped: {'binary': 1})"),
        (lambda c, t: ["--source", str(c), "--vocab-size", "30000"], "corpus too small for vocab size 30000"),
        (lambda c, t: ["--source", str(c), "--vocab-size", "100"], "too small for bpe"),
        (lambda c, t: ["--source", "no-such-source"], "unknown source 'no-such-source'"),
        (lambda c, t: ["--source", str(c), "--arch", "mips"], "Invalid value for '--arch'"),
        (lambda c, t: ["--source", str(c), "--tokenizer", "unigram"], "Invalid value for '--tokenizer'"),
    ],
    ids=["missing", "empty", "binary-only", "too-small", "tiny-vocab", "unknown-source", "arch", "tokenizer"],
)
def test_bad_input(
    args, message: str, fixture_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "ds"
    res = run_cli(capsys, *_prepare(out, *args(fixture_corpus, tmp_path)))
    assert res.code == 2
    errors = [
        line for line in res.err.splitlines() if line.startswith("error: ")
    ]  # other lines: progress bars
    assert len(errors) == 1 and message in errors[0] and res.err.rstrip().endswith(errors[0])
    assert "Traceback" not in res.err and res.out == ""
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))  # no staging directory left behind
