"""The runtime's block-kernel paths (kernel/runtime/quant*.c), batched prefill and workers.

Every path computes one canonical summation order, so each path the host CPU runs (slm-run
--isa: portable and swar everywhere, ssse3, avx2 on x86_64) and every worker count (--threads)
gives the same logits bit for bit, and therefore the same tokens as llama.cpp
(tests/test_runtime_host.py checks the default path against it). "best" is the path that ran
fastest when the runtime timed them all. Under QEMU, the CPU model decides which paths the
kernel can run (riscv64's rvv: a CPU with V, at several vector lengths); the one it picks, and
each one named on its command line, must give the host's tokens. A prompt longer than one prefill batch (32 tokens) must still give llama.cpp's tokens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_runtime_host import QUESTIONS, generate, slm
from tools.kernel import KernelBootRequest, boot

# CPU model -> the paths it runs beyond portable and swar (tools.kernel's defaults are qemu64,
# cortex-a76 and rv64). The rvv kernels are vector-length agnostic: VLEN 128 (four blocks a run),
# 256 (eight) and 512 (eight, at LMUL 1).
RV64_V = "rv64,v=true,vext_spec=v1.0,elen=64,vlen="
QEMU_PATHS = {
    "x86_64": {"qemu64": [], "Penryn": ["ssse3"], "max": ["ssse3", "avx2"]},
    "aarch64": {"cortex-a72": ["neon"], "cortex-a76": ["neon", "sdot"]},
    "riscv64": {"rv64": [], **{f"{RV64_V}{vlen}": ["rvv"] for vlen in (128, 256, 512)}},
}
N = 12


def host_paths(host_runtime: Path, model: Path) -> list[str]:
    return json.loads(slm(host_runtime, model, "--json").stdout)["model"]["isas"].split()


def rates(text: str) -> dict[str, int]:
    """``name=MB/s ...`` as the runtime reports the paths it timed."""
    return {name: int(mb) for name, mb in (item.split("=") for item in text.split())}


def test_best_is_the_path_that_ran_fastest_and_a_named_one_is_not_timed(host_runtime, micro_gguf):
    model = micro_gguf["Q8_0"]
    info = json.loads(slm(host_runtime, model, "--json").stdout)["model"]
    timed = rates(info["isa_rates"])
    assert list(timed) == info["isas"].split() and min(timed.values()) > 0
    assert info["isa"] == max(timed, key=timed.__getitem__)
    named = json.loads(slm(host_runtime, model, "--isa", "swar", "--json").stdout)["model"]
    assert (named["isa"], named["isa_rates"]) == ("swar", "")


def logits(host_runtime: Path, model: Path, tmp_path: Path, *args: str) -> tuple[list[int], bytes]:
    out = tmp_path / "logits.bin"
    ids = generate(host_runtime, model, QUESTIONS[2], N, *args, logits=out)["output_ids"]
    return ids, out.read_bytes()


@pytest.mark.parametrize("qtype", ["F32", "F16", "Q8_0", "Q4_0"])
def test_every_path_and_worker_count_computes_the_same_bits(qtype, host_runtime, micro_gguf, tmp_path):
    model = micro_gguf[qtype]
    paths = host_paths(host_runtime, model)
    assert paths[:2] == ["portable", "swar"]
    reference = logits(host_runtime, model, tmp_path, "--isa", "portable")
    assert len(reference[0]) == N
    for path in paths[1:]:
        assert logits(host_runtime, model, tmp_path, "--isa", path) == reference, path
    for threads in ("2", "3"):
        assert logits(host_runtime, model, tmp_path, "--threads", threads) == reference, threads


@pytest.fixture(scope="session")
def odd_gguf(micro_config, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random models whose shapes reach the kernels' edges: rows of 3 and 5 blocks (a short last
    group of eight), heads of 12 values (vector tails in the attention's products)."""
    from tests.fixtures_kernel import random_gguf

    spec = micro_config.model.model_copy(
        update=dict(d_model=96, n_heads=8, n_kv_heads=4, d_ff=160, n_layers=2, context=512)
    )
    root = tmp_path_factory.mktemp("odd_gguf")
    return {
        t: random_gguf(root, micro_dataset / "tokenizer.json", spec, t, std=0.3)
        for t in ("F32", "Q8_0", "Q4_0")
    }


