"""Exact and near-duplicate detection, streaming: each document is checked against those kept so far.

Exact duplicates: sha256 of the normalised text. Near duplicates: MinHash over word 5-gram
shingles with LSH banding (16 bands x 4 rows of 64 hashes); a candidate that shares a band is a
duplicate when its estimated Jaccard similarity reaches the threshold.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Literal

import numpy as np

Duplicate = Literal["exact_duplicate", "near_duplicate"]

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
_MAX_SHINGLES = 20000  # enough to characterise a document; bounds the cost for huge ones
_MERSENNE = np.uint64((1 << 61) - 1)


def _word_hashes(text: str) -> np.ndarray:
    return np.fromiter((zlib.crc32(w.encode()) for w in text.lower().split()), dtype=np.uint64)


def shingle_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the word 5-grams of ``text`` (a single hash for shorter texts)."""
    words = _word_hashes(text)
    if len(words) < SHINGLE:
        return np.array([zlib.crc32(text.encode())], dtype=np.uint64)
    n = min(len(words) - SHINGLE + 1, _MAX_SHINGLES)
    h = np.zeros(n, dtype=np.uint64)
    for k in range(SHINGLE):
        h = h * np.uint64(0x100000001B3) + words[k : k + n]  # wraps mod 2**64
    return np.unique(h)


class MinHasher:
    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed + 0x5EED)
        self.a = rng.integers(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)

    def signature(self, text: str) -> np.ndarray:
        x = shingle_hashes(text) & _MERSENNE
        # (a*x + b) on uint64 wraps; the multiply-xorshift keeps the permutations independent enough
        v = x[None, :] * self.a[:, None] + self.b[:, None]
        v ^= v >> np.uint64(29)
        return v.min(axis=1)


class Deduplicator:
    """Remembers kept documents; ``check`` says whether a new one duplicates any of them."""

    def __init__(self, threshold: float = 0.8, seed: int = 0):
        self.threshold = threshold
        self.exact: set[bytes] = set()
        self.hasher = MinHasher(seed)
        self.bands: list[dict[bytes, int]] = [{} for _ in range(BANDS)]
        self.signatures: list[np.ndarray] = []

    def check(self, text: str) -> Duplicate | None:
        """None (and the document is remembered) if new, else the kind of duplicate it is."""
        digest = hashlib.sha256(text.encode()).digest()
        if digest in self.exact:
            return "exact_duplicate"
        self.exact.add(digest)  # also for near duplicates: a later exact copy is an exact duplicate
        sig = self.hasher.signature(text)
        keys = [sig[i * ROWS : (i + 1) * ROWS].tobytes() for i in range(BANDS)]
        for band, key in zip(self.bands, keys, strict=True):
            other = band.get(key)
            if other is not None and float(np.mean(self.signatures[other] == sig)) >= self.threshold:
                return "near_duplicate"
        idx = len(self.signatures)
        self.signatures.append(sig)
        for band, key in zip(self.bands, keys, strict=True):
            band.setdefault(key, idx)
        return None
