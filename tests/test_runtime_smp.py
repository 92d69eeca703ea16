"""All cores in the kernel: riscv64, aarch64 and x86_64 under QEMU with -smp N (MTTCG).

The boot CPU starts the others (riscv64: SBI HSM; aarch64: PSCI CPU_ON; x86_64: INIT-SIPI-SIPI
to the ACPI MADT's local APICs) and the runtime splits matrix rows and attention heads across
them (kernel/runtime/cpupool.c). Each share is computed exactly as on one core, so the token ids
and text must not change with the core count, greedy or seeded; 3 cores give uneven shares. The
`cpu` command reports the cores that came online.
"""

from __future__ import annotations

import pytest

from tests.test_kernel_boot import _need
from tools.kernel import KernelBootRequest, boot

PROMPTS = ["What does the lspci command show?", "What is OpenSBI?"]
N_TOKENS = 24
ONLINE = {  # the cpu command's line for n cores online of n
    "riscv64": "harts:     {n} online of {n} (sbi hsm)",
    "aarch64": "cpus:      {n} online of {n} (psci)",
    "x86_64": "cpus:      {n} online of {n} (sipi)",
}


def _run(arch: str, image, smp: int, **settings):
    result = boot(KernelBootRequest(arch=arch, image=image, prompts=["cpu", *PROMPTS], smp=smp, **settings))
    assert result.ok, f"{result.error} (log {result.log})"
    cpu, *answers = result.replies()
    assert ("-smp", str(smp)) == tuple(result.command[result.command.index("-smp") :][:2])
    return cpu, [(a.token_ids, a.text) for a in answers]


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ONLINE))
def test_every_core_count_gives_the_same_tokens(arch, parity_gguf, kernel_image):
    _need(arch)
    image = kernel_image(arch, parity_gguf["Q8_0"]).image
    runs = {}
    for smp in (1, 2, 3):
        cpu, runs[smp] = _run(arch, image, smp, max_tokens=N_TOKENS)
        assert cpu.result.count == smp
        assert ONLINE[arch].format(n=smp) in cpu.text
    assert all(len(ids) == N_TOKENS for ids, _ in runs[1])
    assert len({t for ids, _ in runs[1] for t in ids}) > 10  # varied output: a strong check
    assert runs[2] == runs[1] and runs[3] == runs[1]
    seeded = dict(max_tokens=N_TOKENS, temperature=0.9, top_p=0.95, seed=7)
    assert _run(arch, image, 2, **seeded)[1] == _run(arch, image, 1, **seeded)[1]


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ONLINE))
def test_f32_on_two_cores_gives_the_same_tokens(arch, parity_gguf, kernel_image):
    _need(arch)
    image = kernel_image(arch, parity_gguf["F32"]).image
    assert _run(arch, image, 2, max_tokens=N_TOKENS)[1] == _run(arch, image, 1, max_tokens=N_TOKENS)[1]


@pytest.mark.slow
def test_x86_cores_come_from_the_acpi_madt(parity_gguf, kernel_image):
    """x86_64 starts only the processors the MADT lists as enabled: none without ACPI, and not
    the absent ones that -smp maxcpus adds (listed, not enabled)."""
    _need("x86_64")
    image = kernel_image("x86_64", parity_gguf["Q8_0"]).image
    no_acpi = _run("x86_64", image, 2, max_tokens=4, qemu_args=["-machine", "acpi=off"])[0]
    assert "cpus:      1 online of 1 (sipi)" in no_acpi.text
    spare = _run("x86_64", image, 2, max_tokens=4, qemu_args=["-smp", "2,maxcpus=3"])[0]
    assert ONLINE["x86_64"].format(n=2) in spare.text and spare.result.count == 2
