"""Tokenizer training: byte-level BPE, WordPiece, SentencePiece (unigram or BPE).

Every type is saved as ``tokenizer.json`` (a ``tokenizers`` Tokenizer, what every consumer
loads) plus its native files, and puts tools.dataset.SPECIAL_TOKENS at ids 0..5.

- ``bpe``: GPT-2 style byte-level BPE (ByteLevel pre-tokenizer with the GPT-2 regex, no prefix
  space, all 256 bytes in the initial alphabet, ByteLevel decoder, no normalizer), which
  llama.cpp loads from GGUF as tokenizer.ggml.model="gpt2", pre="gpt-2". Lossless:
  decode(encode(text)) == text. Native files: vocab.json + merges.txt.
- ``wordpiece``: BERT-style WordPiece (whitespace/punctuation pre-tokenizer, ``##`` prefix);
  whitespace is not kept, so it does not round-trip. Native file: vocab.txt.
- ``sentencepiece``: trained with ``sentencepiece`` (byte fallback, so every text encodes;
  identity normalisation, no dummy prefix, "\\n" as a user-defined piece), then converted to a
  ``tokenizers`` Tokenizer with transformers' SentencePiece converter. Native file: spm.model.
"""

from __future__ import annotations

import io
import os
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from tools.dataset import SPECIAL_TOKENS, UNK, TokenizerType
from tools.errors import InputError

SpmType = Literal["unigram", "bpe"]
NATIVE_FILES: dict[str, tuple[str, ...]] = {
    "bpe": ("vocab.json", "merges.txt"),
    "wordpiece": ("vocab.txt",),
    "sentencepiece": ("spm.model",),
}
SPM_NEWLINE = "\n"
_SPM_MAX_SENTENCES = 3_000_000
_SPM_BYTE = 6  # ModelProto.SentencePiece.Type.BYTE


def min_vocab_size(kind: TokenizerType) -> int:
    """Smallest vocab that holds the special tokens, the base alphabet and some merges."""
    return {
        "bpe": 256 + len(SPECIAL_TOKENS) + 32,
        "sentencepiece": 256 + len(SPECIAL_TOKENS) + 32,
        "wordpiece": 128,
    }[kind]


def _train_bpe(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer, length=len(texts))
    return tok


def _train_wordpiece(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token=UNK, max_input_chars_per_word=100))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=[c for c in string.printable if not c.isspace()],
        limit_alphabet=max(100, vocab_size // 8),
        continuing_subword_prefix="##",
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer, length=len(texts))
    return tok


def _sentences(texts: list[str]) -> Iterator[str]:
    for t in texts:
        for line in t.split("\n"):
            if line.strip():
                yield line


def _train_sentencepiece(
    texts: list[str], vocab_size: int, spm_type: SpmType, seed: int, out: Path
) -> Tokenizer:
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import SentencePieceExtractor, SpmConverter

    spm.set_random_generator_seed(seed + 1)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=_sentences(texts),
            model_writer=model,
            model_type=spm_type,
            vocab_size=vocab_size,
            byte_fallback=True,
            pad_id=0,
            bos_id=1,
            eos_id=2,
            unk_id=3,
            pad_piece=SPECIAL_TOKENS[0],
            bos_piece=SPECIAL_TOKENS[1],
            eos_piece=SPECIAL_TOKENS[2],
            unk_piece=SPECIAL_TOKENS[3],
            user_defined_symbols=[*SPECIAL_TOKENS[4:], SPM_NEWLINE],
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,  # indentation runs in code samples become pieces
            add_dummy_prefix=False,
            character_coverage=0.9995,
            input_sentence_size=_SPM_MAX_SENTENCES,
            shuffle_input_sentence=True,
            num_threads=os.cpu_count() or 1,
            minloglevel=2,
        )
    except RuntimeError as e:
        raise InputError(
            f"sentencepiece could not train a {vocab_size}-token vocab: {str(e).splitlines()[0]}"
        ) from None
    path = out / "spm.model"
    path.write_bytes(model.getvalue())
    extractor = SentencePieceExtractor(str(path))
    vocab = extractor.extract(None)["vocab"]
    if spm_type == "unigram":
        # tokenizers' Unigram would match a byte piece's name ("<0x00>") in the text itself; SentencePiece
        # never does. A score far below any real piece keeps them for byte fallback only.
        floor = min(score for _, score in vocab) - 1e4
        vocab = [
            (p, floor if proto.type == _SPM_BYTE else score)
            for (p, score), proto in zip(vocab, extractor.proto.pieces, strict=True)
        ]
    tok = SpmConverter.build_tokenizer_from_spm_proto(proto=extractor.proto, vocab=vocab, legacy=False)
    if tok is None:
        raise InputError(f"{path}: cannot convert the sentencepiece model to a tokenizers Tokenizer")
    return tok


def train_tokenizer(
    kind: TokenizerType,
    texts: list[str],
    vocab_size: int,
    out: Path,
    *,
    spm_type: SpmType = "unigram",
    seed: int = 0,
) -> Tokenizer:
    """Train on ``texts``, write tokenizer.json and the native files into ``out``, return the tokenizer."""
    if kind == "bpe":
        tok = _train_bpe(texts, vocab_size)
    elif kind == "wordpiece":
        tok = _train_wordpiece(texts, vocab_size)
    elif kind == "sentencepiece":
        tok = _train_sentencepiece(texts, vocab_size, spm_type, seed, out)
    else:
        raise InputError(f"unknown tokenizer {kind!r} (expected bpe, wordpiece or sentencepiece)")
    # specials are matched in raw text, never split; for bpe/wordpiece the trainer already put them first
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    got = tok.get_vocab_size()
    ids = [tok.token_to_id(t) for t in SPECIAL_TOKENS]
    if ids != list(range(len(SPECIAL_TOKENS))):
        raise AssertionError(f"special tokens landed at ids {ids}")  # a bug here, not bad input
    if got != vocab_size:
        raise InputError(
            f"corpus too small for vocab size {vocab_size}: the {kind} tokenizer learned only {got} tokens "
            "(add sources, raise --max-bytes or lower --vocab-size)"
        )
    tok.save(str(out / "tokenizer.json"))
    if kind != "sentencepiece":
        tok.model.save(str(out))
    return tok
