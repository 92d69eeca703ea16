"""SLM runtime speed: greedy decode tokens/s of the host build (kernel/build/host/slm-run) against
llama.cpp (llama-cpp-python, one thread) on the same GGUF files (F32, Q8_0, Q4_0), and inside
QEMU on each arch (tools.kernel: the kernel image with the model linked in, TCG emulation).

The model is a tiny-tier Llama (about 27M parameters: d_model 512, 8 layers, 8/4 heads, d_ff
1536, vocab 4096, context 512), random-init and exported with tools.export (speed does not
depend on the weights' values); its tokenizer comes from a small riscv64 dataset. Pass
--gguf TYPE=PATH to measure other files. Everything is built once under bench/results/runtime/.

Decode speed = (tokens - 1) forward passes / their time, after a QA prompt, greedy. Prefill speed =
prompt tokens / their time for a prompt of about 256 tokens (llama.cpp: one eval of the same ids,
one thread). The host build also decodes with --threads 1 and 2 (wall clock: CPU time does not show
a split), and each QEMU figure is also given as a share of llama.cpp's host decode in the same run. Host and
llama.cpp: the best of --repeats runs, as wall-clock tok/s and CPU-time tok/s (slm-run: the
CPU time of a --tokens run minus a 1-token run; llama.cpp: process time of the decode loop);
CPU time is far less sensitive to other load on the machine (the load average is recorded).
Two host builds: "portable" (the kernel's flags: baseline ISA, what runs in QEMU) and "native"
(-march=native; the numerics are identical, the flags forbid contraction and reassociation).
QEMU tok/s is timed by the guest's own clock over --qemu-tokens tokens. The --smp-arches (riscv64,
aarch64, x86_64) also run at -smp 2 (MTTCG: one host thread per core), against -smp 1 in the same
run.

    .venv/bin/python bench/runtime.py [--tokens 64] [--repeats 3] [--types F32,Q8_0,Q4_0]
        [--arches riscv64,aarch64,x86_64] [--qemu-types Q8_0] [--qemu-tokens 16]
        [--smp-arches riscv64,aarch64,x86_64]
        [--gguf TYPE=PATH]
        [--baseline OLD_SLM_RUN]

Prints a table and writes bench/results/runtime.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures_kernel import make_host, random_gguf  # noqa: E402
from tools.config import ModelSpec  # noqa: E402
from tools.dataset import A_TOKEN, Q_TOKEN  # noqa: E402

OUT = REPO / "bench" / "results"
PREFILL_TOKENS = 256
WORK = OUT / "runtime"
PROMPT = "Which package provides the lspci command on riscv64 Debian?"
TINY = ModelSpec(
    tier="tiny",
    arch="riscv64",
    vocab_size=4096,
    d_model=512,
    n_layers=8,
    n_heads=8,
    n_kv_heads=4,
    d_ff=1536,
    context=512,
)


def tiny_models(types: list[str]) -> dict[str, Path]:
    from tools.data.prepare import PrepareRequest, prepare

    data = WORK / "data"
    if not (data / "tokenizer.json").is_file():
        prepare(
            PrepareRequest.build(
                arch="riscv64",
                tokenizer="bpe",
                vocab_size=TINY.vocab_size,
                out=data,
                max_bytes=4_000_000,
                overwrite=True,
            )
        )
    models = {}
    for t in types:
        built = WORK / "tiny" / f"gguf-{t}" / f"model-{t}.gguf"  # random_gguf's export layout
        models[t] = built if built.is_file() else random_gguf(WORK / "tiny", data / "tokenizer.json", TINY, t)
    return models


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def slm_run(binary: Path, model: Path, tokens: int, *args: str, prompt: str = PROMPT) -> tuple[dict, float]:
    cpu = child_cpu()
    r = subprocess.run(
        [str(binary), str(model), "-p", prompt, "-n", str(tokens), "--json", *args],
        capture_output=True,
        check=True,
    )
    return json.loads(r.stdout), child_cpu() - cpu


def bench_host(binary: Path, model: Path, tokens: int, repeats: int, *args: str) -> dict:
    wall, cpu = 0.0, 0.0
    for _ in range(repeats):
        full, cpu_full = slm_run(binary, model, tokens, *args)
        _, cpu_one = slm_run(binary, model, 1, *args)
        stats = full["stats"]
        assert stats["generated_tokens"] == tokens, "the model stopped early; use another prompt"
        wall = max(wall, stats["decode_tok_s"])
        if cpu_full > cpu_one:
            cpu = max(cpu, (tokens - 1) / (cpu_full - cpu_one))
    return {"tok_s": round(wall, 1), "cpu_tok_s": round(cpu, 1), "prompt_tokens": stats["prompt_tokens"]}


def prefill_prompt(binary: Path, model: Path) -> tuple[str, list[int]]:
    """Words of PROMPT repeated until the raw text is PREFILL_TOKENS tokens or a little more."""
    words = (PROMPT.split() * PREFILL_TOKENS)[:PREFILL_TOKENS]
    lo, hi = 1, len(words)
    while lo < hi:  # the fewest words that reach PREFILL_TOKENS tokens
        mid = (lo + hi) // 2
        n = len(slm_run(binary, model, 0, "--raw", prompt=" ".join(words[:mid]))[0]["prompt_ids"])
        lo, hi = (mid + 1, hi) if n < PREFILL_TOKENS else (lo, mid)
    text = " ".join(words[:lo])
    return text, slm_run(binary, model, 0, "--raw", prompt=text)[0]["prompt_ids"]


def bench_prefill(binary: Path, model: Path, text: str, repeats: int) -> dict:
    """Prompt tokens/s: wall clock from slm-run's own timing, CPU time as a long prompt's run
    minus a one-word prompt's."""
    wall, cpu = 0.0, 0.0
    for _ in range(repeats):
        full, cpu_full = slm_run(binary, model, 1, "--raw", prompt=text)
        _, cpu_one = slm_run(binary, model, 1, "--raw", prompt="hello")
        n = full["stats"]["prompt_tokens"]
        wall = max(wall, n / max(full["stats"]["prefill_us"] / 1e6, 1e-9))
        if cpu_full > cpu_one:
            cpu = max(cpu, n / (cpu_full - cpu_one))
    return {"tok_s": round(wall, 1), "cpu_tok_s": round(cpu, 1), "prompt_tokens": n}


