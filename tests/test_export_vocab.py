"""GGUF tokenizer metadata for SentencePiece tokenizers: llama.cpp tokenizes as our tokenizer.json."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fixtures_train import micro_spec, save_untrained
from tools.config import ModelConfig
from tools.dataset import qa_prompt

WORDS = (
    "the kernel probes each PCI device and loads its driver; riscv64 harts boot through OpenSBI "
    "in S-mode, aarch64 cores start at EL1, x86_64 enters long mode. Packages: gcc, make, qemu."
).split()


def _texts(n: int) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))) + "\n" for _ in range(n)]


@pytest.mark.parametrize(("spm_type", "model"), [("unigram", "t5"), ("bpe", "llama")])
def test_sentencepiece_export_tokenizes_like_tokenizer_json(tmp_path: Path, spm_type: str, model: str):

    from tools.data.tokenizer import train_tokenizer
    from tools.export.export import ExportRequest, export

    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    tok = train_tokenizer("sentencepiece", _texts(400), 320, tok_dir, spm_type=spm_type)
    cfg = ModelConfig(
        name="spm",
        model=micro_spec(vocab_size=320, n_layers=1, n_heads=2, d_ff=128, context=64),
    )
    step = save_untrained(cfg, tok_dir / "tokenizer.json", tmp_path / "run")

    d = export(ExportRequest(model=step, out=tmp_path / "exp")).deploy
    v = d.validation["tokenization"]
    assert d.passed and d.tokenizer["kind"].split("/")[0] == model
    assert v["passed"] and v["texts"] >= 1 and not v["mismatches"]
    from tools.export.validate import open_llama

    llm = open_llama(tmp_path / "exp" / "model-F32.gguf", 64)
    byte_pieces = {i for i in range(320) if tok.id_to_token(i).startswith("<0x")}
    compared = 0
    for text in [*_texts(8), qa_prompt("which driver does the kernel load?") + " gcc"]:
        ids = tok.encode(text).ids
        if model == "t5" and byte_pieces.intersection(ids):
            continue  # llama.cpp's UGM has no byte fallback (see tools.export.vocab)
        assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids
        compared += 1
    llm.close()
    assert compared >= 6
