"""GGUF block formats: byte-exact with gguf.quants (ggml's reference), and their round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, dequantize, quantize

from tools.gguf import blocks


def weights() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(48, 128, generator=g) * torch.rand(48, 1, generator=g) * 3
    w[0, :32] = 0.0  # an all-zero block: scale 0
    w[1, :32] = 0.5  # a constant block
    w[2, 7] = -40.0  # an outlier that sets a negative scale
    return w


@pytest.mark.parametrize("qtype", blocks.QUANT_TYPES)
def test_quantize_is_byte_exact_with_ggml_reference(qtype: str):
    w = weights()
    ours = blocks.quantize(w, qtype)
    ref = quantize(w.numpy(), GGMLQuantizationType[qtype])
    assert ours.data.dtype == np.uint8 and ours.data.shape == ref.shape
    assert np.array_equal(ours.data, ref)
    assert ours.nbytes == w.shape[0] * w.shape[1] // 32 * blocks.BLOCK_BYTES[qtype]


@pytest.mark.parametrize("qtype", blocks.QUANT_TYPES)
def test_dequantize_matches_reference_and_fake_quantize(qtype: str):
    w = weights()
    q = blocks.quantize(w, qtype)
    ref = dequantize(q.data, GGMLQuantizationType[qtype])
    assert np.array_equal(q.dequantize().numpy(), ref)
    assert torch.equal(blocks.fake_quantize(w, qtype), q.dequantize())


def test_error_shrinks_with_bits():
    w = weights()
    err = {t: (blocks.fake_quantize(w, t) - w).pow(2).mean().item() for t in blocks.QUANT_TYPES}
    assert err["Q8_0"] < err["Q5_0"] < err["Q4_0"]
    assert err["Q4_1"] < err["Q4_0"] * 1.5
    assert err["Q8_0"] < 1e-3 * w.pow(2).mean().item()


def test_grid_snaps_columns_onto_the_rtn_grid():
    w = weights()
    block = w[:, :32]
    grid = blocks.grid_for(block, "Q4_0")
    col = grid.snap(block[:, 5:6])
    assert torch.equal(col, blocks.fake_quantize(w, "Q4_0")[:, 5:6])


def test_rows_must_split_into_blocks():
    with pytest.raises(ValueError, match="multiple of the block size"):
        blocks.quantize(torch.zeros(4, 48), "Q8_0")
