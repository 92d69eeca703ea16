"""Closed-form size, compute and memory estimates of a Llama model described by a ModelSpec.

Every figure is a pure function of the spec, checked by tests against the instantiated
``LlamaForCausalLM``:

- ``param_count``: exact (equals ``sum(p.numel())`` of the built model, tied or not).
- ``flops_per_token``: training FLOPs per token, the PaLM/nanoGPT accounting: 3x the forward
  pass (forward + backward); forward = 2 FLOPs per weight of every matmul (the LM head counts
  even when tied; the input embedding is a lookup and counts nothing) plus attention's
  ``QK^T`` and ``AV`` over the full context, ``2 * 2 * n_layers * context * n_heads * head_dim``.
- ``train_memory``: fp32 weights, grads and AdamW moments (4+4+8 bytes a parameter) plus the
  activations autograd saves for backward at a batch and context.
- ``inference_ram``: what the kernel runtime needs at a weight type: weights in GGUF block
  layout as our exporter writes them (``weight_bytes``), an F32 KV cache at full context, F32 activations and the
  tokenizer tables.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from tools.config import Estimates, ModelConfig, ModelSpec

WeightType = Literal["F32", "F16", "Q8_0", "Q4_0"]
WEIGHT_TYPES: tuple[WeightType, ...] = ("F32", "F16", "Q8_0", "Q4_0")
QUANT_BLOCK = 32  # elements per GGUF Q8_0/Q4_0 block; every matrix row must divide into them
# bytes per block of QUANT_BLOCK weights: an f16 scale plus 32 int8 or 32 packed int4 values
_BLOCK_BYTES: dict[WeightType, int] = {"F32": 4 * QUANT_BLOCK, "F16": 2 * QUANT_BLOCK, "Q8_0": 34, "Q4_0": 18}
EMBED_BLOCK_TYPE: WeightType = "Q8_0"  # the embedding/output type in Q8_0 and Q4_0 exports
TOKENIZER_BYTES_PER_TOKEN = 48  # piece bytes (~8 on average), score, offsets, merge rank and hash slot


def _attn_width(m: ModelSpec) -> tuple[int, int]:
    """(query width, key/value width) of one layer."""
    return m.n_heads * m.head_dim, m.n_kv_heads * m.head_dim


def layer_matrices(m: ModelSpec) -> list[tuple[int, int]]:
    """(rows, row length) of every weight matrix of one decoder layer (row length = in_features)."""
    q, kv = _attn_width(m)
    return [
        (q, m.d_model),  # q_proj
        (kv, m.d_model),  # k_proj
        (kv, m.d_model),  # v_proj
        (m.d_model, q),  # o_proj
        (m.d_ff, m.d_model),  # gate_proj
        (m.d_ff, m.d_model),  # up_proj
        (m.d_model, m.d_ff),  # down_proj
    ]


def all_matrices(m: ModelSpec) -> list[tuple[int, int]]:
    """Every weight matrix of the model as stored (the tied LM head is not stored twice)."""
    mats = [(m.vocab_size, m.d_model)]  # token embedding
    mats += layer_matrices(m) * m.n_layers
    if not m.tie_embeddings:
        mats.append((m.vocab_size, m.d_model))  # lm_head
    return mats


def norm_params(m: ModelSpec) -> int:
    return m.d_model * (2 * m.n_layers + 1)  # input + post-attention RMSNorm per layer, final norm


def param_count(m: ModelSpec) -> int:
    return sum(r * c for r, c in all_matrices(m)) + norm_params(m)


def matmul_params(m: ModelSpec) -> int:
    """Weights that take part in a matmul per token: the layers and the LM head."""
    return sum(r * c for r, c in layer_matrices(m)) * m.n_layers + m.vocab_size * m.d_model


def flops_per_token(m: ModelSpec, context: int | None = None) -> float:
    """Training FLOPs per token (forward + backward) at ``context`` (default: the model's)."""
    t = context or m.context
    q, _ = _attn_width(m)
    forward = 2 * matmul_params(m) + 2 * 2 * m.n_layers * t * q
    return 3.0 * forward


def activation_bytes(m: ModelSpec, batch: int, context: int | None = None, act_bytes: int = 4) -> int:
    """Bytes autograd keeps for backward during one forward pass of ``batch`` x ``context`` tokens.

    Per layer and token: both RMSNorms keep their input and normalised output in fp32 (HF
    computes norms in fp32 even under autocast); in the activation dtype: the two norm outputs
    as matmul inputs, q/k/v and the rotated q/k, the attention output, the gate/up outputs,
    SiLU(gate) and their product; per head the attention's fp32 log-sum-exp. Per token at the
    top: the final norm (fp32) and the logits with their fp32 copy and log-softmax.
    """
    t = context or m.context
    q, kv = _attn_width(m)
    per_layer = 16 * m.d_model + (2 * m.d_model + 2 * q + 3 * kv + 4 * m.d_ff) * act_bytes + 4 * m.n_heads
    logits = m.vocab_size * (8 if act_bytes == 4 else act_bytes + 8)
    return batch * t * (m.n_layers * per_layer + 8 * m.d_model + logits)


class TrainMemory(BaseModel):
    weights: int
    grads: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.grads + self.optimizer + self.activations


def train_memory(m: ModelSpec, batch: int, context: int | None = None, act_bytes: int = 4) -> TrainMemory:
    """Training memory of one process: fp32 master weights, grads, AdamW exp_avg + exp_avg_sq."""
    n = param_count(m)
    return TrainMemory(
        weights=4 * n,
        grads=4 * n,
        optimizer=8 * n,
        activations=activation_bytes(m, batch, context, act_bytes),
    )


def _matrix_bytes(rows: int, cols: int, wtype: WeightType) -> int:
    return rows * (cols // QUANT_BLOCK) * _BLOCK_BYTES[wtype] + rows * (cols % QUANT_BLOCK) * 4


def weight_bytes(m: ModelSpec, wtype: WeightType) -> int:
    """Bytes of the model's tensors in our GGUF export of ``wtype``, following the exporter's type
    plan (tools.gguf.plan): norms stay F32; layer matrices take ``wtype``; the token embedding
    (the output too, tied or not) takes ``EMBED_BLOCK_TYPE`` when ``wtype`` is a block type."""
    embed_type = EMBED_BLOCK_TYPE if wtype in ("Q8_0", "Q4_0") else wtype
    n_embed = 1 if m.tie_embeddings else 2
    layers = sum(_matrix_bytes(r, c, wtype) for r, c in layer_matrices(m)) * m.n_layers
    return layers + n_embed * _matrix_bytes(m.vocab_size, m.d_model, embed_type) + 4 * norm_params(m)


def kv_cache_bytes(m: ModelSpec) -> int:
    _, kv = _attn_width(m)
    return 2 * m.n_layers * m.context * kv * 4


def runtime_activation_bytes(m: ModelSpec) -> int:
    """The runtime's F32 scratch for one token: x, two d_model buffers, q, two d_ff buffers,
    attention scores over the full context per head, and the logits."""
    q, _ = _attn_width(m)
    return 4 * (3 * m.d_model + q + 2 * m.d_ff + m.n_heads * m.context + m.vocab_size)


def tokenizer_bytes(m: ModelSpec) -> int:
    return TOKENIZER_BYTES_PER_TOKEN * m.vocab_size


def inference_ram(m: ModelSpec, wtype: WeightType) -> int:
    return weight_bytes(m, wtype) + kv_cache_bytes(m) + runtime_activation_bytes(m) + tokenizer_bytes(m)


def inference_ram_all(m: ModelSpec) -> dict[str, int]:
    return {w: inference_ram(m, w) for w in WEIGHT_TYPES}


def estimate(cfg: ModelConfig) -> Estimates:
    """The config's estimates block: size, FLOPs, training memory at its batch, inference RAM."""
    m, t = cfg.model, cfg.training
    act_bytes = 2 if t.precision == "bf16" else 4
    return Estimates(
        params=param_count(m),
        flops_per_token=flops_per_token(m),
        train_memory_bytes=train_memory(m, t.batch_size, act_bytes=act_bytes).total,
        inference_ram_bytes=inference_ram_all(m),
    )


def with_estimates(cfg: ModelConfig) -> ModelConfig:
    return cfg.model_copy(update={"estimates": estimate(cfg)})
