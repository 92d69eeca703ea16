"""Cleaning: bytes -> text -> prose -> normalised text, and the quality filter.

Normalisation happens here and not in the tokenizers (the BPE tokenizer has no normalizer), so
every tokenizer type sees the same text: Unicode NFC, no control characters, tabs expanded,
no trailing spaces, at most one blank line in a row. Literal special-token strings in the
source text are broken up so that only the data stage ever emits those ids.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from tools.data.markup import Format, to_prose
from tools.dataset import SPECIAL_TOKENS

Rejection = Literal["binary", "non_utf8", "too_short", "garbage"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff\ufffd]")
_TRAILING = re.compile(r"[ \t]+$", re.M)
_BLANKS = re.compile(r"\n{3,}")
_SPECIALS = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))


def decode(data: bytes) -> tuple[str | None, Rejection | None]:
    """(UTF-8 text, None), or (None, why the bytes are not text: NUL bytes or bad UTF-8)."""
    if b"\x00" in data[:8192]:
        return None, "binary"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "non_utf8"


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.expandtabs(4))
    text = _SPECIALS.sub(lambda m: m.group(0)[0] + " " + m.group(0)[1:], text)
    text = _TRAILING.sub("", text)
    return _BLANKS.sub("\n\n", text).strip("\n")


def quality(text: str, min_chars: int) -> Rejection | None:
    """Why a normalised document should be dropped, or None to keep it."""
    if len(text) < min_chars:
        return "too_short"
    sample = text[:20000]
    letters = sum(c.isalpha() for c in sample)
    if letters < 0.25 * len(sample):
        return "garbage"
    words = sample.split()
    if not words or sum(len(w) for w in words) / len(words) > 25:
        return "garbage"  # base64 blobs, hex dumps without spaces
    return None


def clean(text: str, fmt: Format, min_chars: int) -> tuple[str, Rejection | None]:
    """Markup to normalised prose, and the reason to reject it (None to keep it)."""
    prose = normalize(to_prose(text, fmt))
    return prose, quality(prose, min_chars)
