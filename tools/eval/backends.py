"""Model backends for evaluation: one interface over an HF checkpoint and a GGUF file (llama.cpp).

Both backends expose the same two operations, so every metric is computed by the same code on the
same tokens whatever runs the model:

- ``logits(batch)``: next-token logits for a ``[B, T]`` batch of token windows, ``[B, T, V]`` float32;
- ``greedy(prompt, max_new, stop)``: greedy continuation of a prompt, stopping after ``stop``.

A model path is opened by ``open_backend``: a run or step directory (tools.checkpoint) or any
directory holding ``model.safetensors`` + ``config.json`` runs in PyTorch; a ``.gguf`` file, or a
directory whose only model is one ``.gguf`` file, runs in llama.cpp (llama-cpp-python with
``logits_all`` and an F32 KV cache, so the cache adds no rounding of its own).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from tools.checkpoint import WEIGHTS, load_model, resolve_checkpoint
from tools.errors import InputError

BackendName = Literal["hf", "gguf"]


class Backend(Protocol):
    name: BackendName
    path: Path  # the file or step directory actually loaded
    context: int
    vocab_size: int
    params: int
    size_bytes: int

    def logits(self, batch: np.ndarray) -> np.ndarray: ...

    def greedy(self, prompt: list[int], max_new: int, stop: int) -> list[int]: ...

    def vocab(self) -> list[str] | None:
        """The model's own token strings by id, when it carries them (None: nothing to compare)."""


class HFBackend:
    name: BackendName = "hf"

    def __init__(self, path: str | Path, prefer: str = "best"):
        import torch

        self._torch = torch
        self.path = resolve_checkpoint(path, prefer)
        self.model = load_model(self.path)
        cfg = self.model.config
        self.context = int(cfg.max_position_embeddings)
        self.vocab_size = int(cfg.vocab_size)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.size_bytes = (self.path / WEIGHTS).stat().st_size

    def logits(self, batch: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(np.ascontiguousarray(batch, dtype=np.int64)))
        return out.logits.float().numpy()

    def greedy(self, prompt: list[int], max_new: int, stop: int) -> list[int]:
        torch = self._torch
        out: list[int] = []
        ids = torch.tensor([prompt], dtype=torch.long)
        cache = None
        with torch.inference_mode():
            while len(out) < max_new and len(prompt) + len(out) < self.context:
                res = self.model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)
                cache = res.cache
                nxt = int(res.logits[0, -1].argmax())
                out.append(nxt)
                if nxt == stop:
                    break
                ids = torch.tensor([[nxt]], dtype=torch.long)
        return out

    def vocab(self) -> list[str] | None:
        f = self.path / "tokenizer.json"
        if not f.is_file():
            return None
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(f))
        except Exception as e:  # tokenizers raises bare Exception subclasses
            raise InputError(f"{f}: cannot load tokenizer ({str(e).splitlines()[0]})") from None
        return [tok.id_to_token(i) for i in range(tok.get_vocab_size())]


class GGUFBackend:
    name: BackendName = "gguf"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._tokens, self.params, self.context = _read_gguf_header(self.path)
        self.size_bytes = self.path.stat().st_size
        from llama_cpp import GGML_TYPE_F32, Llama

        try:
            self.llm = Llama(
                model_path=str(self.path),
                n_ctx=self.context,
                n_batch=self.context,
                logits_all=True,
                type_k=GGML_TYPE_F32,
                type_v=GGML_TYPE_F32,
                n_threads=os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise InputError(f"{self.path}: llama.cpp cannot load it ({str(e).splitlines()[0]})") from None
        self.vocab_size = int(self.llm.n_vocab())

    def _run(self, tokens: list[int]) -> None:
        self.llm.reset()
        self.llm.eval(tokens)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        rows = []
        for window in batch:
            self._run([int(t) for t in window])
            rows.append(np.array(self.llm.scores[: len(window)], dtype=np.float32))
        return np.stack(rows)

    def greedy(self, prompt: list[int], max_new: int, stop: int) -> list[int]:
        out: list[int] = []
        self._run(prompt)
        while len(out) < max_new and self.llm.n_tokens < self.context:
            nxt = int(np.argmax(self.llm.scores[self.llm.n_tokens - 1]))
            out.append(nxt)
            if nxt == stop:
                break
            self.llm.eval([nxt])
        return out

    def vocab(self) -> list[str] | None:
        return self._tokens


def _read_gguf_header(path: Path) -> tuple[list[str] | None, int, int]:
    """Token strings, parameter count and training context of a GGUF file; a corrupt file is an
    InputError."""
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except Exception as e:  # the reader raises ValueError, struct errors, numpy errors on bad bytes
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise InputError(f"{path}: not a valid GGUF file ({first})") from None
    field = reader.get_field("tokenizer.ggml.tokens")
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data] if field is not None else None
    params = sum(int(t.n_elements) for t in reader.tensors)
    ctx = reader.get_field("llama.context_length")
    if ctx is None:
        raise InputError(f"{path}: no llama.context_length (not a llama-architecture GGUF file)")
    return tokens, params, int(ctx.contents())


def open_backend(path: str | Path, backend: BackendName | None = None, prefer: str = "best") -> Backend:
    """Open a model for evaluation, choosing the backend from what the path holds unless given."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such model")
    if backend is None:
        backend = _detect(p)
    if backend == "hf":
        return HFBackend(p, prefer)
    if p.is_dir():
        ggufs = sorted(p.glob("*.gguf"))
        if len(ggufs) != 1:
            raise InputError(f"{p}: expected exactly one .gguf file, found {len(ggufs)}")
        p = ggufs[0]
    return GGUFBackend(p)


def _detect(p: Path) -> BackendName:
    if p.is_file():
        if p.suffix == ".gguf":
            return "gguf"
        raise InputError(f"{p}: not a model (expected a checkpoint directory or a .gguf file)")
    try:
        resolve_checkpoint(p)
        return "hf"
    except InputError:
        if any(p.glob("*.gguf")):
            return "gguf"
        raise
