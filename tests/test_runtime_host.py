"""The SLM runtime built for the host (kernel/build/host/slm-run) against llama.cpp.

Greedy tokens must equal llama.cpp's (llama-cpp-python, one thread, its default F16 KV cache,
which the runtime keeps too) token for token, and the logits they come from must agree closely:
the runtime quantizes activations exactly as llama.cpp does, so only float summation order,
llama.cpp's FMA and its vectorized expf separate them, by an ulp here and there. When such an
ulp lands on a rounding step (an activation's Q8_0 value, an F16 KV-cache entry) it moves that
step's logits by up to a few 1e-2 (a few 1e-3 without Q8_0 activations); a real bug moves
them by far more. The same C code runs inside the kernel on every arch, bit for bit
(tests/test_kernel_boot.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_kernel import CORRUPT_EXPECT, PARITY_TYPES, make_host, random_gguf, with_byte_array
from tools.dataset import A_TOKEN, Q_TOKEN

N_TOKENS = 40
QUESTIONS = [
    "Which package provides the lspci command?",
    "What does the riscv64 kernel use as its console?",
    "The command kill comes from which package?",
    "What is OpenSBI?",
]
# Per step: |logits - llama.cpp's| / |llama.cpp's| (L2). Largest |difference| of any step for
# float activations; quantized ones must match that closely on at least one question.
REL_TOL = 0.05
FLOAT_TOL = 1e-2
TEXTS = [
    "hello world",
    "  leading and trailing   ",
    "tabs\tand\nnew\n\n\nlines",
    "don't you're we've I'm they'll he'd it's 'S",
    "numbers 12345 6.78 1,000,000 0x1f",
    "punctuation!!! ?? ... --- (a) [b] {c} <d> @e #f $g %h",
    "café naïve – — … “quotes” ‘single’",
    "中文 日本語 한국어 😀🎉👍🏽",
    "e\u0301 combining, \u00a0nbsp\u2003em\u3000ideographic",
    "mixed<|q|>special<|a|>tokens</s>and<s>more<unk>",
    "riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d",
    "lspci -nn | grep -i ethernet",
]


def slm(host_runtime: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(host_runtime), str(model), *args], capture_output=True, timeout=60)


def generate(
    host_runtime: Path, model: Path, prompt: str, n: int, *args: str, logits: Path | None = None
) -> dict:
    extra = ["--logits", str(logits)] if logits else []
    r = slm(host_runtime, model, "-p", prompt, "-n", str(n), "--json", *args, *extra)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.isascii()  # non-ASCII is escaped; a character cut by the token limit is U+FFFD
    return json.loads(r.stdout)


def assert_matches_llama(
    host_runtime, llama_reference, model: Path, tmp_path: Path
) -> list[tuple[int, float, bool]]:
    """Greedy parity on each question: (tokens that agree, largest logit difference, whether
    the whole output agrees) for each.

    Tokens must agree for all N_TOKENS steps, except that the two may part at a near tie: a step
    where llama.cpp's two best logits are closer than the two builds' logits differ there."""
    results = []
    for q in QUESTIONS:
        out = generate(host_runtime, model, q, N_TOKENS, logits=tmp_path / "logits.bin")
        assert out["prompt_ids"] == llama_reference.tokenize(model, f"{Q_TOKEN}{q}{A_TOKEN}".encode())
        ref_ids, ref_logits = llama_reference.greedy_ids(model, out["prompt_ids"], N_TOKENS)
        mine = np.fromfile(tmp_path / "logits.bin", dtype=np.float32).reshape(len(out["output_ids"]), -1)
        pairs = zip(out["output_ids"], ref_ids, strict=False)
        same = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
        whole = same is None
        if whole:
            assert out["output_ids"] == ref_ids and out["text"] == llama_reference.text(model, ref_ids)
            same = len(ref_ids)
        else:
            gap = ref_logits[same].max() - ref_logits[same][out["output_ids"][same]]
            assert gap <= 2 * np.abs(mine[same] - ref_logits[same]).max(), (q, same, gap)
        diff = mine[:same] - ref_logits[:same]
        assert (np.linalg.norm(diff, axis=1) <= REL_TOL * np.linalg.norm(ref_logits[:same], axis=1)).all(), q
        results.append((same, float(np.abs(diff).max()), whole))
    return results


def assert_logits_close(qtype: str, results: list[tuple[int, float, bool]]) -> None:
    worst = [w for _, w, _ in results]
    if qtype in ("F32", "F16"):
        assert max(worst) <= FLOAT_TOL
    else:
        assert min(worst) <= 1e-5


@pytest.mark.parametrize("qtype", ["F32", "F16", "Q8_0", "Q4_0"])
def test_trained_micro_model_matches_llama_cpp(qtype, host_runtime, micro_gguf, llama_reference, tmp_path):
    results = assert_matches_llama(host_runtime, llama_reference, micro_gguf[qtype], tmp_path)
    assert all(whole for _, _, whole in results)
    assert max(n for n, _, _ in results) >= 32
    assert_logits_close(qtype, results)


@pytest.mark.parametrize("qtype", PARITY_TYPES)
def test_varied_text_matches_llama_cpp(qtype, host_runtime, parity_gguf, llama_reference, tmp_path):
    results = assert_matches_llama(host_runtime, llama_reference, parity_gguf[qtype], tmp_path)
    assert sum(n >= 32 for n, _, _ in results) >= 3
    assert_logits_close(qtype, results)
    out = generate(host_runtime, parity_gguf[qtype], QUESTIONS[0], N_TOKENS)
    assert len(set(out["output_ids"])) >= 10  # varied text, not one repeated token


def test_tokenizer_matches_llama_cpp(host_runtime, micro_gguf, llama_reference):
    cases = [t.encode() for t in TEXTS] + [b"invalid \xff\xfe utf-8 \xc3", b"cut \xf0\x9f\x98"]
    assert_tokenizer_matches(host_runtime, llama_reference, micro_gguf["F32"], cases)


SPM_MODELS = {"bpe": "llama", "unigram": "t5"}  # SentencePiece type -> GGUF tokenizer model


@pytest.fixture(scope="module")
def spm_ggufs(micro_config, tmp_path_factory) -> dict[str, Path]:
    """SentencePiece type -> a random-init micro model over such a vocabulary: BPE with byte
    fallback is GGUF's "llama" tokenizer, unigram is "t5" (llama.cpp's UGM)."""
    from tools.data.prepare import PrepareRequest, prepare

    models = {}
    for kind in SPM_MODELS:
        root = tmp_path_factory.mktemp(f"spm-{kind}")
        data = root / "data"
        req = PrepareRequest.build(
            arch="riscv64",
            tokenizer="sentencepiece",
            spm_type=kind,
            vocab_size=512,
            out=data,
            max_bytes=200_000,
        )
        prepare(req)
        models[kind] = random_gguf(
            root / "model", data / "tokenizer.json", micro_config.model, "F32", std=0.3
        )
    return models


def assert_tokenizer_matches(host_runtime, llama_reference, model: Path, cases: list[bytes]) -> None:
    for raw in cases:
        out = generate(host_runtime, model, raw.decode("utf-8", "surrogateescape"), 0, "--raw")
        assert out["prompt_ids"] == llama_reference.tokenize(model, raw), raw


@pytest.mark.parametrize("kind", sorted(SPM_MODELS))
def test_sentencepiece_model_matches_llama_cpp(kind, host_runtime, spm_ggufs, llama_reference, tmp_path):
    spm_gguf = spm_ggufs[kind]
    info = json.loads(slm(host_runtime, spm_gguf, "--json").stdout)
    assert info["model"]["tokenizer"] == SPM_MODELS[kind]
    assert_tokenizer_matches(
        host_runtime, llama_reference, spm_gguf, [t.encode() for t in TEXTS] + [b"bad \xff utf-8"]
    )
    results = assert_matches_llama(host_runtime, llama_reference, spm_gguf, tmp_path)
    assert min(n for n, _, _ in results) >= 32
    assert_logits_close("F32", results)


def test_unigram_charsmap_normalization_matches_llama_cpp(host_runtime, spm_ggufs, llama_reference, tmp_path):
    """SentencePiece's precompiled charsmap (here NFKC's), which the unigram tokenizer applies."""
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    spm_gguf = spm_ggufs["unigram"]
    model = io.BytesIO()
    text = (Path(__file__).read_text().splitlines() * 3)[:3000]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text), model_writer=model, vocab_size=200, normalization_rule_name="nmt_nfkc"
    )
    proto = sentencepiece_model_pb2.ModelProto.FromString(model.getvalue())
    charsmap = proto.normalizer_spec.precompiled_charsmap
    assert len(charsmap) > 1000
    nfkc = with_byte_array(spm_gguf, "tokenizer.ggml.precompiled_charsmap", charsmap, tmp_path / "nfkc.gguf")
    wide = "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ﬁ ① ™".encode()
    assert_tokenizer_matches(host_runtime, llama_reference, nfkc, [wide] + [t.encode() for t in TEXTS])
    plain = generate(host_runtime, spm_gguf, wide.decode(), 0, "--raw")["prompt_ids"]
    assert generate(host_runtime, nfkc, wide.decode(), 0, "--raw")["prompt_ids"] != plain


@pytest.mark.parametrize("name", sorted(CORRUPT_EXPECT))
def test_corrupt_model_is_a_clear_error(name, host_runtime, corrupt_models):
    r = slm(host_runtime, corrupt_models[name], "-p", "hello", "-n", "4")
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert err.count("\n") == 1 and CORRUPT_EXPECT[name] in err
    assert r.stdout == b""


def test_seeded_sampling_is_reproducible(host_runtime, parity_gguf):
    model = parity_gguf["Q8_0"]

    def sample(seed: int) -> list[int]:
        args = ("--temp", "0.9", "--top-p", "0.95", "--seed", str(seed))
        return generate(host_runtime, model, QUESTIONS[1], 24, *args)["output_ids"]

    runs = {seed: sample(seed) for seed in (1, 2, 3)}
    assert sample(1) == runs[1]
    assert len({tuple(ids) for ids in runs.values()}) == 3
    assert generate(host_runtime, model, QUESTIONS[1], 24)["output_ids"] not in runs.values()


def test_model_facts(host_runtime, micro_gguf, micro_config):
    from gguf import GGUFReader

    for qtype, path in micro_gguf.items():
        facts = json.loads(slm(host_runtime, path, "--json").stdout)["model"]
        m = micro_config.model
        assert (facts["layers"], facts["d_model"], facts["heads"], facts["kv_heads"]) == (
            m.n_layers,
            m.d_model,
            m.n_heads,
            m.n_kv_heads,
        )
        assert (facts["d_ff"], facts["context"], facts["vocab"]) == (m.d_ff, m.context, m.vocab_size)
        tensors = GGUFReader(path).tensors
        assert facts["params"] == sum(int(t.n_elements) for t in tensors)
        assert facts["weight_bytes"] == sum(int(t.n_bytes) for t in tensors)
        assert facts["quant"] == qtype and facts["tokenizer"] == "gpt2"
        assert facts["kv_bytes"] == 2 * 2 * m.n_layers * m.context * m.n_kv_heads * (m.d_model // m.n_heads)
        assert 0 < facts["arena_used"] <= facts["arena_peak"]


def test_bad_calls_are_clear_errors(host_runtime, micro_gguf, tmp_path):
    model = micro_gguf["Q8_0"]
    r = slm(host_runtime, model, "--arena", "0.1", "-p", "hi")
    assert r.returncode == 1 and b"out of memory" in r.stderr
    r = slm(host_runtime, model, "-p", "word " * 200)
    assert r.returncode == 1 and b"more than 128 tokens" in r.stderr
    r = slm(host_runtime, tmp_path / "missing.gguf")
    assert r.returncode == 2 and b"No such file" in r.stderr
    r = slm(host_runtime, model, "--bogus")
    assert r.returncode == 2 and b"unknown option --bogus" in r.stderr


def test_runtime_unit_checks():
    """fp16 conversions against _Float16, the math against libm, fmt against snprintf, Unicode."""
    r = subprocess.run([str(make_host("test-runtime"))], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    assert r.stdout.count(" ok ") >= 9
