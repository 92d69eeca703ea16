"""AWQ (Lin et al., 2023): activation-aware per-channel scales, folded into the preceding op, then
round-to-nearest onto GGUF blocks, with a per-block clipping search.

A linear ``y = x W^T`` equals ``y = (x / s) (W diag(s))^T``: scaling up the weight columns of
salient input channels (large mean ``|x|``) makes their relative rounding error smaller, and the
division of ``x`` by ``s`` costs nothing when folded into the op that produced ``x``. Per decoder
layer, four groups share an input and get one scale vector each:

=============================  ====================  ===========================================
linears                        input                 ``1/s`` folded into
=============================  ====================  ===========================================
q_proj, k_proj, v_proj         attention RMSNorm     ``input_layernorm.weight``
gate_proj, up_proj             MLP RMSNorm           ``post_attention_layernorm.weight``
o_proj                         attention output      rows of ``v_proj`` (with GQA the scale is
                                                     shared by the query heads of a KV head)
down_proj                      ``silu(gate) * up``   rows of ``up_proj``
=============================  ====================  ===========================================

Scale search: ``s = m^a / sqrt(max(m^a) min(m^a))`` with ``m`` the mean ``|x|`` per channel over the
calibration tokens, for ``a`` on a grid of ``GRID`` points in [0, 1); the ``a`` minimising the
group's summed output error ``trace(E H E^T)`` (``E = W - Q(W diag(s)) / s``, ``H`` the calibration
``E[x x^T]``) wins. ``a = 0`` is plain RTN, so the search never does worse on the calibration data.
Clipping: per block of 32 weights of a scaled row, the block is clamped to ``c * max|w|`` for ``c``
in ``CLIP_RATIOS`` and the ``c`` minimising that block's output error (block-diagonal part of ``H``)
is kept; ``c = 1`` is no clipping.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from tools.gguf.blocks import QK, QTensor, fake_quantize, quantize
from tools.quant.calibrate import SITE_OF, InputStats, output_error, relative_output_error

GRID = 20
CLIP_RATIOS = tuple(1.0 - 0.05 * i for i in range(10))


def _scales(mean_abs: torch.Tensor, alpha: float) -> torch.Tensor:
    s = mean_abs.clamp(min=1e-4).pow(alpha)
    return s / torch.sqrt(s.max() * s.min())


def search_scales(
    mean_abs: torch.Tensor,
    weights: list[torch.Tensor],
    hessian: torch.Tensor,
    qtype: str,
    expand=None,
    prev: tuple[torch.Tensor, torch.Tensor] | None = None,
    grid: int = GRID,
) -> torch.Tensor:
    """The per-channel scale minimising the summed output error of ``weights`` (see module doc).

    ``expand`` maps a scale over the folding op's channels to the linears' input channels (GQA).
    ``prev`` = (weight, Hessian) of a linear whose rows absorb ``1/s``: its error counts too."""
    best, best_loss = torch.ones_like(mean_abs), float("inf")
    for k in range(grid):
        s = _scales(mean_abs, k / grid)
        s_in = expand(s) if expand else s
        loss = sum(output_error(w, fake_quantize(w * s_in, qtype) / s_in, hessian) for w in weights)
        if prev is not None:
            w_prev, h_prev = prev
            col = s.unsqueeze(1)
            loss += output_error(w_prev, fake_quantize(w_prev / col, qtype) * col, h_prev)
        if loss < best_loss:
            best, best_loss = s, loss
    return best


def clip_blocks(w: torch.Tensor, hessian: torch.Tensor, qtype: str) -> torch.Tensor:
    """``w`` with each block clamped to the ratio of its max that minimises its output error."""
    rows, cols = w.shape
    nb = cols // QK
    hb = torch.stack([hessian[b * QK : (b + 1) * QK, b * QK : (b + 1) * QK] for b in range(nb)])
    blocks = w.reshape(rows, nb, QK)
    amax = blocks.abs().amax(-1, keepdim=True)
    best = blocks
    best_err = torch.full((rows, nb), float("inf"))
    for c in CLIP_RATIOS:
        clipped = torch.maximum(torch.minimum(blocks, c * amax), -c * amax)
        e = blocks - fake_quantize(clipped.reshape(rows, cols), qtype).reshape(rows, nb, QK)
        err = torch.einsum("rbi,bij,rbj->rb", e, hb, e)
        better = err < best_err
        best = torch.where(better.unsqueeze(-1), clipped, best)
        best_err = torch.where(better, err, best_err)
    return best.reshape(rows, cols)


def _kv_expand(n_heads: int, n_kv: int, head_dim: int):
    group = n_heads // n_kv

    def expand(s: torch.Tensor) -> torch.Tensor:  # [n_kv * hd] -> [n_heads * hd]
        return s.reshape(n_kv, 1, head_dim).expand(n_kv, group, head_dim).reshape(-1)

    def reduce(x: torch.Tensor) -> torch.Tensor:  # o_proj input means -> per KV channel
        return x.reshape(n_kv, group, head_dim).mean(1).reshape(-1)

    return expand, reduce


def awq_layer(
    layer, stats: Mapping[str, InputStats], qtype: str, grid: int = GRID, clip: bool = True
) -> dict[str, tuple[QTensor, float]]:
    """AWQ for one decoder layer (a calibration.sequential step): search and fold the scales, clip,
    quantize, and write the dequantized (scaled) weights and the folded norms into the layer."""
    attn = layer.self_attn
    cfg = attn.config
    head_dim = getattr(attn, "head_dim", cfg.hidden_size // cfg.num_attention_heads)
    expand, reduce = _kv_expand(cfg.num_attention_heads, cfg.num_key_value_heads, head_dim)
    original = {p: layer.get_submodule(p).weight.detach().clone() for p in SITE_OF}
    col_scale = {p: torch.ones(w.shape[1]) for p, w in original.items()}
    row_scale = {p: torch.ones(w.shape[0]) for p, w in original.items()}

    def weight(p: str) -> torch.Tensor:
        return layer.get_submodule(p).weight.data

    groups = [
        (
            "attn_in",
            ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
            layer.input_layernorm,
            None,
        ),
        ("mlp_in", ["mlp.gate_proj", "mlp.up_proj"], layer.post_attention_layernorm, None),
        ("o_in", ["self_attn.o_proj"], "self_attn.v_proj", (expand, reduce)),
        ("down_in", ["mlp.down_proj"], "mlp.up_proj", None),
    ]

    def scaled_hessian(p: str) -> torch.Tensor:
        c = col_scale[p]
        return stats[SITE_OF[p]].hessian / c.unsqueeze(0) / c.unsqueeze(1)

    with torch.no_grad():
        for site, paths, prev, gqa in groups:
            h = stats[site].hessian
            mean_abs = stats[site].abs_mean
            ws = [weight(p) for p in paths]
            folded = (weight(prev), scaled_hessian(prev)) if isinstance(prev, str) else None
            if gqa:
                s = search_scales(gqa[1](mean_abs), ws, h, qtype, gqa[0], folded, grid)
                s_in = gqa[0](s)
            else:
                s = s_in = search_scales(mean_abs, ws, h, qtype, None, folded, grid)
            if isinstance(prev, str):
                weight(prev).div_(s.unsqueeze(1))
                row_scale[prev] *= s
            else:
                prev.weight.data.div_(s)
            for p in paths:
                weight(p).mul_(s_in.unsqueeze(0))
                col_scale[p] *= s_in

        out = {}
        for p, site in SITE_OF.items():
            h = stats[site].hessian
            scaled = weight(p)
            qt = quantize(clip_blocks(scaled, scaled_hessian(p), qtype) if clip else scaled, qtype)
            deq = qt.dequantize()
            effective = deq * row_scale[p].unsqueeze(1) / col_scale[p].unsqueeze(0)
            out[p] = (qt, relative_output_error(original[p], effective, h))
            scaled.copy_(deq)
    return out
