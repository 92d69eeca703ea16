"""The per-tensor type plan of a GGUF file, shared by every quantization method and by export.

For a target type: 1-D tensors (RMSNorm weights) stay F32, as in llama.cpp; the
transformer's linear weights take the target type; the token embedding (also the output matrix
when tied) and an untied output take ``EMBED_QTYPE`` = Q8_0 when the target is a block type, since
it is both the input lookup and the final projection and is where 4-bit error costs most.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from tools.errors import InputError
from tools.gguf.blocks import QK, QUANT_TYPES, QTensor, quantize

FLOAT_TYPES = ("F32", "F16")
EMBED_QTYPE = "Q8_0"
EMBEDDING_NAMES = ("model.embed_tokens.weight", "lm_head.weight")
LINEAR_SUFFIXES = (
    "self_attn.q_proj.weight",
    "self_attn.k_proj.weight",
    "self_attn.v_proj.weight",
    "self_attn.o_proj.weight",
    "mlp.gate_proj.weight",
    "mlp.up_proj.weight",
    "mlp.down_proj.weight",
)


def is_linear(name: str) -> bool:
    return name.endswith(LINEAR_SUFFIXES)


def tensor_type(name: str, tensor: torch.Tensor, target: str) -> str:
    if target not in FLOAT_TYPES + QUANT_TYPES:
        raise ValueError(f"unknown weight type {target!r}")
    if tensor.ndim == 1:
        return "F32"
    if target in QUANT_TYPES and name in EMBEDDING_NAMES:
        return EMBED_QTYPE
    return target


def require_blocks(state: Mapping[str, torch.Tensor], target: str) -> None:
    """Every tensor the plan puts in a block type must have rows of whole 32-value blocks."""
    for name, t in state.items():
        kind = tensor_type(name, t, target)
        if kind in QUANT_TYPES and t.shape[-1] % QK:
            raise InputError(
                f"{name}: rows of {t.shape[-1]} values do not split into {QK}-value blocks, so it cannot be "
                f"stored as {kind} (the architect keeps every row length a multiple of {QK})"
            )


def typed_state(
    state: Mapping[str, torch.Tensor],
    target: str,
    done: Mapping[str, QTensor] | None = None,
) -> dict[str, torch.Tensor | QTensor]:
    """Every tensor in the type the plan gives it: float casts, or RTN blocks for tensors that a
    method (``done``) has not already quantized."""
    done = done or {}
    out: dict[str, torch.Tensor | QTensor] = {}
    for name, t in state.items():
        kind = tensor_type(name, t, target)
        if name in done:
            out[name] = done[name]
        elif kind in QUANT_TYPES:
            out[name] = quantize(t.detach(), kind)
        else:
            out[name] = t.detach().to(torch.float16 if kind == "F16" else torch.float32).contiguous()
    return out


def planned_types(state: Mapping[str, torch.Tensor], target: str) -> dict[str, str]:
    """HF tensor name -> the type the plan gives it."""
    return {name: tensor_type(name, t, target) for name, t in state.items()}


def model_state(model) -> dict[str, torch.Tensor]:
    """The model's weights by HF name, without ``lm_head.weight`` when it is tied to the embedding."""
    state = dict(model.state_dict())
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    return state


def with_weights(model, state: Mapping[str, torch.Tensor]):
    """A copy of ``model`` (same config) holding ``state``, in eval mode."""
    clone = type(model)(model.config)
    missing, unexpected = clone.load_state_dict(dict(state), strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise ValueError(f"state does not fit the model: missing {missing[:3]}, unexpected {unexpected[:3]}")
    clone.tie_weights()
    return clone.eval()


def dequantized_state(typed: Mapping[str, torch.Tensor | QTensor]) -> dict[str, torch.Tensor]:
    """The float32 weights a typed state stands for (what the runtime computes with)."""
    return {n: t.dequantize() if isinstance(t, QTensor) else t.to(torch.float32) for n, t in typed.items()}
