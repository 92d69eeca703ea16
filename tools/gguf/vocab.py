"""GGUF tokenizer metadata from a ``tokenizers`` tokenizer.json.

Two tokenizer kinds map onto llama.cpp vocabularies:

- byte-level BPE (GPT-2 style, ``ByteLevel`` pre-tokenizer) -> ``tokenizer.ggml.model = "gpt2"``,
  ``tokenizer.ggml.pre = "gpt-2"``: tokens in their byte-level unicode spelling, and merges;
- SentencePiece converted to tokenizer.json: ``Unigram`` -> ``tokenizer.ggml.model = "t5"``
  (llama.cpp's UGM tokenizer: the same Viterbi segmentation over the piece log-probabilities as
  SentencePiece, but without byte fallback); ``BPE`` with ``byte_fallback`` and the ``▁``
  metaspace -> ``"llama"`` (SPM) with scores = minus the token id (earlier merges win). Types:
  ``<0xNN>`` pieces are BYTE; other Unigram pieces of score 0 are SentencePiece user-defined
  symbols (e.g. a newline piece). ``add_space_prefix`` follows the tokenizer's metaspace prepend.

Special tokens (tools.dataset.SPECIAL_TOKENS, ids 0..5, and the chat tokens a task-tuned model
adds after the vocabulary) are CONTROL tokens. When the model's
embedding has more rows than the tokenizer has tokens, the rest are ``[PAD<id>]`` UNUSED tokens.
WordPiece has no llama.cpp vocabulary that the llama architecture pairs with; it is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from gguf import TokenType
from pydantic import BaseModel

from tools.dataset import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from tools.errors import InputError

BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


class GGUFVocab(BaseModel):
    model: Literal["gpt2", "llama", "t5"]
    pre: str | None
    tokens: list[str]
    types: list[int]
    scores: list[float] | None = None
    merges: list[str] | None = None
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID
    pad_id: int = PAD_ID
    unk_id: int = UNK_ID
    add_bos: bool = True
    add_eos: bool = False
    add_space_prefix: bool = False
    chat_template: str | None = None  # tokenizer.chat_template (Jinja), for a task-tuned model
    eot_id: int | None = None  # the end of the model's turn, where llama.cpp stops generating

    @property
    def unreachable_byte_ids(self) -> frozenset[int]:
        """Byte-fallback pieces that llama.cpp's tokenizer for this vocabulary never emits (UGM)."""
        if self.model != "t5":
            return frozenset()
        return frozenset(i for i, t in enumerate(self.types) if t == TokenType.BYTE)

    @property
    def kind(self) -> str:
        return f"{self.model}/{self.pre}" if self.pre else self.model


def _is_byte_level(tok: dict) -> bool:
    pre = tok.get("pre_tokenizer") or {}
    kinds = [pre.get("type")] + [p.get("type") for p in pre.get("pretokenizers", [])]
    return "ByteLevel" in kinds


def _merges(model: dict) -> list[str]:
    return [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]


def _by_id(vocab: dict[str, int], size: int, source: Path) -> list[str]:
    tokens: list[str | None] = [None] * size
    for text, i in vocab.items():
        if 0 <= i < size:
            tokens[i] = text
    missing = [i for i, t in enumerate(tokens) if t is None]
    if missing:
        raise InputError(f"{source}: token ids {missing[:5]} have no token string")
    return [t for t in tokens if t is not None]


def load_vocab(tokenizer_json: str | Path, n_vocab: int) -> GGUFVocab:
    """Read ``tokenizer_json`` and lay its vocabulary out for a model with ``n_vocab`` embedding rows."""
    path = Path(tokenizer_json)
    try:
        tok = json.loads(path.read_text(encoding="utf-8"))
        model = tok["model"]
    except FileNotFoundError:
        raise InputError(f"{path}: no such tokenizer file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a tokenizer.json ({e.__class__.__name__})") from None
    specials = {a["id"]: a["content"] for a in tok.get("added_tokens", []) if a.get("special")}
    kind = model.get("type")
    if kind == "Unigram":
        pieces = [p[0] for p in model["vocab"]]
        scores = [float(p[1]) for p in model["vocab"]]
    elif kind == "BPE":
        vocab = dict(model["vocab"])
        vocab.update({text: i for i, text in specials.items()})
        pieces = _by_id(vocab, max(vocab.values()) + 1, path)
        scores = [-float(i) for i in range(len(pieces))]
    else:
        raise InputError(f"{path}: {kind} tokenizers cannot be exported to GGUF (use bpe or sentencepiece)")
    if len(pieces) > n_vocab:
        raise InputError(f"{path}: tokenizer has {len(pieces)} tokens but the model only {n_vocab}")
    byte_level = kind == "BPE" and _is_byte_level(tok)
    types = []
    for i, text in enumerate(pieces):
        if i in specials:
            types.append(TokenType.UNKNOWN if i == UNK_ID and not byte_level else TokenType.CONTROL)
        elif not byte_level and BYTE_PIECE.match(text):
            types.append(TokenType.BYTE)
        elif kind == "Unigram" and scores[i] == 0.0:
            types.append(TokenType.USER_DEFINED)  # SentencePiece gives only its user symbols score 0
        else:
            types.append(TokenType.NORMAL)
    pad = [f"[PAD{i}]" for i in range(len(pieces), n_vocab)]
    tokens = pieces + pad
    types = [int(t) for t in types] + [int(TokenType.UNUSED)] * len(pad)
    if byte_level:
        return GGUFVocab(model="gpt2", pre="gpt-2", tokens=tokens, types=types, merges=_merges(model))
    normalizer = json.dumps(tok.get("normalizer") or {}) + json.dumps(tok.get("pre_tokenizer") or {})
    return GGUFVocab(
        model="t5" if kind == "Unigram" else "llama",
        pre=None if kind == "Unigram" else "default",
        tokens=tokens,
        types=types,
        scores=scores + [-1e9] * len(pad),
        add_space_prefix='"prepend_scheme": "first"' in normalizer or '"Prepend"' in normalizer,
    )
