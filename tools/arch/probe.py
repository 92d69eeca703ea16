"""A short timed training probe: the FLOP/s this machine sustains on our training step.

A fixed probe model runs a few full steps (forward, backward, AdamW) in the precision the
trainer would use; FLOP/s = tokens/s x training FLOPs per token (tools.arch.estimates). The
design step divides it by a candidate's FLOPs per token to predict that candidate's tokens/s.
The fastest of the timed steps counts, and the figure is cached per device fingerprint and
precision (tools.arch.hardware.measured) unless other work loaded the CPU when it ran (that figure
is used once, not kept); ``auton-slm arch probe --again`` re-measures (tests use their own cache
directory).
"""

from __future__ import annotations

import time

from tools.arch.estimates import flops_per_token
from tools.arch.hardware import Precision, default_precision, measured
from tools.config import ModelSpec

# CPU: the smallest tiny-tier shape at its batch (16 x 256): what a CPU budget trains, so the
# probe's efficiency is the run's. CUDA: a small-tier-sized model that keeps the GPU busy.
PROBE_CPU = ModelSpec(
    tier="micro", arch="riscv64", vocab_size=4096, d_model=384, n_layers=6, n_heads=6, n_kv_heads=3, d_ff=1024,
    context=256,
)  # fmt: skip
PROBE_CUDA = ModelSpec(
    tier="micro", arch="x86_64", vocab_size=16384, d_model=1024, n_layers=8, n_heads=16, n_kv_heads=4, d_ff=2752,
    context=1024,
)  # fmt: skip


def measure_train_flops(
    device: str,
    precision: Precision,
    warmup: int = 2,
    steps: int = 3,
    spec: ModelSpec | None = None,
    batch: int = 16,
) -> float:
    """Sustained training FLOP/s of the probe model (or ``spec``) on ``device`` (a few seconds)."""
    import contextlib

    import torch
    import torch.nn.functional as F
    from transformers import LlamaForCausalLM

    from tools.config import ModelConfig

    spec = spec or (PROBE_CUDA if device.startswith("cuda") else PROBE_CPU)
    torch.manual_seed(0)
    model = LlamaForCausalLM(ModelConfig(name="probe", model=spec).to_hf()).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.startswith("cuda"))
    x = torch.randint(0, spec.vocab_size, (batch, spec.context + 1), device=device)

    def step() -> None:
        ctx = (
            torch.autocast(device.split(":")[0], dtype=torch.bfloat16)
            if precision == "bf16"
            else contextlib.nullcontext()
        )
        with ctx:
            logits = model(input_ids=x[:, :-1], use_cache=False).logits
        F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten()).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    fastest = float("inf")
    for _ in range(steps):  # the fastest step: a moment of load from other processes does not count
        t0 = time.perf_counter()
        step()
        fastest = min(fastest, time.perf_counter() - t0)
    return batch * spec.context / fastest * flops_per_token(spec)


def train_flops_per_s(device: str, precision: Precision | None = None, again: bool = False) -> float:
    """Cached sustained training FLOP/s (measured once per device fingerprint and precision)."""
    precision = precision or default_precision(device)
    return measured("train_probe", device, precision, lambda: measure_train_flops(device, precision), again)
