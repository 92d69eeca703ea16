"""GGUF block formats (Q8_0, Q4_0, Q4_1, Q5_0) in torch, byte-exact with ggml's reference quantizers.

Every format cuts a row into blocks of ``QK = 32`` consecutive values and stores per block an
fp16 scale ``d`` (and for Q4_1 an fp16 minimum ``m``) followed by the integer codes:

=====  =====  ==========================================  =====================================
type   bytes  layout                                      value of code ``q``
=====  =====  ==========================================  =====================================
Q8_0   34     d, 32 x int8                                ``d * q``            (q in -128..127)
Q4_0   18     d, 16 bytes: q[j] | q[j+16] << 4            ``d * (q - 8)``      (q in 0..15)
Q4_1   20     d, m, 16 bytes as Q4_0                      ``d * q + m``        (q in 0..15)
Q5_0   22     d, qh (bit j = bit 4 of q[j], LE u32),      ``d * (q - 16)``     (q in 0..31)
              16 bytes: low nibbles as Q4_0
=====  =====  ==========================================  =====================================

The scale is chosen from the block as ggml does (Q8_0: amax/127; Q4_0/Q5_0: the value of largest
magnitude divided by -8/-16; Q4_1: (max-min)/15), codes are computed with the unrounded float32
scale, and the scale is stored rounded to fp16. ``Grid`` holds those per-block parameters so that
GPTQ can snap single columns onto exactly the grid RTN would write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

QK = 32
QuantType = Literal["Q8_0", "Q4_0", "Q4_1", "Q5_0"]
QUANT_TYPES: tuple[str, ...] = get_args(QuantType)
BLOCK_BYTES = {"Q8_0": 34, "Q4_0": 18, "Q4_1": 20, "Q5_0": 22}
CODE_RANGE = {"Q8_0": (-128, 127), "Q4_0": (0, 15), "Q4_1": (0, 15), "Q5_0": (0, 31)}
_OFFSET = {"Q8_0": 0, "Q4_0": 8, "Q4_1": 0, "Q5_0": 16}


def _round_away(x: torch.Tensor) -> torch.Tensor:
    """Round half away from zero exactly (ggml's roundf), without the x+0.5 rounding trap."""
    a = x.abs()
    f = torch.floor(a)
    return torch.sign(x) * (f + torch.floor(2 * (a - f)))


def _fp16(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float16).to(torch.float32)


def _inverse(d: torch.Tensor) -> torch.Tensor:
    return torch.where(d == 0, torch.zeros_like(d), 1.0 / torch.where(d == 0, torch.ones_like(d), d))


@dataclass(frozen=True)
class Grid:
    """Quantization parameters of blocks: tensors broadcastable against the values they quantize.

    ``inv`` (and ``m_raw``) are the unrounded float32 parameters ggml quantizes with; ``d`` and
    ``m`` are the fp16-rounded values stored in the file, which dequantization uses.
    """

    qtype: str
    d: torch.Tensor
    inv: torch.Tensor
    m: torch.Tensor | None = None
    m_raw: torch.Tensor | None = None

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = CODE_RANGE[self.qtype]
        if self.qtype == "Q8_0":
            q = _round_away(x * self.inv)
        elif self.qtype == "Q4_1":
            assert self.m_raw is not None
            q = torch.trunc((x - self.m_raw) * self.inv + 0.5)
        else:
            q = torch.trunc(x * self.inv + float(_OFFSET[self.qtype]) + 0.5)
        return q.clamp(lo, hi).to(torch.int32)

    def values(self, codes: torch.Tensor) -> torch.Tensor:
        v = self.d * (codes - _OFFSET[self.qtype]).to(torch.float32)
        if self.qtype == "Q4_1":
            assert self.m is not None
            v = v + self.m
        return v

    def snap(self, x: torch.Tensor) -> torch.Tensor:
        """The grid value each element of ``x`` rounds to."""
        return self.values(self.codes(x))


def grid_for(blocks: torch.Tensor, qtype: str) -> Grid:
    """Grid parameters of each block in ``blocks`` (last dim = the 32 values of a block), kept as
    size-1 last dims so the grid broadcasts over those values."""
    if qtype not in BLOCK_BYTES:
        raise ValueError(f"unknown block type {qtype!r}")
    b = blocks.to(torch.float32)
    if qtype == "Q8_0":
        d = b.abs().amax(dim=-1, keepdim=True) / 127
        return Grid(qtype, _fp16(d), _inverse(d))
    if qtype == "Q4_1":
        lo = b.amin(dim=-1, keepdim=True)
        d = (b.amax(dim=-1, keepdim=True) - lo) / 15
        return Grid(qtype, _fp16(d), _inverse(d), _fp16(lo), lo)
    extreme = torch.gather(b, -1, b.abs().argmax(dim=-1, keepdim=True))
    d = extreme / (-8 if qtype == "Q4_0" else -16)
    return Grid(qtype, _fp16(d), _inverse(d))


@dataclass(frozen=True)
class QTensor:
    """A 2-D weight stored in a GGUF block format: ``data`` is uint8 [rows, cols/32 * block bytes]."""

    qtype: str
    shape: tuple[int, int]
    data: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def dequantize(self) -> torch.Tensor:
        return dequantize(self.data, self.qtype, self.shape)

    def permute_rows(self, order: np.ndarray) -> QTensor:
        """Reorder rows (each row is a whole number of blocks, so this is exact)."""
        return QTensor(self.qtype, self.shape, np.ascontiguousarray(self.data[order]))


def _as_blocks(w: torch.Tensor) -> torch.Tensor:
    rows, cols = w.shape
    if cols % QK:
        raise ValueError(f"row length {cols} is not a multiple of the block size {QK}")
    return w.to(torch.float32).reshape(rows, cols // QK, QK)


def pack(codes: torch.Tensor, grid: Grid) -> np.ndarray:
    """Serialise codes [rows, nblocks, 32] and their grid ([rows, nblocks, 1]) into block bytes."""
    rows, nb, _ = codes.shape
    q = codes.to(torch.int64)
    d = grid.d.reshape(rows, nb).numpy().astype(np.float16).view(np.uint8).reshape(rows, nb, 2)
    parts = [d]
    if grid.qtype == "Q8_0":
        parts.append(q.to(torch.int8).numpy().view(np.uint8))
    else:
        if grid.qtype == "Q4_1":
            assert grid.m is not None
            parts.append(
                grid.m.reshape(rows, nb).numpy().astype(np.float16).view(np.uint8).reshape(rows, nb, 2)
            )
        if grid.qtype == "Q5_0":
            bits = ((q >> 4) & 1) << torch.arange(QK, dtype=torch.int64)
            qh = bits.sum(dim=-1).numpy().astype("<u4").view(np.uint8).reshape(rows, nb, 4)
            parts.append(qh)
        nib = (q & 0xF).numpy().astype(np.uint8)
        parts.append(nib[..., : QK // 2] | (nib[..., QK // 2 :] << 4))
    return np.ascontiguousarray(np.concatenate(parts, axis=-1).reshape(rows, nb * BLOCK_BYTES[grid.qtype]))


def dequantize(data: np.ndarray, qtype: str, shape: tuple[int, int]) -> torch.Tensor:
    rows, cols = shape
    nb = cols // QK
    raw = np.ascontiguousarray(data).reshape(rows, nb, BLOCK_BYTES[qtype])
    d = torch.from_numpy(raw[..., :2].copy().view(np.float16).astype(np.float32))  # [rows, nb, 1]
    if qtype == "Q8_0":
        q = torch.from_numpy(raw[..., 2:].copy().view(np.int8).astype(np.int32))
        return (d * q.to(torch.float32)).reshape(rows, cols)
    m = None
    start = 2
    if qtype == "Q4_1":
        m = torch.from_numpy(raw[..., 2:4].copy().view(np.float16).astype(np.float32))
        start = 4
    high = None
    if qtype == "Q5_0":
        qh = raw[..., 2:6].copy().view("<u4").astype(np.int64)  # [rows, nb, 1]
        high = torch.from_numpy((qh >> np.arange(QK)) & 1)
        start = 6
    packed = torch.from_numpy(raw[..., start:].astype(np.int32))
    q = torch.cat([packed & 0xF, packed >> 4], dim=-1)
    if high is not None:
        q = q | (high.to(torch.int32) << 4)
    grid = Grid(qtype, d, torch.zeros_like(d), m, m)
    return grid.values(q).reshape(rows, cols)


def quantize(w: torch.Tensor, qtype: str) -> QTensor:
    """Round-to-nearest quantization of a 2-D weight [rows, cols], byte-exact with gguf.quants."""
    blocks = _as_blocks(w)
    grid = grid_for(blocks, qtype)
    return QTensor(qtype, (int(w.shape[0]), int(w.shape[1])), pack(grid.codes(blocks), grid))


def fake_quantize(w: torch.Tensor, qtype: str) -> torch.Tensor:
    """``dequantize(quantize(w))`` without the byte round trip."""
    blocks = _as_blocks(w)
    return grid_for(blocks, qtype).snap(blocks).reshape(w.shape)
