"""The dataset contract of ``prepare`` on the shared fixtures (real built-in sources and a fixture corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_data import MICRO_MAX_BYTES
from tools.artifacts import read_manifest, sha256_file
from tools.data.prepare import PrepareRequest, prepare
from tools.dataset import BOS_ID, EOS_ID, SPECIAL_TOKENS, SPLITS, Dataset
from tools.errors import InputError


def _docs(stream: np.ndarray) -> list[np.ndarray]:
    """Split a stream into its documents (the ids between each BOS and the following EOS)."""
    bos = np.flatnonzero(stream == BOS_ID)
    eos = np.flatnonzero(stream == EOS_ID)
    assert len(bos) == len(eos) and stream[0] == BOS_ID and stream[-1] == EOS_ID
    return [stream[b + 1 : e] for b, e in zip(bos, eos, strict=True)]


def test_micro_dataset_contract(micro_dataset: Path) -> None:
    ds = Dataset(micro_dataset)
    meta = ds.meta
    assert (meta.arch, meta.tokenizer_type, meta.vocab_size, meta.dtype) == ("riscv64", "bpe", 512, "uint16")
    for f in (
        "tokenizer.json",
        "vocab.json",
        "merges.txt",
        "meta.json",
        "manifest.json",
        "qa/train.jsonl",
        "qa/test.jsonl",
    ):
        assert (micro_dataset / f).is_file(), f
    assert [ds.tokenizer.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(6))
    assert ds.tokenizer.get_vocab_size() == 512
    assert meta.splits["train"].tokens >= 300_000
    for split in SPLITS:
        stream = ds.tokens(split)
        assert len(stream) == meta.splits[split].tokens
        assert int(stream.max()) < 512
        assert len(_docs(np.asarray(stream))) == meta.splits[split].documents


def test_bpe_is_gpt2_byte_level(micro_dataset: Path) -> None:
    spec = json.loads((micro_dataset / "tokenizer.json").read_text())
    assert spec["normalizer"] is None
    assert spec["pre_tokenizer"]["type"] == "ByteLevel" and spec["pre_tokenizer"]["add_prefix_space"] is False
    assert spec["pre_tokenizer"]["use_regex"] is True
    assert spec["decoder"]["type"] == "ByteLevel"
    assert spec["model"]["type"] == "BPE"
    assert all(t["special"] for t in spec["added_tokens"])
    merges = (micro_dataset / "merges.txt").read_text().splitlines()
    assert len([m for m in merges if not m.startswith("#")]) == 512 - 256 - len(SPECIAL_TOKENS)


def test_bpe_round_trip_on_test_split(micro_dataset: Path) -> None:
    ds = Dataset(micro_dataset)
    docs = _docs(np.asarray(ds.tokens("test")))
    assert docs
    for ids in docs:
        text = ds.decode(ids.tolist())
        assert ds.encode(text) == ids.tolist()
        assert ds.decode(ds.encode(text)) == text


def test_manifest_hashes_every_output_and_lists_inputs(micro_dataset: Path) -> None:
    m = read_manifest(micro_dataset)
    assert m.kind == "dataset"
    outputs = {o.path: o for o in m.outputs}
    for name in ("train.bin", "val.bin", "test.bin", "tokenizer.json", "meta.json", "qa/test.jsonl"):
        assert outputs[name].sha256 == sha256_file(micro_dataset / name)
    assert m.inputs and all(len(i.sha256) == 64 for i in m.inputs)
    assert any("/riscv/" in i.path for i in m.inputs)
    riscv = set(m.metrics["arch_specific_sources"])
    assert {
        "linux-doc/riscv",
        "devicetree/riscv",
        "arch-headers/riscv",
        "opensbi-doc",
        "qemu-doc/riscv",
    } <= riscv
    by_name = {s["name"]: s for s in m.metrics["sources"]}
    assert all(by_name[n]["bytes"] > 0 for n in riscv)


def test_qa_held_out_phrasing_of_trained_facts(micro_dataset: Path) -> None:
    ds = Dataset(micro_dataset)
    train, test = ds.qa("train"), ds.qa("test")
    assert len(test) >= 50 and len(train) > len(test)
    assert not {p.template for p in train} & {p.template for p in test}
    trained = {(p.kind, p.answer) for p in train}
    assert all((p.kind, p.answer) in trained for p in test)
    assert ds.meta.qa_design["facts_in_train"] is True
    assert "constant" in {p.kind for p in train}  # riscv CSR/SBI numbers from csr.h and sbi.h
    train_questions = {p.question for p in train}
    assert not any(p.question in train_questions for p in test)


def test_user_corpus_counts_skips_and_duplicates(fixture_corpus: Path, tmp_path: Path) -> None:
    req = PrepareRequest.build(
        arch="x86_64", tokenizer="bpe", vocab_size=300, out=tmp_path / "ds", sources=[str(fixture_corpus)]
    )
    res = prepare(req)
    assert res.clean.skipped == {"binary": 1, "non_utf8": 1}
    assert res.clean.rejected == {"too_short": 1}
    assert (res.clean.exact_duplicates, res.clean.near_duplicates) == (1, 1)
    assert res.meta.sources[0].documents == 120


def test_existing_output_is_kept_without_overwrite(micro_dataset: Path) -> None:
    before = sha256_file(micro_dataset / "train.bin")
    with pytest.raises(InputError, match="already exists"):
        prepare(PrepareRequest.build(arch="riscv64", tokenizer="bpe", vocab_size=512, out=micro_dataset))
    assert sha256_file(micro_dataset / "train.bin") == before


def test_rerun_is_identical_and_splits_are_disjoint(micro_dataset: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    prepare(
        PrepareRequest.build(
            arch="riscv64", tokenizer="bpe", vocab_size=512, out=again, max_bytes=MICRO_MAX_BYTES
        )
    )
    files = sorted(p.relative_to(micro_dataset) for p in micro_dataset.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        if f.name not in ("manifest.json", "meta.json"):  # these two name the directory and the time
            assert sha256_file(micro_dataset / f) == sha256_file(again / f), f
    ds = Dataset(micro_dataset)
    texts = {s: {ds.decode(d.tolist()) for d in _docs(np.asarray(ds.tokens(s)))} for s in SPLITS}
    assert (
        not texts["train"] & texts["val"]
        and not texts["train"] & texts["test"]
        and not texts["val"] & texts["test"]
    )


def test_seed_changes_the_split(fixture_corpus: Path, tmp_path: Path) -> None:
    metas = [
        prepare(
            PrepareRequest.build(
                arch="riscv64",
                tokenizer="bpe",
                vocab_size=300,
                out=tmp_path / str(seed),
                sources=[str(fixture_corpus)],
                seed=seed,
            )
        ).meta
        for seed in (0, 1)
    ]
    docs = [(m.splits["val"].bytes, m.splits["test"].bytes) for m in metas]
    assert docs[0] != docs[1]
    assert all(
        sum(s.bytes for s in m.splits.values()) == sum(s.bytes for s in metas[0].splits.values())
        for m in metas
    )
