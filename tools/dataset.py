"""The tokenized-dataset contract (docs/artifacts.md): special tokens, the QA format, meta.json, readers.

Every tokenizer the data stage trains puts the special tokens first, in this order, so their
ids are the same for every tokenizer type and every consumer (trainer, exporter, kernel).
Token streams hold documents as ``[BOS] tokens [EOS]`` back to back.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from tools.artifacts import read_json
from tools.errors import InputError

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>", "<|q|>", "<|a|>"]
PAD_ID, BOS_ID, EOS_ID, UNK_ID, Q_ID, A_ID = range(len(SPECIAL_TOKENS))
PAD, BOS, EOS, UNK, Q_TOKEN, A_TOKEN = SPECIAL_TOKENS

SPLITS = ("train", "val", "test")
TokenizerType = Literal["bpe", "wordpiece", "sentencepiece"]


def qa_prompt(question: str) -> str:
    """The text the model sees before it answers; the answer follows, then EOS."""
    return f"{Q_TOKEN}{question.strip()}{A_TOKEN}"


def qa_text(question: str, answer: str) -> str:
    return qa_prompt(question) + answer.strip()


class QAPair(BaseModel):
    question: str
    answer: str
    kind: str = Field(description="what the pair asks about, e.g. pci_device, package, command")
    template: str = Field(description="id of the phrasing template")
    source: str


class SplitStats(BaseModel):
    documents: int
    tokens: int
    bytes: int = Field(description="UTF-8 bytes of the split's cleaned text (for bits per byte)")


class SourceStats(BaseModel):
    name: str
    documents: int
    bytes: int
    detail: str = ""


class DatasetMeta(BaseModel):
    name: str
    arch: str
    tokenizer_type: TokenizerType
    tokenizer_detail: str = Field("", description="e.g. sentencepiece model type (unigram or bpe)")
    vocab_size: int
    dtype: Literal["uint16", "uint32"]
    special_tokens: list[str] = Field(default_factory=lambda: list(SPECIAL_TOKENS))
    splits: dict[str, SplitStats]
    sources: list[SourceStats]
    qa: dict[str, int] = Field(default_factory=dict, description="QA pairs per split")
    qa_design: dict[str, Any] = Field(
        default_factory=dict,
        description="how the QA pairs were made: template split, whether test facts occur in training",
    )


class Dataset:
    """Read side of a prepared dataset directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise InputError(f"{self.path}: no such dataset directory")
        try:
            self.meta = DatasetMeta.model_validate(read_json(self.path / "meta.json"))
        except ValueError as e:
            if isinstance(e, InputError):
                raise
            raise InputError(f"{self.path}/meta.json: not a dataset meta file") from None

    @cached_property
    def tokenizer(self):  # -> tokenizers.Tokenizer
        from tokenizers import Tokenizer

        f = self.path / "tokenizer.json"
        try:
            tok = Tokenizer.from_file(str(f))
        except Exception as e:  # tokenizers raises bare Exception subclasses
            raise InputError(f"{f}: cannot load tokenizer ({str(e).splitlines()[0]})") from None
        if tok.get_vocab_size() != self.meta.vocab_size:
            raise InputError(
                f"{f}: tokenizer has {tok.get_vocab_size()} tokens but meta.json says {self.meta.vocab_size}"
            )
        return tok

    def foreign_token(self, tokens: list[str]) -> int | None:
        """The first id whose token in ``tokens`` (a model's vocabulary, by id) is not this
        dataset's, or None when the model's vocabulary is the data's or extends it (a tuned
        model's chat tokens come after the text vocabulary)."""
        if len(tokens) < self.meta.vocab_size:
            return len(tokens)
        tok = self.tokenizer
        return next((i for i in range(self.meta.vocab_size) if tokens[i] != tok.id_to_token(i)), None)

    def tokens(self, split: str) -> np.memmap:
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r} (expected one of {', '.join(SPLITS)})")
        f = self.path / f"{split}.bin"
        if not f.is_file():
            raise InputError(f"{f}: missing split file")
        dtype = np.dtype(self.meta.dtype)
        if f.stat().st_size % dtype.itemsize:
            raise InputError(f"{f}: size is not a multiple of {dtype.itemsize} bytes (corrupt?)")
        return np.memmap(f, dtype=dtype, mode="r")

    def qa(self, split: str) -> list[QAPair]:
        f = self.path / "qa" / f"{split}.jsonl"
        if not f.is_file():
            raise InputError(f"{f}: missing QA file")
        with open(f, encoding="utf-8") as fh:
            return [QAPair.model_validate(json.loads(line)) for line in fh if line.strip()]

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)