@pytest.mark.parametrize("qtype", ["F32", "Q8_0", "Q4_0"])
def test_odd_shapes_and_long_contexts_compute_the_same_bits_on_every_path(
    qtype, host_runtime, odd_gguf, tmp_path
):
    model = odd_gguf[qtype]
    prompt = " ".join(QUESTIONS * 2)  # a few prefill batches, then decode over 100+ cached rows
    out = tmp_path / "logits.bin"
    runs = {}
    for args in [("--isa", p) for p in host_paths(host_runtime, model)] + [("--threads", "3")]:
        ids = generate(host_runtime, model, prompt, 9, *args, logits=out)
        runs[args] = (tuple(ids["output_ids"]), out.read_bytes())
    assert len(ids["prompt_ids"]) > 100 and len(runs[("--isa", "portable")][0]) == 9
    assert len(set(runs.values())) == 1, [a for a, r in runs.items() if r != runs[("--isa", "portable")]]


def test_x86_host_runs_the_simd_paths(host_runtime, micro_gguf):
    import platform

    if platform.machine() != "x86_64":
        pytest.skip("the SSSE3/AVX2 paths are x86_64's")
    flags = Path("/proc/cpuinfo").read_text()
    want = ["portable", "swar"] + [p for p, flag in (("ssse3", " ssse3"), ("avx2", " avx2")) if flag in flags]
    assert host_paths(host_runtime, micro_gguf["Q8_0"]) == want


def test_unknown_path_is_a_usage_error(host_runtime, micro_gguf):
    r = slm(host_runtime, micro_gguf["Q8_0"], "--isa", "sve2", "-p", "hi")
    assert r.returncode == 2 and b"--isa needs a kernel path this CPU runs: best portable swar" in r.stderr
    r = slm(host_runtime, micro_gguf["Q8_0"], "--threads", "0", "-p", "hi")
    assert r.returncode == 2 and b"--threads needs a number from 1" in r.stderr


def test_prompt_longer_than_a_prefill_batch_matches_llama_cpp(host_runtime, parity_gguf, llama_reference):
    model = parity_gguf["Q8_0"]
    prompt = " ".join(QUESTIONS)
    out = generate(host_runtime, model, prompt, N)
    assert len(out["prompt_ids"]) > 64  # three batches of 32
    ref, _ = llama_reference.greedy_ids(model, out["prompt_ids"], N)
    assert out["output_ids"] == ref


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(QEMU_PATHS))
def test_each_qemu_cpu_model_times_its_paths_and_each_gives_the_host_tokens(
    arch, host_runtime, parity_gguf, kernel_image
):
    model = parity_gguf["Q8_0"]
    image = kernel_image(arch, model)
    want = generate(host_runtime, model, QUESTIONS[0], N, "--isa", "portable")["output_ids"]
    for cpu, extra in QEMU_PATHS[arch].items():
        # the kernel's pick, then its widest path by name (portable where it has no SIMD path)
        for isa in (None, (extra or ["portable"])[-1]):
            req = KernelBootRequest(
                arch=arch,
                image=image.image,
                prompts=QUESTIONS[:1],
                max_tokens=N,
                qemu_args=["-cpu", cpu],
                isa=isa,
            )
            result = boot(req)
            assert result.ok, f"{result.error} (log {result.log})"
            banner = re.search(
                r"auton: isa (\S+) \(this CPU runs: ([^;)]*)(?:; weight MB/s ([^)]*))?\)",
                Path(result.log).read_text(errors="replace"),
            )
            assert banner and banner.group(2).split() == ["portable", "swar", *extra], (
                cpu,
                banner and banner.group(0),
            )
            if isa:
                assert banner.group(1) == isa and banner.group(3) is None, (cpu, banner.group(0))
            else:
                timed = rates(banner.group(3))
                assert list(timed) == banner.group(2).split(), (cpu, banner.group(0))
                assert banner.group(1) == max(timed, key=timed.__getitem__), (cpu, banner.group(0))
            assert result.answers[0].token_ids == want, (arch, cpu, isa)
