"""Fuzz the kernel's parsers for a bounded time with libFuzzer, ASan and UBSan (kernel/host.mk's
fuzz targets), one target per run:

- ``gguf`` (the default): kernel/host/fuzz_gguf.c over slm_load, and a short generation whenever
  a mutated model still loads (tokenizer, forward pass, sampler on arbitrary weights);
- ``fdt``: kernel/host/fuzz_fdt.c, device-tree discovery (walker, virtio-mmio, ECAM hosts) over
  mutated DTBs, seeded with the trees QEMU's riscv64 and aarch64 virt machines dump;
- ``pci``: kernel/host/fuzz_pci.c, PCI enumeration over mutated simulated hardware files and raw
  garbage config space (every slot answering, bridges anywhere);
- ``console``: kernel/host/fuzz_console.c, the console commands over mutated command lines,
  with the real kb blob (tools.kb, riscv64 tiny).
- ``request``: kernel/host/fuzz_request.c, the request side of the model's console that needs
  no model: the words a mutated request line offers for copying, and the command grammar's
  reach over every prefix of a mutated command at several token budgets, with the same kb;
- ``acpi``: kernel/host/fuzz_acpi.c, x86_64's RSDP search and RSDT/XSDT/MADT reading over
  mutated low memory (checksums fixed by the target), seeded with ACPI 2.0 tables of 1-17 CPUs.

For gguf:

The seed corpus is a handful of small valid GGUFs (random-init micro Llamas exported with
tools.export: byte-level BPE at F32/F16/Q8_0/Q4_0, SentencePiece BPE and unigram, the latter
also with an NFKC precompiled charsmap) plus their corrupt variants (tests.fixtures_kernel.corrupt_variants), and a dictionary of GGUF
keys and tensor names. Any crash, leak, overflow or undefined behaviour stops the run with an
artifact; the script then exits 1.

    .venv/bin/python bench/fuzz.py [--target gguf|fdt|pci|console|request|acpi|all] [--seconds 60] [--jobs 1]

Prints a table per target and writes bench/results/fuzz_<target>.json (artifacts under
bench/results/fuzz/).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures_data import write_fixture_corpus  # noqa: E402
from tests.fixtures_kernel import corrupt_variants, make_host, random_gguf, with_byte_array  # noqa: E402
from tests.test_console_host import QEMU_DTB, config_space, dumped_dtb, record, virtio_slot  # noqa: E402
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


FDT_WORDS = [
    "compatible", "reg", "status", "device_type", "#address-cells", "#size-cells", "bus-range", "riscv,isa",
    "timebase-frequency", "mmu-type", "memory", "cpus", "cpu", "okay", "disabled", "simple-bus", "virtio,mmio",
    "pci-host-ecam-generic", "ns16550a", "\\xd0\\x0d\\xfe\\xed", "\\x00\\x00\\x00\\x01", "\\x00\\x00\\x00\\x02",
    "\\x00\\x00\\x00\\x03", "\\x00\\x00\\x00\\x09",
]  # fmt: skip
CONSOLE_WORDS = [
    "devices", "device", "driver", "cpu", "memory", "uptime", "model", "provides", "whatis", "pkg", "show",
    "search", "help", "set", "all", "network", "storage", "display", "serial", "input", "rng", "bridge", "usb",
    "other", "00:02.0", "00:03.0", "max_tokens=", "temperature=", "top_p=", "seed=", "ids=", "dig", "nginx",
]  # fmt: skip
CONSOLE_SEED = (
    "devices\ndevices network\ndevice 00:02.0\ndevice 00:03.0\ndriver network\ndriver 00:00.0\ncpu\nmemory\n"
    "uptime\nmodel\nprovides dig\nwhatis gzip\npkg show nginx\npkg search web server\nhelp\nset seed=1 ids=1\n"
)


def fdt_corpus(root: Path) -> Path:
    """The device trees of QEMU's virt machines (with devices), cut to their header's size, and a
    deep one."""
    corpus = root / "corpus-fdt"
    corpus.mkdir(exist_ok=True)
    for arch in QEMU_DTB:
        blob = dumped_dtb(arch, root).read_bytes()
        (corpus / f"{arch}.dtb").write_bytes(blob[: struct.unpack(">I", blob[4:8])[0]])
    deep = "".join(f'n{i}@{i:x} {{ compatible = "acme,deep"; reg = <{i} 4>; ' for i in range(20)) + "};" * 20
    dts = root / "deep.dts"
    dts.write_text(f"/dts-v1/;\n/ {{ #address-cells = <1>; #size-cells = <1>;\n{deep}\n}};\n")
    subprocess.run(
        ["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(corpus / "deep.dtb"), str(dts)], check=True
    )
    return corpus


def pci_corpus(root: Path) -> Path:
    """Simulated hardware files: QEMU pc's functions, a bridge to bus 1 and back, a virtio slot."""
    corpus = root / "corpus-pci"
    corpus.mkdir(exist_ok=True)
    pc = b"".join(
        record("P", 0, dev, fn, config_space(v, d, c, header=h))
        for dev, fn, v, d, c, h in [
            (0, 0, 0x8086, 0x1237, 0x060000, 0), (1, 0, 0x8086, 0x7000, 0x060100, 0x80),
            (1, 1, 0x8086, 0x7010, 0x010180, 0), (2, 0, 0x8086, 0x100E, 0x020000, 0),
        ]
    )  # fmt: skip
    bridge = record("P", 0, 4, 0, config_space(0x1B36, 0x000C, 0x060400, header=1, secondary=1))
    bridge += record("P", 1, 0, 0, config_space(0x1AF4, 0x1041, 0x020000))
    bridge += record("P", 1, 1, 0, config_space(0x1B36, 0x000C, 0x060400, header=1, secondary=0))
    (corpus / "pc.bin").write_bytes(pc)
    (corpus / "bridges.bin").write_bytes(bridge + virtio_slot(0x10008000, 1))
    (corpus / "garbage.bin").write_bytes(random.Random(1).randbytes(2048))
    return corpus


