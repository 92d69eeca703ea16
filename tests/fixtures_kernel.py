"""Shared pytest fixtures of the kernel stage.

- ``parity_gguf``: dict type -> GGUF path (F32, Q8_0) of a random-init model with the micro
  model's shape (``micro_config``) and vocabulary, initialised with a wide weight spread (std 0.3) so its greedy
  output is varied text rather than the trained micro model's repeated token: a much stronger
  token-for-token parity check. Exported with tools.export like ``micro_gguf``.
- ``tiny_gguf``: a tiny-tier-sized (about 11.9M parameters) random-init model at Q8_0.
- ``kernel_image``: a factory ``(arch, gguf, kb=None) -> KernelBuildResult`` building kernel images
  with tools.kernel into a session directory (one image per arch, model and knowledge blob, built once).
- ``llama_reference``: llama.cpp (llama-cpp-python) as the reference the kernel and the host
  build must match: ``.greedy(path, prompt, n)`` gives the greedy token ids for a question in
  the QA format, ``.text(path, ids)`` their text; ``.greedy_ids(path, ids, n)`` continues any
  token ids and also returns the logits; ``.tokenize(path, text)`` is BOS + the text's tokens.
- ``host_runtime``: kernel/build/host/slm-run, the runtime built for the host (kernel/host.mk);
  ``make_host(target)`` builds any host.mk target (``test-runtime``, ``fuzz-gguf``).
- ``corrupt_models``: dict name -> a broken copy of ``micro_gguf["Q8_0"]`` (truncated, bad magic,
  wrong tensor shape, huge length fields, overlapping or misaligned tensors, ...);
  ``CORRUPT_EXPECT[name]`` is a substring of the one-line error every build must print for it.
  ``corrupt_variants(path)`` makes the same set from any llama GGUF with a gpt2 tokenizer;
  ``with_byte_array(path, key, value, out)`` copies a GGUF with one more (uint8 array) entry.
"""

from __future__ import annotations

import hashlib
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

    from tools.checkpoint import MODEL_CONFIG
    from tools.export.export import ExportRequest, export

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
        update=dict(tier="tiny", d_model=512, n_layers=4, n_heads=8, n_kv_heads=4, d_ff=1376, context=1024)
    )
    return random_gguf(tmp_path_factory.mktemp("tiny_gguf"), micro_dataset / "tokenizer.json", spec, "Q8_0")


@pytest.fixture(scope="session")
def kernel_image(tmp_path_factory: pytest.TempPathFactory) -> Callable:
    from tools.kernel import KernelBuildRequest, build
    from tools.tiers import Arch

    root = tmp_path_factory.mktemp("kernel_images")

    @cache
    def make(arch: str, gguf: Path, kb: Path | None = None):
        key = hashlib.sha1(f"{gguf}|{kb}".encode()).hexdigest()[:10]  # one per file
        return build(
            KernelBuildRequest(arch=Arch(arch), model=gguf, kb=kb, out=root / f"{arch}-{gguf.stem}-{key}")
        )

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
        llm = self._llm(path)
        ids = llm.tokenize(f"{Q_TOKEN}{prompt.strip()}{A_TOKEN}".encode(), add_bos=True, special=True)
        return self.greedy_ids(path, ids, n)[0]

    def greedy_ids(self, path: Path, prompt_ids: list[int], n: int):
        """Greedy continuation of ``prompt_ids``: up to n token ids (EOS included) and the
        logits each was chosen from, as a (tokens, vocab) float32 array."""
        import numpy as np

        llm = self._llm(path)
        llm.reset()
        llm.eval(prompt_ids)
        out: list[int] = []
        logits = []
        while len(out) < n and llm.n_tokens < llm.n_ctx():
            logits.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32))
            out.append(int(np.argmax(logits[-1])))
            if out[-1] == llm.token_eos():
                break
            llm.eval([out[-1]])
        return out, np.stack(logits)

    def tokenize(self, path: Path, text: bytes) -> list[int]:
        """BOS and llama.cpp's tokens for ``text``, special-token strings parsed (slm-run --raw)."""
        llm = self._llm(path)
        return [llm.token_bos()] + llm.tokenize(text, add_bos=False, special=True)

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


# --- the host build of the SLM runtime (kernel/host.mk) and corrupt models ---------------------

KERNEL_DIR = Path(__file__).resolve().parents[1] / "kernel"

# What each corrupt model's error message says (a substring), on the host and in the kernel.
CORRUPT_EXPECT = {
    "empty": "not a GGUF file",
    "bad_magic": "bad magic",
    "bad_version": "unknown version 7",
    "truncated_header": "truncated file",
    "truncated_data": "past the end of the file",
    "huge_kv_count": "claims 1152921504606846976 metadata entries",
    "huge_string_length": "has length 1152921504606846976",
    "huge_array_length": "claims 576460752303423488 strings",
    "huge_dimension": "dimension 1 of size 1125899906842624",
    "wrong_tensor_shape": "blk.0.attn_q.weight has shape",
    "unknown_tensor_type": "unknown type id 200",
    "unsupported_tensor_type": "has type Q4_K",
    "misaligned_tensor": "not a multiple of the alignment",
    "overlapping_tensors": "overlap",
    "tensor_out_of_bounds": "past the end of the file",
    "duplicate_key": "duplicate metadata key",
    "wrong_architecture": "architecture 'gemma'",
    "missing_tensor": "output_norm.weight is missing",
    "unknown_tokenizer": "model 'gpt3'",
}


