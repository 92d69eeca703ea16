"""Shared pytest fixtures of the kernel stage.

- ``parity_gguf``: dict type -> GGUF path (F32, Q8_0) of a random-init model with the micro
  model's shape (``micro_config``) and vocabulary, initialised with a wide weight spread (std 0.3) so its greedy
  output is varied text rather than the trained micro model's repeated token: a much stronger
  token-for-token parity check. Exported with tools.export like ``micro_gguf``.
- ``tiny_gguf``: a tiny-tier-sized (about 11.9M parameters) random-init model at Q8_0.
- ``kernel_image``: a factory ``(arch, gguf) -> KernelBuildResult`` building kernel images with
  tools.kernel into a session directory (one image per arch and model, built once).
- ``llama_reference``: llama.cpp (llama-cpp-python) as the reference the kernel and the host
  build must match: ``.greedy(path, prompt, n)`` gives the greedy token ids for a question in
  the QA format, ``.text(path, ids)`` their text.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from tools.config import ModelConfig, ModelSpec
from tools.dataset import A_TOKEN, EOS_ID, Q_TOKEN

PARITY_TYPES = ("F32", "Q8_0")


def random_gguf(root: Path, tokenizer: Path, spec: ModelSpec, qtype: str, std: float = 0.02) -> Path:
    """Export a random-init Llama of shape ``spec`` (seed 0, weights ~ N(0, std)) to GGUF.

    The EOS row of the (tied) embedding is zero, so the EOS logit is 0 while the other logits
    spread both ways: greedy generation runs to its token limit instead of stopping early."""
    import torch
    from transformers import LlamaForCausalLM

    from tools.export.export import ExportRequest, export
    from tools.quant.layout import MODEL_CONFIG

    config = ModelConfig(name=root.name, model=spec)
    step = root / "step"
    if not step.is_dir():
        step.mkdir(parents=True)
        hf = config.to_hf()
        hf.initializer_range = std
        torch.manual_seed(0)
        model = LlamaForCausalLM(hf)
        with torch.no_grad():
            model.get_output_embeddings().weight[EOS_ID] = 0
        model.save_pretrained(step)
        shutil.copyfile(tokenizer, step / "tokenizer.json")
        config.save(step / MODEL_CONFIG)
    return export(ExportRequest(model=step, out=root / f"gguf-{qtype}", type=qtype, validate=False)).file


@pytest.fixture(scope="session")
def parity_gguf(
    micro_config: ModelConfig, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parity_gguf")
    tokenizer = micro_dataset / "tokenizer.json"
    return {t: random_gguf(root, tokenizer, micro_config.model, t, std=0.3) for t in PARITY_TYPES}


@pytest.fixture(scope="session")
def tiny_gguf(
    micro_config: ModelConfig, micro_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    spec = micro_config.model.model_copy(
        update=dict(tier="tiny", d_model=512, n_layers=4, n_heads=8, n_kv_heads=4, d_ff=1376, context=256)
    )
    return random_gguf(tmp_path_factory.mktemp("tiny_gguf"), micro_dataset / "tokenizer.json", spec, "Q8_0")


@pytest.fixture(scope="session")
def kernel_image(tmp_path_factory: pytest.TempPathFactory) -> Callable:
    from tools.kernel import KernelBuildRequest, build
    from tools.tiers import Arch

    root = tmp_path_factory.mktemp("kernel_images")

    @cache
    def make(arch: str, gguf: Path):
        out = root / f"{arch}-{gguf.parent.name}-{gguf.stem}"
        return build(KernelBuildRequest(arch=Arch(arch), model=gguf, out=out))

    return make


class LlamaReference:
    """llama.cpp (llama-cpp-python, one thread) as the reference, one loaded model per GGUF file.

    The KV cache stays at llama.cpp's default type (F16), which is what the runtime keeps too."""

    def __init__(self) -> None:
        self._models: dict[Path, object] = {}

    def _llm(self, path: Path):
        if path not in self._models:
            from llama_cpp import Llama

            self._models[path] = Llama(
                model_path=str(path), n_ctx=0, n_threads=1, logits_all=True, verbose=False
            )
        return self._models[path]

    def greedy(self, path: Path, prompt: str, n: int) -> list[int]:
        """Greedy continuation of BOS <|q|> prompt <|a|>: up to n token ids, EOS included."""
        import numpy as np

        llm = self._llm(path)
        llm.reset()
        llm.eval(llm.tokenize(f"{Q_TOKEN}{prompt.strip()}{A_TOKEN}".encode(), add_bos=True, special=True))
        out: list[int] = []
        while len(out) < n and llm.n_tokens < llm.n_ctx():
            out.append(int(np.argmax(llm.scores[llm.n_tokens - 1])))
            if out[-1] == llm.token_eos():
                break
            llm.eval([out[-1]])
        return out

    def text(self, path: Path, ids: list[int]) -> str:
        """The detokenized text of ``ids`` (invalid UTF-8 replaced)."""
        return self._llm(path).detokenize(ids).decode("utf-8", errors="replace")

    def close(self) -> None:
        for llm in self._models.values():
            llm.close()
        self._models.clear()


@pytest.fixture(scope="session")
def llama_reference() -> Iterator[LlamaReference]:
    ref = LlamaReference()
    yield ref
    ref.close()
