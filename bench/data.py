"""Data preparation throughput: cleaning MB/s, encoding MB/s, and bytes per token per tokenizer type.

Cleaning is timed in isolation: documents are first read from the arch's default mix (file
reads and gunzip not timed), then ``tools.data.clean.clean`` (markup to prose, normalisation,
quality filter) runs over them, then the near-duplicate check (MinHash) over what it kept.
MB/s counts the raw input bytes. Encoding and bytes/token come from full ``prepare`` runs, one
per tokenizer type, on the same budget: encoding MB/s = text bytes encoded / seconds of the
encode phase (encode_batch over all cores, stream writing included); bytes per token = UTF-8
bytes of the test split / its tokens, BOS/EOS not counted.

    .venv/bin/python bench/data.py [--arch riscv64] [--vocab-size 4096] [--max-bytes 33554432]
        [--types bpe,wordpiece,sentencepiece-unigram,sentencepiece-bpe]

Prints a table and writes bench/results/data-<arch>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.data.clean import clean  # noqa: E402
from tools.data.dedup import Deduplicator  # noqa: E402
from tools.data.mix import default_mix  # noqa: E402
from tools.data.prepare import DEFAULT_MAX_BYTES, PrepareRequest, prepare  # noqa: E402
from tools.data.sources import RawDoc  # noqa: E402

MB = 1e6


def bench_cleaning(arch: str, max_bytes: int) -> dict[str, float]:
    """Read up to ``max_bytes`` of raw documents round-robin from the mix, then time cleaning and dedup."""
    iterators = [w.source.items(0) for w in default_mix(arch)]
    docs: list[RawDoc] = []
    total = 0
    while iterators and total < max_bytes:
        for it in list(iterators):
            item = next(it, None)
            if item is None:
                iterators.remove(it)
            elif isinstance(item, RawDoc):
                docs.append(item)
                total += len(item.text.encode())
    t = time.perf_counter()
    kept = [text for text, why in (clean(d.text, d.fmt, 200) for d in docs) if why is None]
    clean_s = time.perf_counter() - t
    dedup = Deduplicator()
    t = time.perf_counter()
    for text in kept:
        dedup.check(text)
    dedup_s = time.perf_counter() - t
    kept_bytes = sum(len(x.encode()) for x in kept)
    return {
        "documents": len(docs),
        "raw_mb": total / MB,
        "clean_s": clean_s,
        "clean_mb_s": total / MB / clean_s,
        "dedup_mb_s": kept_bytes / MB / dedup_s,
    }


def bench_tokenizer(
    arch: str, kind: str, vocab: int, max_bytes: int, out: Path
) -> dict[str, float | int | str]:
    tokenizer, _, spm_type = kind.partition("-")
    req = PrepareRequest.build(
        arch=arch,
        tokenizer=tokenizer,
        vocab_size=vocab,
        out=out / kind,
        max_bytes=max_bytes,
        spm_type=spm_type or "unigram",
    )
    res = prepare(req)
    test = res.meta.splits["test"]
    return {
        "type": kind,
        "train_tokens": res.meta.splits["train"].tokens,
        "tokenizer_s": res.timings["tokenizer"],
        "encode_mb_s": res.encoded_bytes / MB / res.timings["encode"],
        "collect_mb_s": res.clean.raw_bytes / MB / res.timings["collect"],
        "test_bytes_per_token": test.bytes / (test.tokens - 2 * test.documents),
        "total_s": res.timings["total"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="riscv64", choices=["riscv64", "aarch64", "x86_64"])
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)
    ap.add_argument("--clean-bytes", type=int, default=8_000_000, help="raw bytes for the cleaning benchmark")
    ap.add_argument("--types", default="bpe,wordpiece,sentencepiece-unigram,sentencepiece-bpe")
    args = ap.parse_args()

    cleaning = bench_cleaning(args.arch, args.clean_bytes)
    print(
        f"cleaning ({args.arch} mix, {cleaning['documents']} docs, {cleaning['raw_mb']:.1f} MB raw): "
        f"{cleaning['clean_mb_s']:.2f} MB/s clean, {cleaning['dedup_mb_s']:.2f} MB/s near-dup check"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        for kind in args.types.split(","):
            rows.append(bench_tokenizer(args.arch, kind, args.vocab_size, args.max_bytes, Path(tmp)))
            r = rows[-1]
            print(f"  done {kind}: {r['total_s']:.0f} s", file=sys.stderr)
    header = f"{'tokenizer':22s} {'train tokens':>13s} {'train tok s':>11s} {'encode MB/s':>11s} {'test B/token':>12s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['type']:22s} {r['train_tokens']:>13,} {r['tokenizer_s']:>11.1f} "
            f"{r['encode_mb_s']:>11.2f} {r['test_bytes_per_token']:>12.3f}"
        )
    result = {
        "arch": args.arch,
        "vocab_size": args.vocab_size,
        "max_bytes": args.max_bytes,
        "cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "cleaning": cleaning,
        "tokenizers": rows,
    }
    out = REPO / "bench" / "results" / f"data-{args.arch}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"wrote {out.relative_to(REPO)} (load average {result['load_avg_1m']:.1f} on {result['cpus']} CPUs)"
    )


if __name__ == "__main__":
    main()