def console_corpus(root: Path) -> Path:
    corpus = root / "corpus-console"
    corpus.mkdir(exist_ok=True)
    (corpus / "commands.txt").write_text(CONSOLE_SEED)
    return corpus


# request line, then a command the model might write (kernel/host/fuzz_request.c)
REQUEST_SEEDS = {
    "whatis.txt": "what does the dig command do?\nwhatis dig",
    "provides.txt": "which package ships nginx.\nprovides nginx",
    "show.txt": "apt show bind9-dnsutils please\npkg show bind9-dnsutils",
    "search.txt": "find packages for a small web server\npkg search small web server",
    "none.txt": "\x01\xff what is \xe2\x82 the cpu??\ndevices network",
    "address.txt": "what driver does FLASH@20000000, or 00:01.0, use?\ndriver flash@20000000",
    "output.txt": "devices\nauton: devices class=all count=1\npmu  dt\nauton: end command=devices rc=0\n",
}


def request_corpus(root: Path) -> Path:
    corpus = root / "corpus-request"
    corpus.mkdir(exist_ok=True)
    for name, text in REQUEST_SEEDS.items():
        (corpus / name).write_bytes(text.encode("latin-1"))
    return corpus


def acpi_tables(cpus: int = 3) -> bytes:
    """The memory from 0xE0000 on as kernel/host/fuzz_acpi.c takes it: an ACPI 2.0 RSDP, an
    RSDT and an XSDT both listing a MADT of ``cpus`` local APICs (the last one disabled) and a
    local APIC address override. Checksums are left 0: the target fixes them."""
    base = 0xE0000
    madt_at, rsdt_at, xsdt_at = base + 0x100, base + 0x40, base + 0x80

    def sdt(sig: bytes, body: bytes) -> bytes:
        return sig + struct.pack("<IBB6s8sIII", 36 + len(body), 1, 0, b"AUTON ", b"FUZZ    ", 1, 0, 0) + body

    lapics = b"".join(struct.pack("<BBBBI", 0, 8, i, i, 1 if i < cpus - 1 else 0) for i in range(cpus))
    override = struct.pack("<BBHQ", 5, 12, 0, 0xFEE00000)
    madt = sdt(b"APIC", struct.pack("<II", 0xFEE00000, 1) + lapics + override)
    rsdp = b"RSD PTR " + struct.pack("<B6sBIIQB3s", 0, b"AUTON ", 2, rsdt_at, 36, xsdt_at, 0, b"")
    mem = bytearray(0x100 + len(madt))
    mem[0 : len(rsdp)] = rsdp
    mem[0x40 : 0x40 + 40] = sdt(b"RSDT", struct.pack("<I", madt_at))
    mem[0x80 : 0x80 + 44] = sdt(b"XSDT", struct.pack("<Q", madt_at))
    mem[0x100:] = madt
    return bytes(mem)


