"""Write and read back GGUF files of the ``llama`` architecture with the ``gguf`` package.

Tensor names follow llama.cpp: ``token_embd``, ``blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,
ffn_norm,ffn_gate,ffn_up,ffn_down}``, ``output_norm``, ``output`` (omitted with tied embeddings).
Tensors come in as HF-named float tensors (float32 -> F32, float16 -> F16) or ``QTensor`` blocks,
so the writer never changes a tensor's type: the caller (tools.gguf.plan.typed_state) decides.

RoPE layout: HF Llama rotates the two halves of each head ("rotate_half"), GGUF's llama expects
adjacent pairs (interleaved). As llama.cpp's converter does, the rows of attn_q/attn_k are
reordered per head so that half i and half i + d/2 become the pair (2i, 2i+1); with GQA attn_k uses
the KV head count. Rows are whole blocks, so quantized tensors are reordered exactly too.
Data are aligned to ``general.alignment`` = 32 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFReader, GGUFWriter, LlamaFileType

from tools.errors import InputError
from tools.gguf.blocks import QTensor
from tools.gguf.vocab import GGUFVocab

ALIGNMENT = 32
FILE_TYPES = {
    "F32": LlamaFileType.ALL_F32,
    "F16": LlamaFileType.MOSTLY_F16,
    "Q8_0": LlamaFileType.MOSTLY_Q8_0,
    "Q4_0": LlamaFileType.MOSTLY_Q4_0,
    "Q4_1": LlamaFileType.MOSTLY_Q4_1,
    "Q5_0": LlamaFileType.MOSTLY_Q5_0,
}
_TOP = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
_LAYER = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}

Tensor = torch.Tensor | QTensor


def gguf_file(qtype: str) -> str:
    """The file name of a model's GGUF at its dominant weight type: ``model-<TYPE>.gguf``."""
    return f"model-{qtype}.gguf"


def gguf_name(hf_name: str) -> str:
    if hf_name in _TOP:
        return _TOP[hf_name]
    if hf_name == "lm_head.weight":
        return "output.weight"
    parts = hf_name.split(".")
    if parts[:2] == ["model", "layers"] and parts[-1] == "weight":
        module = ".".join(parts[3:-1])
        if module in _LAYER:
            return f"blk.{parts[2]}.{_LAYER[module]}.weight"
    raise ValueError(f"no GGUF name for tensor {hf_name!r}")


def rope_row_order(rows: int, n_head: int) -> np.ndarray:
    """Row order turning rotate_half heads into interleaved ones: new row r = old row order[r]."""
    half = rows // n_head // 2
    return np.arange(rows).reshape(n_head, 2, half).transpose(0, 2, 1).reshape(-1)


def _reorder(t: Tensor, order: np.ndarray) -> Tensor:
    if isinstance(t, QTensor):
        return t.permute_rows(order)
    return t[torch.from_numpy(order)]


def _array(t: Tensor) -> tuple[np.ndarray, GGMLQuantizationType]:
    if isinstance(t, QTensor):
        return t.data, GGMLQuantizationType[t.qtype]
    if t.dtype == torch.float16:
        return t.contiguous().numpy(), GGMLQuantizationType.F16
    return t.to(torch.float32).contiguous().numpy(), GGMLQuantizationType.F32


def rope_theta(config) -> float:
    """RoPE base of an HF config (transformers 5 keeps it in ``rope_parameters``)."""
    params = getattr(config, "rope_parameters", None) or {}
    rope_type = params.get("rope_type", "default")
    if rope_type != "default":
        raise InputError(f"RoPE scaling {rope_type!r} is not supported by the GGUF export")
    return float(params.get("rope_theta", getattr(config, "rope_theta", 10000.0)))


def write_gguf(
    path: str | Path,
    *,
    config,  # transformers.LlamaConfig
    tensors: Mapping[str, Tensor],
    vocab: GGUFVocab,
    file_type: str,
    name: str,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write a llama-architecture GGUF from HF-named tensors; ``metadata`` adds string keys."""
    path = Path(path)
    c = config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    w = GGUFWriter(path, "llama")
    w.add_name(name)
    w.add_custom_alignment(ALIGNMENT)
    w.add_file_type(int(FILE_TYPES[file_type]))
    w.add_quantization_version(2)
    w.add_vocab_size(c.vocab_size)
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_rope_dimension_count(head_dim)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(rope_theta(c))
    w.add_layer_norm_rms_eps(float(c.rms_norm_eps))
    for key, value in (metadata or {}).items():
        w.add_string(key, value)
    w.add_tokenizer_model(vocab.model)
    if vocab.pre:
        w.add_tokenizer_pre(vocab.pre)
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    if vocab.scores is not None:
        w.add_token_scores(vocab.scores)
    if vocab.merges is not None:
        w.add_token_merges(vocab.merges)
    w.add_bos_token_id(vocab.bos_id)
    w.add_eos_token_id(vocab.eos_id)
    w.add_pad_token_id(vocab.pad_id)
    w.add_unk_token_id(vocab.unk_id)
    w.add_add_bos_token(vocab.add_bos)
    w.add_add_eos_token(vocab.add_eos)
    if vocab.model != "gpt2":
        w.add_add_space_prefix(vocab.add_space_prefix)
    if vocab.chat_template is not None:
        w.add_chat_template(vocab.chat_template)
    if vocab.eot_id is not None:
        w.add_eot_token_id(vocab.eot_id)

    tied = bool(c.tie_word_embeddings)
    for hf_name, t in tensors.items():
        if tied and hf_name == "lm_head.weight":
            continue
        if hf_name.endswith("self_attn.q_proj.weight"):
            t = _reorder(t, rope_row_order(t.shape[0], c.num_attention_heads))
        elif hf_name.endswith("self_attn.k_proj.weight"):
            t = _reorder(t, rope_row_order(t.shape[0], c.num_key_value_heads))
        data, qtype = _array(t)  # block bytes are [rows, row bytes]: the writer derives the shape
        w.add_tensor(gguf_name(hf_name), data, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def read_gguf(path: str | Path) -> GGUFReader:
    """Open a GGUF file with gguf's reader and check that every tensor lies inside the file.

    A truncated, corrupt or non-GGUF file raises a one-line InputError.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such GGUF file")
    try:
        reader = GGUFReader(path)
        size = path.stat().st_size
        for t in reader.tensors:
            block, type_size = GGML_QUANT_SIZES[t.tensor_type]
            n_elements = int(np.prod([int(x) for x in t.shape]))
            need = n_elements // block * type_size
            if int(t.data_offset) + need > size or t.data.nbytes != need:
                raise ValueError(f"tensor {t.name} runs past the end of the file")
    except InputError:
        raise
    except Exception as e:  # the reader raises ValueError, struct and numpy errors on bad bytes
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise InputError(f"{path}: not a valid GGUF file ({first})") from None
    return reader
