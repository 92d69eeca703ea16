"""Filler words for train requests, so the model learns that an unfamiliar word does not change
the command.

Most held-out requests hold a word that no train request has (a new frame's ``lemme``, ``spit
out``, ``mind showing``): their phrasings are held out whole. A share FILLER_RATE of the train
requests get one or two fillers at random word boundaries of their phrasing (never inside a slot
value, never on a Linux habit: ``lspci`` is a command line). A filler is a word of Debian's American
English dictionary (wamerican, /usr/share/dict/words) that no phrasing pool of any split uses
and that names no command or package of the knowledge index; so a filler is never what a
request names, and the held-out words stay unseen. Held-out requests get none.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from tools.errors import InputError
from tools.task.grammar import request_words
from tools.task.requests import pool_texts

DICTIONARY = Path("/usr/share/dict/words")
FILLER_RATE = 0.5  # share of train requests that get fillers
TWO_RATE = 0.3  # of those, the share with two fillers instead of one
WORD = re.compile(r"[a-z]{3,9}")


@cache
def _dictionary() -> tuple[str, ...]:
    if not DICTIONARY.is_file():
        raise InputError(f"{DICTIONARY}: no word list (apt-get install wamerican, or make bootstrap)")
    return tuple(w for w in DICTIONARY.read_text(encoding="utf-8").split() if WORD.fullmatch(w))


@cache
def _pool_words() -> frozenset[str]:
    return frozenset(w.lower() for text in pool_texts() for w in request_words(text))


def filler_words(names: Iterable[str]) -> list[str]:
    """Dictionary words that no phrasing pool uses and that are none of ``names`` (the index's
    command and package names), sorted."""
    exclude = _pool_words() | {n.lower() for n in names}
    return sorted(set(_dictionary()) - exclude)


def filler_sha256() -> str:
    """A digest of the dictionary and the rates: task data padded otherwise is stale."""
    text = "\n".join((*_dictionary(), str(FILLER_RATE), str(TWO_RATE)))
    return hashlib.sha256(text.encode()).hexdigest()


def pad(text: str, words: Sequence[str], rng: random.Random) -> str:
    """``text`` with one or two of ``words`` inserted at word boundaries (between the words that
    ``text`` splits into at spaces), at FILLER_RATE; else ``text`` as it is."""
    if not words or rng.random() >= FILLER_RATE:
        return text
    parts = text.split(" ")
    for _ in range(2 if rng.random() < TWO_RATE else 1):
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(words))
    return " ".join(parts)
