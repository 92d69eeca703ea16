"""Corpus collection: pull documents from weighted sources under a byte budget, clean and dedup.

The budget counts cleaned, deduplicated UTF-8 bytes. It is shared by weight with water filling:
each round gives every source that still has documents its weighted share of what is left;
a source that runs dry before its share frees the rest for the others. Documents are pulled
lazily, so a source is read only as far as its share needs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from tools.artifacts import FileRef
from tools.data.clean import clean
from tools.data.dedup import Deduplicator
from tools.data.mix import WeightedSource
from tools.data.sources import Fact, Item, RawDoc
from tools.errors import InputError
from tools.progress import ProgressFn, null_progress


@dataclass(frozen=True)
class Doc:
    """A cleaned, kept document."""

    source: str
    origin: str
    text: str
    facts: tuple[Fact, ...]


class CleanStats(BaseModel):
    documents_read: int = 0
    documents_kept: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, description="files not read as text, by reason")
    rejected: dict[str, int] = Field(
        default_factory=dict, description="documents dropped by the quality filter"
    )
    exact_duplicates: int = 0
    near_duplicates: int = 0
    raw_bytes: int = Field(0, description="UTF-8 bytes of the documents read, before cleaning")
    clean_bytes: int = Field(0, description="UTF-8 bytes of the documents kept, after cleaning")
    seconds: float = 0.0


class SourceTally(BaseModel):
    name: str
    detail: str
    weight: float
    arch_specific: bool
    documents: int = 0
    bytes: int = Field(0, description="cleaned bytes kept from this source")
    raw_bytes: int = 0
    files_read: int = 0
    exhausted: bool = False


@dataclass
class Collection:
    docs: list[Doc]
    stats: CleanStats
    sources: list[SourceTally]
    inputs: list[FileRef] = field(default_factory=list)


def collect(
    mix: list[WeightedSource],
    *,
    max_bytes: int | None,
    seed: int,
    min_chars: int,
    near_dup_threshold: float,
    progress: ProgressFn = null_progress,
) -> Collection:
    for w in mix:
        w.source.check()
    start = time.perf_counter()
    stats = CleanStats()
    skipped: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    dedup = Deduplicator(near_dup_threshold, seed)
    tallies = [
        SourceTally(
            name=w.source.name, detail=w.source.detail, weight=w.weight, arch_specific=w.arch_specific
        )
        for w in mix
    ]
    iterators = [w.source.items(seed) for w in mix]
    docs: list[Doc] = []
    inputs: list[FileRef] = []
    total = 0

    def take(item: Item, tally: SourceTally) -> int:
        inputs.extend(item.files)
        tally.files_read += len(item.files)
        if not isinstance(item, RawDoc):
            skipped[item.reason] += 1
            return 0
        stats.documents_read += 1
        raw_len = len(item.text.encode())
        stats.raw_bytes += raw_len
        tally.raw_bytes += raw_len
        text, why = clean(item.text, item.fmt, min_chars)
        if why:
            rejected[why] += 1
            return 0
        dup = dedup.check(text)
        if dup == "exact_duplicate":
            stats.exact_duplicates += 1
            return 0
        if dup == "near_duplicate":
            stats.near_duplicates += 1
            return 0
        n = len(text.encode())
        docs.append(Doc(item.source, item.origin, text, item.facts))
        tally.documents += 1
        tally.bytes += n
        return n

    active = list(range(len(mix)))
    while active and (max_bytes is None or total < max_bytes):
        weight = sum(mix[i].weight for i in active)
        remaining = None if max_bytes is None else max_bytes - total
        for i in list(active):
            tally = tallies[i]
            quota = None if remaining is None else tally.bytes + remaining * mix[i].weight / weight
            while quota is None or tally.bytes < quota:
                item = next(iterators[i], None)
                if item is None:
                    tally.exhausted = True
                    active.remove(i)
                    break
                total += take(item, tally)
                progress("collect", total, max_bytes, docs=len(docs))
    for t in tallies:
        if t.documents == 0:
            raise InputError(f"source {t.name} gave no usable documents (skipped: {dict(skipped) or 'none'})")
    stats.documents_kept = len(docs)
    stats.clean_bytes = total
    stats.skipped = dict(skipped)
    stats.rejected = dict(rejected)
    stats.seconds = time.perf_counter() - start
    return Collection(docs, stats, tallies, inputs)
