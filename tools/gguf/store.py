"""Typed weights in a safetensors file: what quantize writes and export turns into GGUF.

A typed state maps HF tensor names to float tensors (F32/F16) or ``QTensor`` blocks in their GGUF
layout. Blocks are stored as their raw uint8 bytes; the file's metadata records, per name, the
block type and the logical shape, so loading gives back the very blocks that were written and a
GGUF written from them is the same file a GGUF written straight from the quantizer would be.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from tools.errors import InputError
from tools.gguf.blocks import QUANT_TYPES, QTensor

BLOCKS_KEY = "auton.blocks"  # metadata: {name: [qtype, rows, cols]}


def save_typed(path: str | Path, typed: Mapping[str, torch.Tensor | QTensor]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    blocks: dict[str, list] = {}
    for name, t in typed.items():
        if isinstance(t, QTensor):
            tensors[name] = torch.from_numpy(t.data.copy())
            blocks[name] = [t.qtype, *t.shape]
        else:
            tensors[name] = t.contiguous()
    save_file(tensors, str(path), metadata={BLOCKS_KEY: json.dumps(blocks)})


def load_typed(path: str | Path) -> dict[str, torch.Tensor | QTensor]:
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        blocks = json.loads(meta.get(BLOCKS_KEY, "{}"))
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{path}: not a typed weights file ({e})") from None
    out: dict[str, torch.Tensor | QTensor] = {}
    for name, t in tensors.items():
        if name in blocks:
            qtype, rows, cols = blocks[name]
            if qtype not in QUANT_TYPES or t.dtype != torch.uint8 or t.ndim != 2 or t.shape[0] != rows:
                raise InputError(f"{path}: {name} is not a {qtype} block tensor of {rows} rows")
            out[name] = QTensor(qtype, (int(rows), int(cols)), t.numpy())
        else:
            out[name] = t
    return out
