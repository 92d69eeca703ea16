"""Review of a prepared dataset directory (tools.dataset contract).

Checks:
- ``loads``: meta.json, tokenizer.json and the three split streams read;
- ``special_tokens``: ids 0..5 are tools.dataset.SPECIAL_TOKENS;
- ``token_counts``: each stream's length matches meta.json, every id is below the vocabulary size,
  documents are ``[BOS] ... [EOS]`` (BOS count = meta documents), val and test hold at least
  ``MIN_EVAL_TOKENS``, bytes per token lies in ``BYTES_PER_TOKEN``;
- ``splits_disjoint``: no document (hash of its token ids) is in two splits;
- ``qa_held_out``: held-out QA pairs exist and none of their questions is a train question;
- ``tokenizer_roundtrip``: ``encode(decode(doc)) == doc`` for the first test documents
  (``ROUNDTRIP_TOKENS`` tokens): the streams are what the tokenizer makes of their own text;
- ``enough_tokens`` (with a config): the schedule's tokens (steps x batch x grad_accum x context)
  need at most ``MAX_EPOCHS`` passes over the train split.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from tools.artifacts import read_manifest
from tools.config import ModelConfig
from tools.dataset import BOS_ID, EOS_ID, SPECIAL_TOKENS, SPLITS, Dataset
from tools.errors import InputError
from tools.review.findings import passed, rejected, remedy, rerun
from tools.verdict import Finding, Verdict

MIN_EVAL_TOKENS = 1024
BYTES_PER_TOKEN = (0.8, 10.0)
ROUNDTRIP_TOKENS = 20_000
MAX_EPOCHS = 4  # repeating data up to ~4 epochs costs little (Muennighoff et al., 2023)
MORE_DATA_MARGIN = 1.2


def documents(stream: np.ndarray) -> list[np.ndarray]:
    """The token ids of each ``[BOS] ids [EOS]`` document of a stream (without BOS/EOS)."""
    starts = np.flatnonzero(stream == BOS_ID)
    ends = np.append(starts[1:], len(stream))
    return [
        stream[s + 1 : e - 1] if stream[e - 1] == EOS_ID else stream[s + 1 : e]
        for s, e in zip(starts, ends, strict=True)
    ]


def _digest(doc: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(doc, dtype=np.uint32).tobytes(), digest_size=16).digest()


def check_special_tokens(data: Dataset) -> Finding:
    found = [data.tokenizer.id_to_token(i) for i in range(len(SPECIAL_TOKENS))]
    if found == SPECIAL_TOKENS:
        return passed("special_tokens", "data", "special tokens hold ids 0..5")
    return rejected(
        "special_tokens",
        "data",
        f"ids 0..5 are {found}, expected {SPECIAL_TOKENS}",
        rerun("data", "the tokenizer must put the special tokens first"),
        found=found,
    )


def check_token_counts(data: Dataset, streams: dict[str, np.ndarray]) -> Finding:
    problems: list[str] = []
    evidence: dict[str, dict[str, float]] = {}
    for split, stream in streams.items():
        stats = data.meta.splits.get(split)
        if stats is None:
            problems.append(f"meta.json has no {split} split")
            continue
        n = len(stream)
        evidence[split] = {"tokens": n, "meta_tokens": stats.tokens, "documents": stats.documents}
        if n != stats.tokens:
            problems.append(f"{split}.bin holds {n} tokens but meta.json says {stats.tokens}")
        if n == 0:
            problems.append(f"{split} split is empty")
            continue
        top = int(stream.max())
        if top >= data.meta.vocab_size:
            problems.append(f"{split}.bin has token id {top} >= vocab size {data.meta.vocab_size}")
        bos = int(np.count_nonzero(stream == BOS_ID))
        if stream[0] != BOS_ID or stream[-1] != EOS_ID or bos != stats.documents:
            problems.append(
                f"{split}.bin is not {stats.documents} [BOS] ... [EOS] documents ({bos} BOS found)"
            )
        if split != "train" and n < MIN_EVAL_TOKENS:
            problems.append(f"{split} split has {n} tokens, fewer than {MIN_EVAL_TOKENS}")
        ratio = stats.bytes / n
        evidence[split]["bytes_per_token"] = round(ratio, 3)
        lo, hi = BYTES_PER_TOKEN
        if not lo <= ratio <= hi:
            problems.append(f"{split} split has {ratio:.2f} bytes per token, outside [{lo}, {hi}]")
    if problems:
        return rejected(
            "token_counts",
            "data",
            "; ".join(problems),
            rerun("data", "the token streams are inconsistent"),
            **evidence,
        )
    return passed(
        "token_counts", "data", "streams match meta.json, ids in range, documents well formed", **evidence
    )


def check_splits_disjoint(data: Dataset, streams: dict[str, np.ndarray]) -> Finding:
    seen: dict[bytes, str] = {}
    shared: dict[str, int] = {}
    example: dict[str, str] = {}
    for split, stream in streams.items():
        for doc in set(map(_digest, documents(stream))):
            first = seen.setdefault(doc, split)
            if first != split:
                pair = f"{first}/{split}"
                shared[pair] = shared.get(pair, 0) + 1
    if not shared:
        return passed("splits_disjoint", "data", "no document is in two splits", splits=list(streams))
    for pair in shared:  # show one leaked document per pair of splits
        a, b = pair.split("/")
        in_a = {_digest(d) for d in documents(streams[a])}
        doc = next(d for d in documents(streams[b]) if _digest(d) in in_a)
        example[pair] = data.decode([int(t) for t in doc[:40]])
    text = ", ".join(f"{n} documents in {p}" for p, n in shared.items())
    return rejected(
        "splits_disjoint",
        "data",
        f"splits share documents: {text}",
        rerun("data", "split by document hash so that no document lands in two splits"),
        shared=shared,
        examples=example,
    )


def check_qa_held_out(data: Dataset) -> Finding:
    try:
        test = data.qa("test")
        train = {p.question.strip() for p in data.qa("train")}
    except (InputError, ValueError) as e:
        message = str(e).splitlines()[0]
        return rejected("qa_held_out", "data", message, rerun("data", "the QA files are missing or invalid"))
    leaked = [p.question for p in test if p.question.strip() in train]
    if not test:
        return rejected(
            "qa_held_out", "data", "qa/test.jsonl is empty", rerun("data", "no held-out QA pairs")
        )
    if leaked:
        return rejected(
            "qa_held_out",
            "data",
            f"{len(leaked)} of {len(test)} held-out questions are also train questions",
            rerun("data", "held-out QA pairs must use templates never used in training"),
            leaked=leaked[:5],
        )
    return passed(
        "qa_held_out", "data", f"{len(test)} held-out QA pairs, none asked in training", pairs=len(test)
    )


def check_roundtrip(data: Dataset, test: np.ndarray) -> Finding:
    docs, total, bad = 0, 0, []
    for doc in documents(test):
        if total >= ROUNDTRIP_TOKENS:
            break
        ids = [int(t) for t in doc]
        if data.encode(data.decode(ids)) != ids:
            bad.append(data.decode(ids[:40]))
        docs, total = docs + 1, total + len(ids)
    if bad:
        return rejected(
            "tokenizer_roundtrip",
            "data",
            f"{len(bad)} of {docs} test documents do not round-trip encode(decode(ids)) == ids",
            rerun("data", "the token streams were not made by this tokenizer"),
            examples=bad[:3],
            tokenizer=data.meta.tokenizer_type,
        )
    return passed(
        "tokenizer_roundtrip", "data", f"{docs} test documents ({total} tokens) round-trip", documents=docs
    )


def check_enough_tokens(data: Dataset, path: Path, cfg: ModelConfig) -> Finding:
    t = cfg.training
    per_step = t.batch_size * t.grad_accum * cfg.model.context
    needed = t.max_steps * per_step
    have = data.meta.splits["train"].tokens
    epochs = needed / have
    evidence = {
        "train_tokens": have,
        "schedule_tokens": needed,
        "epochs": round(epochs, 3),
        "max_epochs": MAX_EPOCHS,
    }
    if have >= 2 * cfg.model.context + 1 and epochs <= MAX_EPOCHS:
        return passed(
            "enough_tokens", "data", f"the schedule takes {epochs:.2f} epochs of the train split", **evidence
        )
    message = f"the schedule needs {needed:,} tokens, {epochs:.1f} epochs of {have:,} train tokens (at most {MAX_EPOCHS})"
    budget = read_manifest(path).parameters.get("max_bytes") if (path / "manifest.json").is_file() else None
    if isinstance(budget, int):
        more = math.ceil(budget * epochs / MAX_EPOCHS * MORE_DATA_MARGIN)
        fix = remedy(
            "data",
            "more_data",
            f"prepare the dataset again with max_bytes {more} (was {budget})",
            max_bytes=more,
        )
    else:
        steps = max(1, MAX_EPOCHS * have // per_step)
        fix = remedy(
            "architect",
            "fewer_steps",
            f"the whole corpus is in use: cut max_steps from {t.max_steps} to {steps}",
            max_steps=steps,
        )
    return rejected("enough_tokens", "data", message, fix, **evidence)


def review_dataset(path: str | Path, config: str | Path | None = None) -> Verdict:
    """Review a dataset directory; ``config`` (a config YAML) adds the enough-tokens check."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such dataset directory")
    cfg = ModelConfig.load(config) if config is not None else None
    try:
        data = Dataset(path)
        streams = {s: np.asarray(data.tokens(s)) for s in SPLITS}
        data.tokenizer  # noqa: B018 -- loads and checks tokenizer.json now
        findings = [passed("loads", "data", "meta.json, tokenizer.json and the split streams load")]
    except InputError as e:
        return Verdict.from_findings(
            "dataset",
            str(path),
            [rejected("loads", "data", str(e), rerun("data", "the dataset is incomplete"))],
        )
    findings += [
        check_special_tokens(data),
        check_token_counts(data, streams),
        check_splits_disjoint(data, streams),
        check_qa_held_out(data),
        check_roundtrip(data, streams["test"]),
    ]
    if cfg is not None:
        findings.append(check_enough_tokens(data, path, cfg))
    return Verdict.from_findings("dataset", str(path), findings)