def bench_llama_prefill(model: Path, ids: list[int], repeats: int, context: int) -> dict:
    from llama_cpp import Llama

    llm = Llama(model_path=str(model), n_ctx=context, n_threads=1, n_threads_batch=1, verbose=False)
    wall, cpu = 0.0, 0.0
    for _ in range(repeats):
        llm.reset()
        t, c = time.perf_counter(), time.process_time()
        llm.eval(ids)
        wall = max(wall, len(ids) / (time.perf_counter() - t))
        cpu = max(cpu, len(ids) / max(time.process_time() - c, 1e-9))
    llm.close()
    return {"tok_s": round(wall, 1), "cpu_tok_s": round(cpu, 1), "prompt_tokens": len(ids)}


def bench_llama(model: Path, tokens: int, repeats: int, context: int) -> dict:
    import numpy as np
    from llama_cpp import Llama, llama_get_logits_ith

    llm = Llama(model_path=str(model), n_ctx=context, n_threads=1, n_threads_batch=1, verbose=False)
    ids = llm.tokenize(f"{Q_TOKEN}{PROMPT}{A_TOKEN}".encode(), add_bos=True, special=True)
    vocab = llm.n_vocab()

    def argmax() -> int:
        return int(np.argmax(np.ctypeslib.as_array(llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))))

    wall, cpu = 0.0, 0.0
    for _ in range(repeats):
        llm.reset()
        llm.eval(ids)
        token = argmax()
        t, c = time.perf_counter(), time.process_time()
        for _ in range(tokens - 1):
            llm.eval([token])
            token = argmax()
        wall = max(wall, (tokens - 1) / (time.perf_counter() - t))
        cpu = max(cpu, (tokens - 1) / max(time.process_time() - c, 1e-9))
    llm.close()
    return {"tok_s": round(wall, 1), "cpu_tok_s": round(cpu, 1), "prompt_tokens": len(ids)}


