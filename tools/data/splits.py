"""Deterministic train/val/test assignment by document hash.

A document's split depends only on its cleaned text and the seed, so re-running gives identical
files, and identical texts (already removed by dedup) could never straddle two splits.
"""

from __future__ import annotations

import hashlib


def unit_hash(text: str, seed: int, salt: str = "split") -> float:
    """A number in [0, 1) that is a pure function of (salt, seed, text)."""
    digest = hashlib.sha256(f"{salt}:{seed}:".encode() + text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(text: str, seed: int, val_fraction: float, test_fraction: float) -> str:
    u = unit_hash(text, seed)
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"
