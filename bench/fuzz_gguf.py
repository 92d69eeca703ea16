"""Fuzz the SLM runtime's model loader for a bounded time: kernel/build/host/fuzz-gguf (libFuzzer
with ASan and UBSan, kernel/host/fuzz_gguf.c) over slm_load, and a short generation whenever a
mutated model still loads (tokenizer, forward pass, sampler on arbitrary weights).

The seed corpus is a handful of small valid GGUFs (random-init micro Llamas exported with
tools.export: byte-level BPE at F32/F16/Q8_0/Q4_0, SentencePiece BPE and unigram, the latter
also with an NFKC precompiled charsmap) plus their corrupt variants (tests.fixtures_kernel.corrupt_variants), and a dictionary of GGUF
keys and tensor names. Any crash, leak, overflow or undefined behaviour stops the run with an
artifact; the script then exits 1.

    .venv/bin/python bench/fuzz_gguf.py [--seconds 60] [--jobs 1]

Prints a table and writes bench/results/fuzz_gguf.json (artifacts under bench/results/fuzz/).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures_data import write_fixture_corpus  # noqa: E402
from tests.fixtures_kernel import corrupt_variants, make_host, random_gguf, with_byte_array  # noqa: E402
from tools.config import ModelSpec  # noqa: E402
from tools.data.tokenizer import min_vocab_size, train_tokenizer  # noqa: E402

OUT = REPO / "bench" / "results"
SEED_SPEC = dict(
    tier="micro", arch="riscv64", d_model=32, n_layers=1, n_heads=2, n_kv_heads=1, d_ff=64, context=32
)
DICT_WORDS = [
    "GGUF",
    "general.architecture",
    "general.alignment",
    "general.name",
    "llama",
    "llama.block_count",
    "llama.context_length",
    "llama.embedding_length",
    "llama.feed_forward_length",
    "llama.attention.head_count",
    "llama.attention.head_count_kv",
    "llama.attention.key_length",
    "llama.rope.dimension_count",
    "llama.rope.freq_base",
    "llama.attention.layer_norm_rms_epsilon",
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.token_type",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.scores",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.add_space_prefix",
    "gpt2",
    "gpt-2",
    "token_embd.weight",
    "output_norm.weight",
    "output.weight",
    "blk.0.attn_q.weight",
    "blk.0.ffn_down.weight",
    "<|q|>",
    "<|a|>",
    "<0x0A>",
    "t5",
    "llama",
    "tokenizer.ggml.precompiled_charsmap",
    "tokenizer.ggml.remove_extra_whitespaces",
]


def nfkc_charsmap(texts: list[str]) -> bytes:
    """SentencePiece's precompiled charsmap for NFKC (a double array and its replacements)."""
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    model = io.BytesIO()
    lines = [line for t in texts for line in t.splitlines() if line.strip()]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=200, normalization_rule_name="nmt_nfkc"
    )
    return sentencepiece_model_pb2.ModelProto.FromString(
        model.getvalue()
    ).normalizer_spec.precompiled_charsmap


def seed_corpus(root: Path) -> Path:
    """Small valid GGUFs of both tokenizer kinds and every tensor type, and their corrupt
    variants (built once, then reused)."""
    corpus = root / "corpus"
    if corpus.is_dir():
        return corpus
    shutil.rmtree(root / "build", ignore_errors=True)
    partial = root / "build" / "corpus"
    partial.mkdir(parents=True)
    texts = [
        p.read_text(errors="ignore") for p in sorted(write_fixture_corpus(root / "build" / "text").iterdir())
    ]
    for kind, extra, vocab, qtypes in (
        ("bpe", {}, min_vocab_size("bpe"), ("F32", "F16", "Q8_0", "Q4_0")),
        ("sentencepiece", {"spm_type": "bpe"}, 512, ("Q8_0",)),
        ("unigram", {"spm_type": "unigram"}, 512, ("Q8_0",)),
    ):
        tok_dir = root / "build" / f"tok-{kind}"
        tok_dir.mkdir()
        train_tokenizer("bpe" if kind == "bpe" else "sentencepiece", texts, vocab, tok_dir, **extra)
        spec = ModelSpec(vocab_size=vocab, **SEED_SPEC)
        for qtype in qtypes:
            gguf = random_gguf(
                root / "build" / f"model-{kind}", tok_dir / "tokenizer.json", spec, qtype, std=0.3
            )
            shutil.copyfile(gguf, partial / f"{kind}-{qtype}.gguf")
            if kind == "bpe" and qtype == "Q8_0":
                for name, blob in corrupt_variants(gguf).items():
                    (partial / f"corrupt-{name}.gguf").write_bytes(blob)
            if kind == "unigram":
                key = "tokenizer.ggml.precompiled_charsmap"
                with_byte_array(gguf, key, nfkc_charsmap(texts), partial / "unigram-nfkc.gguf")
    partial.rename(corpus)
    shutil.rmtree(root / "build")
    return corpus


def run(seconds: int, jobs: int) -> dict:
    root = OUT / "fuzz"
    root.mkdir(parents=True, exist_ok=True)
    corpus = seed_corpus(root)
    seeds = sorted(corpus.iterdir())
    dict_file = root / "gguf.dict"
    dict_file.write_text("".join(f'"{w}"\n' for w in DICT_WORDS))
    artifacts = root / "artifacts"
    artifacts.mkdir(exist_ok=True)
    before = set(artifacts.iterdir())
    fuzzer = make_host("fuzz-gguf")
    max_len = max(p.stat().st_size for p in seeds) * 2
    cmd = [
        str(fuzzer),
        str(corpus),
        f"-max_total_time={seconds}",
        f"-max_len={max_len}",
        f"-dict={dict_file}",
        f"-artifact_prefix={artifacts}/",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]
    if jobs > 1:
        cmd += [f"-fork={jobs}", "-ignore_crashes=0"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 3 + 300)
    wall = time.perf_counter() - t
    log = r.stderr
    (root / "last-run.log").write_text(log)
    stats = {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", log)}
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", log)
    found = sorted(str(p) for p in set(artifacts.iterdir()) - before)
    return {
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "exit_status": r.returncode,
        "executions": stats.get("number_of_executed_units", 0),
        "execs_per_s": stats.get("average_exec_per_sec", 0),
        "coverage_edges": int(cov[-1][0]) if cov else None,
        "corpus_units": int(cov[-1][2]) if cov else None,
        "seeds": len(seeds),  # the seeds plus what earlier runs added to the corpus
        "peak_rss_mb": stats.get("peak_rss_mb"),
        "crashes": found,
        "summary": next((line for line in log.splitlines() if "SUMMARY" in line), None),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time budget")
    ap.add_argument("--jobs", type=int, default=1, help="parallel fuzzing processes (libFuzzer -fork)")
    args = ap.parse_args()
    res = run(args.seconds, args.jobs)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fuzz_gguf.json").write_text(json.dumps(res, indent=2) + "\n")
    rows = [
        ("time budget (s)", res["seconds"]),
        ("executions", res["executions"]),
        ("executions/s", res["execs_per_s"]),
        ("coverage (edges)", res["coverage_edges"]),
        ("corpus units", res["corpus_units"]),
        ("corpus files", res["seeds"]),
        ("crashes", len(res["crashes"])),
    ]
    for k, v in rows:
        print(f"{k:18s} {v}")
    if res["crashes"] or res["exit_status"] not in (0,):
        print(f"FAILED: {res['summary'] or 'fuzzer exit ' + str(res['exit_status'])}; see {res['crashes']}")
        sys.exit(1)


if __name__ == "__main__":
    main()
