"""What this machine can do: precision support, peak FLOP/s, and a cache for measured figures.

MFU's peak is defined per device and precision:

- CUDA: the card's dense bf16 tensor-core peak from its data sheet (tools.arch.gpus; fp32
  training is measured against the same figure); a card missing from the table is measured.
- CPU: measured here: the best of a few timed dense square matmuls (2048^3) in the training
  dtype with all of torch's threads, cached per CPU model, thread count, dtype and torch version.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from tools.arch.gpus import peak_for_device
from tools.artifacts import atomic_write_json

Precision = Literal["fp32", "bf16"]


def cache_dir() -> Path:
    """Where measured figures are kept: $AUTON_SLM_CACHE, else ~/.cache/auton-slm."""
    env = os.environ.get("AUTON_SLM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "auton-slm"


# A CPU figure measured while other work holds more than half a core (1-minute load average)
# is used once but not cached: it would understate this machine in every later design.
BUSY_LOAD = 0.5


def measured(
    name: str, device: str, precision: Precision, measure: Callable[[], float], refresh: bool = False
) -> float:
    """The figure ``name`` for this device and precision from cache file ``name``, measuring it once
    if missing (or again when ``refresh``); a CPU figure measured on a busy machine is not stored."""
    key = f"{device_fingerprint(device)} | {precision}"
    busy = not device.startswith("cuda") and os.getloadavg()[0] > BUSY_LOAD  # before measuring loads it
    path = cache_dir() / f"{name}.json"
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        table = {}
    if refresh or key not in table:
        value = float(measure())
        if busy:
            return value
        table[key] = value
        try:
            atomic_write_json(path, table)
        except OSError:
            pass  # an unwritable cache only costs a re-measurement next time
    return table[key]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 dot-product instructions (AVX512-BF16 or AMX), so bf16
    autocast runs faster than fp32 instead of being emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def default_precision(device: str) -> Precision:
    import torch

    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def device_fingerprint(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = f"{cpu_model()} x{torch.get_num_threads()} threads"
    return f"{name} | torch {torch.__version__}"


def measure_matmul_flops(device: str, precision: Precision, n: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of a dense n x n x n matmul in the given precision on ``device``."""
    import torch

    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for i in range(repeats + 1):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i:  # the first product warms up
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best


def peak_flops(device: str, precision: Precision, again: bool = False) -> float:
    """The FLOP/s that MFU is measured against (see the module docstring); ``again`` re-measures
    a CPU peak (a figure taken on a busy machine is low)."""
    import torch

    if device.startswith("cuda"):
        known = peak_for_device(torch.cuda.get_device_name(torch.device(device)))
        if known is not None:
            return known
    return measured("matmul_peak", device, precision, lambda: measure_matmul_flops(device, precision), again)