def acpi_corpus(root: Path) -> Path:
    corpus = root / "corpus-acpi"
    corpus.mkdir(exist_ok=True)
    for n in (1, 3, 17):
        (corpus / f"madt-{n}.bin").write_bytes(acpi_tables(n))
    return corpus


def real_kb(root: Path) -> Path:
    from tools.kb.build import KbBuildRequest, build
    from tools.task.requests import phrasing_words

    return build(KbBuildRequest(arch="riscv64", tier="tiny", out=root / "kb", phrasing=phrasing_words())).blob


TARGETS = {
    "gguf": (seed_corpus, DICT_WORDS),
    "fdt": (fdt_corpus, FDT_WORDS),
    "pci": (pci_corpus, []),
    "console": (console_corpus, CONSOLE_WORDS),
    "request": (request_corpus, CONSOLE_WORDS),
    "acpi": (acpi_corpus, ["RSD PTR ", "RSDT", "XSDT", "APIC"]),
}


def run(target: str, seconds: int, jobs: int) -> dict:
    root = OUT / "fuzz"
    root.mkdir(parents=True, exist_ok=True)
    make_corpus, words = TARGETS[target]
    corpus = make_corpus(root)
    seeds = sorted(corpus.iterdir())
    dict_file = root / f"{target}.dict"
    dict_file.write_text("".join(f'"{w}"\n' for w in words))
    artifacts = root / "artifacts"
    artifacts.mkdir(exist_ok=True)
    before = set(artifacts.iterdir())
    fuzzer = make_host(f"fuzz-{target}")
    text = target in ("console", "request")  # console lines over the real kb
    env = {**os.environ, "AUTON_FUZZ_KB": str(real_kb(root))} if text else None
    max_len = 4096 if text else max(p.stat().st_size for p in seeds) * 2
    cmd = [
        str(fuzzer),
        str(corpus),
        f"-max_total_time={seconds}",
        f"-max_len={max_len}",
        *([f"-dict={dict_file}"] if words else []),
        f"-artifact_prefix={artifacts}/",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
    ]
    if jobs > 1:
        cmd += [f"-fork={jobs}", "-ignore_crashes=0"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 3 + 300, env=env)
    wall = time.perf_counter() - t
    log = r.stderr
    (root / f"last-run-{target}.log").write_text(log)
    stats = {k: int(v) for k, v in re.findall(r"stat::(\w+):\s+(\d+)", log)}
    cov = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", log)
    found = sorted(str(p) for p in set(artifacts.iterdir()) - before)
    return {
        "target": target,
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
    ap.add_argument(
        "--target", choices=[*TARGETS, "all"], default="gguf", help="what to fuzz (all: each in turn)"
    )
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time budget (per target)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel fuzzing processes (libFuzzer -fork)")
    args = ap.parse_args()
    targets = list(TARGETS) if args.target == "all" else [args.target]
    passed = [report(run(t, args.seconds, args.jobs)) for t in targets]
    if not all(passed):
        sys.exit(1)


def report(res: dict) -> bool:
    """Print the run's table and write its JSON; False if it found a crash."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"fuzz_{res['target']}.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"== {res['target']}")
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
        return False
    return True


if __name__ == "__main__":
    main()
