"""``prepare``: sources -> cleaned, deduplicated corpus -> QA pairs -> tokenizer -> splits -> streams.

Writes the dataset contract of docs/artifacts.md into ``out`` atomically (a staging directory renamed
into place), so a failure leaves nothing partial behind.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.artifacts import FileRef, atomic_write_json, atomic_write_text, staging_dir, write_manifest
from tools.data.collect import CleanStats, Collection, SourceTally, collect
from tools.data.mix import resolve_sources
from tools.data.qa import QASet, make_qa
from tools.data.splits import split_of, unit_hash
from tools.data.streams import StreamStats, stream_dtype, write_stream
from tools.data.tokenizer import SpmType, min_vocab_size, train_tokenizer
from tools.dataset import SPLITS, DatasetMeta, QAPair, SourceStats, SplitStats, TokenizerType, qa_text
from tools.errors import CheckFailed, InputError, validation_message
from tools.progress import ProgressFn, null_progress
from tools.tiers import Arch

DEFAULT_MAX_BYTES = 32 << 20
MAX_VOCAB = 1 << 20


class PrepareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arch: Arch
    tokenizer: TokenizerType
    vocab_size: int = Field(gt=0, le=MAX_VOCAB)
    out: Path
    sources: list[str] = Field(
        default_factory=list, description="--source specs; empty: the arch's default mix"
    )
    max_bytes: int | None = Field(DEFAULT_MAX_BYTES, gt=0, description="cleaned-text budget; None: no cap")
    name: str | None = Field(None, description="dataset name; default: the output directory's name")
    seed: int = 0
    spm_type: SpmType = "unigram"
    overwrite: bool = False
    val_fraction: float = Field(0.05, gt=0, lt=0.5)
    test_fraction: float = Field(0.05, gt=0, lt=0.5)
    min_doc_chars: int = Field(200, ge=1)
    near_dup_threshold: float = Field(0.8, gt=0, le=1)
    qa_fraction: float = Field(
        0.1, ge=0, le=0.5, description="QA training pairs, as a share of the corpus bytes"
    )
    qa_eval_per_kind: int = Field(50, ge=0, description="held-out test pairs per kind of fact; val gets half")
    arch_repeat: int = Field(
        4, ge=1, le=16, description="times each train document of an arch-specific source occurs in train.bin"
    )

    @classmethod
    def build(cls, **fields: object) -> PrepareRequest:
        """Validate ``fields``, turning a pydantic error into a one-line InputError."""
        try:
            return cls.model_validate(fields)
        except ValidationError as e:
            raise InputError(validation_message(e, "request")) from None


class PrepareResult(BaseModel):
    path: str
    meta: DatasetMeta
    clean: CleanStats
    sources: list[SourceTally]
    timings: dict[str, float] = Field(description="seconds per phase: collect, qa, tokenizer, encode, total")
    encoded_bytes: int


def _split_docs(coll: Collection, req: PrepareRequest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    focus = {t.name for t in coll.sources if t.arch_specific}
    for doc in coll.docs:
        split = split_of(doc.text, req.seed, req.val_fraction, req.test_fraction)
        # arch-specific text is scarce next to the general sources: upsample it in training only
        copies = req.arch_repeat if split == "train" and doc.source in focus else 1
        out[split] += [doc.text] * copies
    for split, docs in out.items():
        if not docs:
            raise InputError(
                f"corpus too small: {len(coll.docs)} documents leave the {split} split empty "
                "(add sources or raise --max-bytes)"
            )
    return out


def _write_qa(qa: QASet, directory: Path) -> None:
    for split in SPLITS:
        pairs: list[QAPair] = getattr(qa, split)
        atomic_write_text(directory / f"{split}.jsonl", "".join(p.model_dump_json() + "\n" for p in pairs))


def _unique_inputs(refs: list[FileRef]) -> list[FileRef]:
    return list({r.path: r for r in refs}.values())


def prepare(req: PrepareRequest, progress: ProgressFn = null_progress) -> PrepareResult:
    if req.vocab_size < min_vocab_size(req.tokenizer):
        raise InputError(
            f"--vocab-size {req.vocab_size} is too small for {req.tokenizer} (minimum {min_vocab_size(req.tokenizer)})"
        )
    mix = resolve_sources(req.arch.value, req.sources)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with staging_dir(req.out, overwrite=req.overwrite) as tmp:
        coll = collect(
            mix,
            max_bytes=req.max_bytes,
            seed=req.seed,
            min_chars=req.min_doc_chars,
            near_dup_threshold=req.near_dup_threshold,
            progress=progress,
        )
        timings["collect"] = coll.stats.seconds
        splits = _split_docs(coll, req)

        t = time.perf_counter()
        qa = make_qa(
            [f for d in coll.docs for f in d.facts],
            arch=req.arch.value,
            budget_bytes=int(req.qa_fraction * coll.stats.clean_bytes),
            eval_per_kind=req.qa_eval_per_kind,
            seed=req.seed,
        )
        splits["train"] += [qa_text(p.question, p.answer) for p in qa.train]
        for (
            split,
            texts,
        ) in splits.items():  # interleave sources, QA pairs and repeated copies, deterministically
            keyed = sorted(
                (unit_hash(f"{i}:{text}", req.seed, "order"), text) for i, text in enumerate(texts)
            )
            splits[split] = [text for _, text in keyed]
        timings["qa"] = time.perf_counter() - t

        t = time.perf_counter()
        progress("tokenizer", 0, 1)
        tok = train_tokenizer(
            req.tokenizer, splits["train"], req.vocab_size, tmp, spm_type=req.spm_type, seed=req.seed
        )
        progress("tokenizer", 1, 1)
        timings["tokenizer"] = time.perf_counter() - t

        t = time.perf_counter()
        dtype = stream_dtype(req.vocab_size)
        total = sum(len(x.encode()) for docs in splits.values() for x in docs)
        streams: dict[str, StreamStats] = {}
        done = 0
        for split in SPLITS:
            streams[split] = write_stream(
                tok,
                splits[split],
                tmp / f"{split}.bin",
                dtype,
                progress_offset=done,
                progress_total=total,
                check_roundtrip=req.tokenizer == "bpe" and split == "test",
                progress=progress,
            )
            done += streams[split].bytes
        timings["encode"] = time.perf_counter() - t
        failures = streams["test"].roundtrip_failures
        if failures:
            raise CheckFailed(f"bpe round trip failed on {len(failures)} test documents (a tokenizer bug)")

        _write_qa(qa, tmp / "qa")
        meta = DatasetMeta(
            name=req.name or req.out.name,
            arch=req.arch.value,
            tokenizer_type=req.tokenizer,
            tokenizer_detail=req.spm_type if req.tokenizer == "sentencepiece" else "",
            vocab_size=req.vocab_size,
            dtype=dtype,  # type: ignore[arg-type]
            splits={
                s: SplitStats(documents=v.documents, tokens=v.tokens, bytes=v.bytes)
                for s, v in streams.items()
            },
            sources=[
                SourceStats(
                    name=t.name,
                    documents=t.documents,
                    bytes=t.bytes,
                    detail=t.detail
                    + (f"; arch-specific, {req.arch_repeat}x in train" if t.arch_specific else ""),
                )
                for t in coll.sources
            ],
            qa={s: len(getattr(qa, s)) for s in SPLITS},
            qa_design=qa.design(),
        )
        atomic_write_json(tmp / "meta.json", meta)
        timings["total"] = time.perf_counter() - t0
        write_manifest(
            tmp,
            "dataset",
            inputs=_unique_inputs(coll.inputs),
            parameters=json.loads(req.model_dump_json()),
            metrics={
                "clean": coll.stats.model_dump(),
                "sources": [t.model_dump() for t in coll.sources],
                "arch_specific_sources": [t.name for t in coll.sources if t.arch_specific and t.documents],
                "tokens": {s: v.tokens for s, v in streams.items()},
                "qa": meta.qa,
                "bpe_roundtrip_test": (not failures) if req.tokenizer == "bpe" else None,
                "timings_s": timings,
            },
        )
    return PrepareResult(
        path=str(req.out),
        meta=meta,
        clean=coll.stats,
        sources=coll.sources,
        timings=timings,
        encoded_bytes=done,
    )
