"""GPTQ (Frantar et al., 2022) onto GGUF block grids.

For a linear ``W`` [rows, cols] with calibration Hessian ``H = E[x x^T]`` GPTQ quantizes one input
column at a time and spreads each column's rounding error over the columns not yet quantized,
weighted by the inverse Hessian, which minimises the layer's output error ``trace(E H E^T)``:

- dead inputs (``H_ii = 0``) get ``H_ii = 1`` and zero weights; ``H += damp * mean(diag H) * I``;
- act-order: columns are visited by decreasing ``H_ii`` (the most active inputs first);
- the quantizer is the GGUF block grid: a block's scale (and Q4_1 minimum) is fixed, from the
  block's weights as they stand, when the first of its 32 columns comes up (in act-order a block's
  columns are scattered, so its scale sees the error updates that came before), and later columns
  of the block snap onto that grid. The codes and scales are then packed as ordinary GGUF blocks;
- the upper Cholesky factor of ``H^-1`` drives the updates, applied lazily per chunk of 128 columns.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from tools.gguf.blocks import QK, Grid, QTensor, grid_for, pack
from tools.quant.calibrate import SITE_OF, InputStats, relative_output_error

CHUNK = 128


def _inverse_hessian_factor(h: torch.Tensor, damp: float) -> torch.Tensor:
    h = h.to(torch.float64)
    h = h + damp * torch.diag(h).mean() * torch.eye(h.shape[0], dtype=h.dtype)
    return torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True).to(
        torch.float32
    )


def gptq(
    w: torch.Tensor, hessian: torch.Tensor, qtype: str, damp: float = 0.01, act_order: bool = True
) -> QTensor:
    rows, cols = w.shape
    nb = cols // QK
    w = w.detach().to(torch.float32).clone()
    h = hessian.detach().to(torch.float32).clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0
    perm = torch.argsort(torch.diag(h), descending=True, stable=True) if act_order else torch.arange(cols)
    inv_perm = torch.argsort(perm)
    w = w[:, perm]
    hinv = _inverse_hessian_factor(h[perm][:, perm], damp)

    block_of = perm // QK
    params = {k: torch.zeros(rows, nb) for k in ("d", "inv", "m", "m_raw")}
    opened = torch.zeros(nb, dtype=torch.bool)
    codes = torch.zeros(rows, cols, dtype=torch.int32)

    def block_grid(b: int) -> Grid:
        s = slice(b, b + 1)
        m = params["m"][:, s] if qtype == "Q4_1" else None
        return Grid(
            qtype, params["d"][:, s], params["inv"][:, s], m, params["m_raw"][:, s] if m is not None else None
        )

    for i1 in range(0, cols, CHUNK):
        i2 = min(i1 + CHUNK, cols)
        for b in torch.unique(block_of[i1:i2]).tolist():
            if opened[b]:
                continue
            g = grid_for(w[:, inv_perm[b * QK : (b + 1) * QK]], qtype)
            params["d"][:, b], params["inv"][:, b] = g.d[:, 0], g.inv[:, 0]
            if g.m is not None and g.m_raw is not None:
                params["m"][:, b], params["m_raw"][:, b] = g.m[:, 0], g.m_raw[:, 0]
            opened[b] = True
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        h1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = w1[:, i : i + 1]
            g = block_grid(int(block_of[i1 + i]))
            q = g.codes(col)
            codes[:, perm[i1 + i]] = q[:, 0]
            err = (col - g.values(q)) / h1[i, i]
            w1[:, i:] -= err @ h1[i : i + 1, i:]
            err1[:, i : i + 1] = err
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]

    grid = Grid(
        qtype,
        params["d"].unsqueeze(-1),
        params["inv"].unsqueeze(-1),
        params["m"].unsqueeze(-1) if qtype == "Q4_1" else None,
        params["m_raw"].unsqueeze(-1) if qtype == "Q4_1" else None,
    )
    return QTensor(qtype, (rows, cols), pack(codes.reshape(rows, nb, QK), grid))


def gptq_layer(
    layer, stats: Mapping[str, InputStats], qtype: str, damp: float = 0.01, act_order: bool = True
) -> dict[str, tuple[QTensor, float]]:
    """GPTQ for every linear of a decoder layer (a calibration.sequential step)."""
    out = {}
    for path, site in SITE_OF.items():
        weight = layer.get_submodule(path).weight
        h = stats[site].hessian
        qt = gptq(weight.detach(), h, qtype, damp, act_order)
        deq = qt.dequantize()
        out[path] = (qt, relative_output_error(weight.detach(), deq, h))
        weight.data.copy_(deq)
    return out
