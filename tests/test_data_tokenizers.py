"""Tokenizer training: every type puts the special tokens at 0..5, hits the vocab size exactly and
is loadable from tokenizer.json; SentencePiece's converted tokenizer encodes like spm.model."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
from tokenizers import Tokenizer

from tools.data.clean import clean
from tools.data.mix import default_mix
from tools.data.sources import RawDoc
from tools.data.tokenizer import NATIVE_FILES, min_vocab_size, train_tokenizer
from tools.dataset import SPECIAL_TOKENS, qa_text
from tools.errors import InputError

VOCAB = 640
SAMPLE = "The hart\tboots OpenSBI at 0x80000000, reg = <0x00>;\n  café — Ω ≠ 漢字 🙂\n\n<|q|>What is CSR_SATP?<|a|>0x180"


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """~250 KB of real riscv documentation, cleaned, plus a few QA documents."""
    out: list[str] = []
    for w in default_mix("riscv64"):
        if w.source.name not in ("opensbi-doc", "devicetree/riscv", "qemu-doc/riscv"):
            continue
        for item in w.source.items(0):
            if isinstance(item, RawDoc):
                text, why = clean(item.text, item.fmt, 200)
                if not why:
                    out.append(text)
    out += [qa_text(f"What is CSR {i}?", hex(i)) for i in range(50)]
    return out


@pytest.mark.parametrize(
    ("kind", "spm_type"),
    [("bpe", ""), ("wordpiece", ""), ("sentencepiece", "unigram"), ("sentencepiece", "bpe")],
)
def test_tokenizer_types(kind: str, spm_type: str, texts: list[str], tmp_path: Path) -> None:
    train_tokenizer(kind, texts, VOCAB, tmp_path, spm_type=spm_type or "unigram")  # type: ignore[arg-type]
    assert {"tokenizer.json", *NATIVE_FILES[kind]} <= {p.name for p in tmp_path.iterdir()}
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert tok.get_vocab_size() == VOCAB
    assert [tok.id_to_token(i) for i in range(6)] == SPECIAL_TOKENS
    ids = tok.encode(SAMPLE, add_special_tokens=False).ids
    assert ids.count(4) == 1 and ids.count(5) == 1  # <|q|> and <|a|> are single tokens
    decoded = tok.decode(ids, skip_special_tokens=False)
    if kind == "wordpiece":
        assert "OpenSBI" in decoded  # WordPiece drops whitespace: no exact round trip
    else:
        assert decoded == SAMPLE  # byte-level BPE and byte-fallback SentencePiece are lossless
        assert 3 not in ids  # and never need <unk>
    if kind == "sentencepiece":
        sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "spm.model"))
        assert [sp.id_to_piece(i) for i in range(6)] == SPECIAL_TOKENS
        for text in [SAMPLE, *texts[:40]]:
            assert tok.encode(text, add_special_tokens=False).ids == sp.encode(text)


def test_corpus_too_small_for_vocab(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="corpus too small for vocab size 2000"):
        train_tokenizer("bpe", ["a tiny corpus with few words " * 3], 2000, tmp_path)
    with pytest.raises(InputError, match="vocab"):
        train_tokenizer("sentencepiece", ["a tiny corpus with few words " * 3], 2000, tmp_path)
    assert min_vocab_size("bpe") > 256 + len(SPECIAL_TOKENS)