def make_host(target: str, host_dir: str = "build/host", cflags: str | None = None) -> Path:
    """Build ``kernel/<host_dir>/<target>`` with host.mk (incremental) and return its path;
    ``cflags`` replaces HOST_CFLAGS (e.g. "-g -march=native", best in its own host_dir)."""
    import subprocess

    cmd = [
        "make",
        "-s",
        "-C",
        str(KERNEL_DIR),
        "-f",
        "host.mk",
        f"HOST_DIR={host_dir}",
        f"{host_dir}/{target}",
    ]
    if cflags is not None:
        cmd.insert(-1, f"HOST_CFLAGS={cflags}")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"make {target} failed:\n{r.stdout}{r.stderr}")
    return KERNEL_DIR / host_dir / target


@pytest.fixture(scope="session")
def host_runtime() -> Path:
    """kernel/build/host/slm-run, built from the current sources."""
    return make_host("slm-run")


def _layout(path: Path) -> tuple[bytes, dict[str, list[int]], dict[str, list[int]]]:
    """A GGUF file's bytes and the byte offsets of the parts (gguf's ReaderField.parts) of each
    metadata field and each tensor info: [key/name length, key/name, ...]."""
    from gguf import GGUFReader

    r = GGUFReader(path)
    base = r.data.ctypes.data
    fields = {k: [p.ctypes.data - base for p in f.parts] for k, f in r.fields.items()}
    tensors = {t.name: [p.ctypes.data - base for p in t.field.parts] for t in r.tensors}
    return bytes(r.data), fields, tensors


def with_byte_array(gguf: Path, key: str, value: bytes, out: Path) -> Path:
    """A copy of ``gguf`` with one more metadata entry (a uint8 array). Tensor data offsets are
    relative to the data section, which only moves to the next alignment boundary."""
    import struct

    data, fields, tensors = _layout(gguf)
    kv_end = min(parts[0] for parts in tensors.values())  # tensor infos follow the metadata
    info_end = max(parts[-1] for parts in tensors.values()) + 8
    data_start = -(-info_end // 32) * 32
    k = key.encode()
    entry = struct.pack("<Q", len(k)) + k + struct.pack("<IIQ", 9, 0, len(value)) + value
    head = bytearray(data[:kv_end] + entry + data[kv_end:info_end])
    struct.pack_into("<Q", head, 16, struct.unpack_from("<Q", data, 16)[0] + 1)
    head += bytes(-len(head) % 32)
    out.write_bytes(bytes(head) + data[data_start:])
    return out


def corrupt_variants(path: Path) -> dict[str, bytes]:
    """Broken copies of a valid llama GGUF (with gpt2 tokenizer metadata), one per CORRUPT_EXPECT name."""
    import struct

    data, fields, tensors = _layout(path)

    def patch(at: int, fmt: str, *values) -> bytes:
        b = bytearray(data)
        struct.pack_into(fmt, b, at, *values)
        return bytes(b)

    def replace_text(at: int, old: bytes, new: bytes) -> bytes:
        assert data[at : at + len(old)] == old and len(old) == len(new)
        return data[:at] + new + data[at + len(new) :]

    names = list(tensors)
    q, first, second = tensors["blk.0.attn_q.weight"], tensors[names[0]], tensors[names[1]]
    keys = [k for k in fields if not k.startswith("GGUF.")]
    dup_of, dup = next((a, b) for i, a in enumerate(keys) for b in keys[i + 1 :] if len(a) == len(b))
    arch, tok_model = fields["general.architecture"], fields["tokenizer.ggml.model"]
    return {
        "empty": b"",
        "bad_magic": b"GGUX" + data[4:],
        "bad_version": patch(4, "<I", 7),
        "truncated_header": data[
            : fields["tokenizer.ggml.tokens"][len(fields["tokenizer.ggml.tokens"]) // 2] + 3
        ],
        "truncated_data": data[: len(data) // 2],
        "huge_kv_count": patch(16, "<Q", 1 << 60),
        "huge_string_length": patch(arch[3], "<Q", 1 << 60),
        "huge_array_length": patch(fields["tokenizer.ggml.tokens"][4], "<Q", 1 << 59),
        "huge_dimension": patch(q[3] + 8, "<Q", 1 << 50),
        "wrong_tensor_shape": patch(q[3] + 8, "<Q", struct.unpack_from("<Q", data, q[3] + 8)[0] // 2),
        "unknown_tensor_type": patch(q[4], "<I", 200),
        "unsupported_tensor_type": patch(q[4], "<I", 12),
        "misaligned_tensor": patch(second[5], "<Q", struct.unpack_from("<Q", data, second[5])[0] + 2),
        "overlapping_tensors": patch(second[5], "<Q", struct.unpack_from("<Q", data, first[5])[0]),
        "tensor_out_of_bounds": patch(second[5], "<Q", 1 << 40),
        "duplicate_key": replace_text(fields[dup][1], dup.encode(), dup_of.encode()),
        "wrong_architecture": replace_text(arch[4], b"llama", b"gemma"),
        "missing_tensor": replace_text(tensors["output_norm.weight"][1], b"output_norm", b"output_norX"),
        "unknown_tokenizer": replace_text(tok_model[4], b"gpt2", b"gpt3"),
    }


@pytest.fixture(scope="session")
def corrupt_models(micro_gguf: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> a broken copy of the trained micro model's Q8_0 GGUF (see CORRUPT_EXPECT)."""
    root = tmp_path_factory.mktemp("corrupt_models")
    out = {}
    for name, blob in corrupt_variants(micro_gguf["Q8_0"]).items():
        out[name] = root / f"{name}.gguf"
        out[name].write_bytes(blob)
    return out