def bench_qemu(arch: str, qtype: str, model: Path, tokens: int, smp: int = 1) -> dict:
    from tools.kernel import KernelBootRequest, KernelBuildRequest, boot, build
    from tools.tiers import Arch

    img = build(KernelBuildRequest(arch=Arch(arch), model=model, out=WORK / f"kernel-{arch}-{qtype}"))
    ram_mb = 64 + 2 * (model.stat().st_size >> 20)
    r = boot(
        KernelBootRequest(
            arch=Arch(arch), image=img.image, prompts=[PROMPT], max_tokens=tokens, ram_mb=ram_mb, smp=smp
        )
    )
    if not r.ok or not r.answers:
        return {"error": r.error or "no answer", "ram_mb": ram_mb}
    a = r.answers[0]
    return {
        "tok_s": round(a.tokens_per_s, 2),
        "tokens": a.tokens,
        "prefill_tok_s": round(a.prompt_tokens / max(a.prefill_us / 1e6, 1e-9), 2),
        "prompt_tokens": a.prompt_tokens,
        "ram_mb": ram_mb,
        "boot_s": round(r.seconds, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--types", default="F32,Q8_0,Q4_0")
    ap.add_argument("--arches", default="riscv64,aarch64,x86_64", help="QEMU arches ('' for none)")
    ap.add_argument("--qemu-types", default="Q8_0")
    ap.add_argument("--qemu-tokens", type=int, default=16)
    ap.add_argument(
        "--smp-arches", default="riscv64,aarch64,x86_64", help="QEMU arches also run at -smp 2 ('' for none)"
    )
    ap.add_argument(
        "--gguf", action="append", default=[], metavar="TYPE=PATH", help="measure this file instead"
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="SLM_RUN",
        help="another slm-run binary (e.g. a copy from before a change) whose decode is measured in the same run",
    )
    args = ap.parse_args()
    types = args.types.split(",")
    given = dict(g.split("=", 1) for g in args.gguf)
    models = {t: Path(p) for t, p in given.items()} if given else tiny_models(types)
    builds = {
        "portable": make_host("slm-run"),
        "native": make_host("slm-run", host_dir="build/host-native", cflags="-g -march=native"),
    }
    if args.baseline:
        if not args.baseline.is_file():
            sys.exit(f"runtime.py: --baseline {args.baseline} is not a file")
        builds["baseline"] = args.baseline
    load_before = os.getloadavg()[0]
    rows = []
    for qtype, model in models.items():
        info = json.loads(
            subprocess.run([str(builds["portable"]), str(model), "--json"], capture_output=True).stdout
        )
        row = {
            "type": qtype,
            "file": str(model),
            "params": info["model"]["params"],
            "file_mb": round(model.stat().st_size / 1e6, 1),
            "isa": info["model"]["isa"],
            "host": {name: bench_host(b, model, args.tokens, args.repeats) for name, b in builds.items()},
            "host_threads": {
                str(n): bench_host(builds["portable"], model, args.tokens, args.repeats, "--threads", str(n))
                for n in (1, 2)
            },
            "llama_cpp": bench_llama(model, args.tokens, args.repeats, info["model"]["context"]),
            "qemu": {},
        }
        text, ids = prefill_prompt(builds["portable"], model)
        row["prefill"] = {
            "host": bench_prefill(builds["portable"], model, text, args.repeats),
            "llama_cpp": bench_llama_prefill(model, ids, args.repeats, info["model"]["context"]),
        }
        if qtype in args.qemu_types.split(","):
            for arch in filter(None, args.arches.split(",")):
                q = row["qemu"][arch] = bench_qemu(arch, qtype, model, args.qemu_tokens)
                if "tok_s" in q:
                    q["share_of_llama_cpp"] = round(q["tok_s"] / row["llama_cpp"]["tok_s"], 4)
                if "tok_s" in q and arch in args.smp_arches.split(","):
                    two = q["smp2"] = bench_qemu(arch, qtype, model, args.qemu_tokens, smp=2)
                    if "tok_s" in two:
                        two["x_smp1"] = round(two["tok_s"] / q["tok_s"], 2)
                        two["prefill_x_smp1"] = round(two["prefill_tok_s"] / q["prefill_tok_s"], 2)
        rows.append(row)
    result = {
        "tokens": args.tokens,
        "repeats": args.repeats,
        "qemu_tokens": args.qemu_tokens,
        "prompt": PROMPT,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runtime.json").write_text(json.dumps(result, indent=2) + "\n")

    arches = [a for a in args.arches.split(",") if a]
    head = f"{'type':5} {'params':>9} {'MB':>6} | {'host':>7} {'native':>7} {'llama.cpp':>9} {'ratio':>6} | cpu tok/s: "
    head += f"{'host':>7} {'native':>7} {'llama':>7} | " + " ".join(f"{'qemu ' + a:>14}" for a in arches)
    print(head)
    for r in rows:
        h, n, ll = r["host"]["portable"], r["host"]["native"], r["llama_cpp"]
        q = [r["qemu"].get(a, {}).get("tok_s", "-") for a in arches]
        print(
            f"{r['type']:5} {r['params']:>9} {r['file_mb']:>6} | {h['tok_s']:>7} {n['tok_s']:>7} {ll['tok_s']:>9} "
            f"{n['tok_s'] / ll['tok_s']:>6.2f} | {'':11}{h['cpu_tok_s']:>7} {n['cpu_tok_s']:>7} {ll['cpu_tok_s']:>7} | "
            + " ".join(f"{v:>14}" for v in q)
        )
    print(
        f"(decode tok/s, greedy, {args.tokens} tokens, best of {args.repeats}; load average {result['load_average']})"
    )
    print(
        f"{'type':5} | {'prefill':>8} {'llama.cpp':>9} {'ratio':>6} (cpu) | {'1 thread':>8} {'2 threads':>9} {'x':>5}"
    )
    for r in rows:
        p, t = r["prefill"], r["host_threads"]
        print(
            f"{r['type']:5} | {p['host']['cpu_tok_s']:>8} {p['llama_cpp']['cpu_tok_s']:>9} "
            f"{p['host']['cpu_tok_s'] / p['llama_cpp']['cpu_tok_s']:>6.2f}       | {t['1']['tok_s']:>8} "
            f"{t['2']['tok_s']:>9} {t['2']['tok_s'] / t['1']['tok_s']:>5.2f}"
        )
    print(f"(prefill: {PREFILL_TOKENS}-token prompt, CPU tok/s, one thread; threads: host decode wall tok/s)")
    if args.baseline:
        print(f"baseline {args.baseline}: decode CPU tok/s, and as a share of llama.cpp's / of this build's")
        for r in rows:
            b, h, ll = (
                r["host"]["baseline"]["cpu_tok_s"],
                r["host"]["portable"]["cpu_tok_s"],
                r["llama_cpp"]["cpu_tok_s"],
            )
            print(f"{r['type']:5} | {b:>8} {b / ll:>6.2f} {b / h:>6.2f}")
    for r in rows:
        for arch, q in r["qemu"].items():
            if "tok_s" in q:
                print(
                    f"qemu {arch} {r['type']}: decode {q['tok_s']} tok/s = {100 * q['share_of_llama_cpp']:.2f}% of "
                    f"llama.cpp's host decode; prefill {q['prefill_tok_s']} tok/s ({q['prompt_tokens']} tokens)"
                )
            if "x_smp1" in q.get("smp2", {}):
                two = q["smp2"]
                print(
                    f"qemu {arch} {r['type']} -smp 2: decode {two['tok_s']} tok/s ({two['x_smp1']}x -smp 1); "
                    f"prefill {two['prefill_tok_s']} tok/s ({two['prefill_x_smp1']}x)"
                )


if __name__ == "__main__":
    main()
