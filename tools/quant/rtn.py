"""Round-to-nearest: the baseline method (every linear of a layer to the nearest block value)."""

from __future__ import annotations

from collections.abc import Mapping

from tools.gguf.blocks import QTensor, quantize
from tools.quant.calibrate import SITE_OF, InputStats, relative_output_error


def rtn_layer(layer, stats: Mapping[str, InputStats], qtype: str) -> dict[str, tuple[QTensor, float]]:
    """Round-to-nearest for every linear of a decoder layer (a calibration.sequential step)."""
    out = {}
    for path, site in SITE_OF.items():
        weight = layer.get_submodule(path).weight
        qt = quantize(weight.detach(), qtype)
        deq = qt.dequantize()
        out[path] = (qt, relative_output_error(weight.detach(), deq, stats[site].hessian))
        weight.data.copy_(deq)
    return out
