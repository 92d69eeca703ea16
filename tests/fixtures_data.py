"""Shared pytest fixtures of the data stage.

- ``fixture_corpus``: a small directory of text files in several markups (rst, Markdown, YAML,
  roff, plain), with an exact duplicate, a near duplicate, a too-short file, a binary file and
  a non-UTF-8 file, written by the fixture (no committed data).
- ``micro_dataset``: a prepared dataset from the real built-in riscv64 sources, capped at
  ~1.5 MB of text: byte-level BPE (llama.cpp-loadable, tokenizer.ggml.model "gpt2"), vocab 512,
  ~1M train tokens, QA pairs in qa/train.jsonl and qa/test.jsonl. Builds in a few seconds.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tools.data.prepare import PrepareRequest, prepare

MICRO_VOCAB = 512
MICRO_MAX_BYTES = 1_500_000

_WORDS = (
    "kernel driver device bus interrupt register memory page table timer console serial uart "
    "boot loader firmware hart core cache queue buffer packet network block disk partition "
    "module symbol address offset mapping region controller clock reset power thermal sensor "
    "package command option file directory user process thread signal scheduler priority"
).split()
_VERBS = "reads writes maps enables disables probes resets configures handles reports".split()


def _paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        subject, obj, extra = rng.sample(_WORDS, 3)
        out.append(f"The {subject} {rng.choice(_VERBS)} the {obj} when the {extra} is ready.")
    return " ".join(out)


def write_fixture_corpus(root: Path, seed: int = 0, documents: int = 120) -> Path:
    """Write the fixture corpus into ``root`` and return it (also usable outside pytest)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(documents):
        body = "\n\n".join(_paragraph(rng, 6) for _ in range(4))
        kind = i % 4
        if kind == 0:
            text = f"Section {i}\n{'=' * 12}\n\n{body}\n\n.. note::\n\n   Use :c:func:`probe_{i}` first.\n"
            (root / f"doc{i:02d}.rst").write_text(text)
        elif kind == 1:
            (root / f"doc{i:02d}.md").write_text(f"# Notes {i}\n\n{body}\n\nSee [the guide](http://x/{i}).\n")
        elif kind == 2:
            roff = body.replace("\n\n", "\n.PP\n")
            text = f".TH TOOL{i} 1\n.SH NAME\ntool{i} \\- manage the device {i}\n.SH DESCRIPTION\n{roff}\n"
            (root / f"tool{i}.1").write_text(text)
        else:
            (root / f"doc{i:02d}.txt").write_text(body + "\n")
    first = (root / "doc03.txt").read_text()
    (root / "copy_of_doc03.txt").write_text(first)  # exact duplicate
    (root / "near_doc03.txt").write_text(first.replace("ready.", "ready!", 1))  # near duplicate
    (root / "short.txt").write_text("too short\n")
    (root / "blob.bin").write_bytes(bytes(range(256)) * 8)
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e ".encode("latin-1") * 40)
    return root


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_corpus(tmp_path_factory.mktemp("data") / "corpus")


@pytest.fixture(scope="session")
def micro_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "micro-riscv64-bpe512"
    req = PrepareRequest.build(
        arch="riscv64", tokenizer="bpe", vocab_size=MICRO_VOCAB, out=out, max_bytes=MICRO_MAX_BYTES
    )
    prepare(req)
    return out
