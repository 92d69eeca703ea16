"""Token streams: documents encoded in parallel batches and written as ``[BOS] ids [EOS]`` runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from tools.dataset import BOS_ID, EOS_ID
from tools.progress import ProgressFn, null_progress

BATCH_DOCS = 256


@dataclass
class StreamStats:
    documents: int = 0
    tokens: int = 0
    bytes: int = 0
    roundtrip_failures: list[int] = field(default_factory=list)  # indices of texts that did not round-trip


def stream_dtype(vocab_size: int) -> str:
    return "uint16" if vocab_size <= 65535 else "uint32"


def write_stream(
    tok: Tokenizer,
    texts: list[str],
    path: Path,
    dtype: str,
    *,
    task: str = "encode",
    progress_offset: int = 0,
    progress_total: int | None = None,
    check_roundtrip: bool = False,
    progress: ProgressFn = null_progress,
) -> StreamStats:
    """Encode ``texts`` (encode_batch uses every core) into ``path``; with ``check_roundtrip``,
    also record which texts do not come back unchanged from decode(encode(text))."""
    stats = StreamStats(documents=len(texts))
    with open(path, "wb") as f:
        for start in range(0, len(texts), BATCH_DOCS):
            batch = texts[start : start + BATCH_DOCS]
            encodings = tok.encode_batch(batch, add_special_tokens=False)
            ids = [e.ids for e in encodings]
            if check_roundtrip:
                decoded = tok.decode_batch(ids, skip_special_tokens=False)
                stats.roundtrip_failures += [
                    start + i for i, (a, b) in enumerate(zip(batch, decoded, strict=True)) if a != b
                ]
            flat: list[int] = []
            for doc in ids:
                flat.append(BOS_ID)
                flat.extend(doc)
                flat.append(EOS_ID)
            np.asarray(flat, dtype=dtype).tofile(f)
            stats.tokens += len(flat)
            stats.bytes += sum(len(t.encode()) for t in batch)
            progress(task, progress_offset + stats.bytes, progress_total, tokens=stats.tokens)
    return stats
