"""Architecture estimates against the instantiated model, tier validation, design proposals."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM

from tests.fixtures_train import torch_threads
from tools.arch import DesignRequest, design, validate
from tools.arch import estimates as est
from tools.arch.design import ARCH_PROFILES, budget_warning, candidates
from tools.artifacts import REPO_ROOT
from tools.config import ModelConfig, ModelSpec, TrainSpec
from tools.tiers import MB, TIERS, TierName

SPECS = {
    "micro_gqa_tied": dict(
        vocab_size=512, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=192, context=128
    ),
    "mha_untied": dict(
        vocab_size=300,
        d_model=96,
        n_layers=3,
        n_heads=3,
        n_kv_heads=3,
        d_ff=256,
        context=64,
        tie_embeddings=False,
    ),
    "tiny_shape": dict(
        vocab_size=4096, d_model=384, n_layers=6, n_heads=6, n_kv_heads=3, d_ff=1024, context=256
    ),
}


def spec(name: str, tier: str = "micro") -> ModelSpec:
    return ModelSpec(tier=tier, arch="riscv64", **SPECS[name])


def build(m: ModelSpec) -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(ModelConfig(name="t", model=m).to_hf())


def config(m: ModelSpec, **training) -> ModelConfig:
    return ModelConfig(name="t", model=m, training=TrainSpec(**training))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_param_count_is_exact(name):
    m = spec(name)
    model = build(m)
    assert est.param_count(m) == sum(p.numel() for p in model.parameters())
    assert sorted(est.all_matrices(m)) == sorted(
        tuple(p.shape) for n, p in model.named_parameters() if p.ndim == 2
    )


@pytest.mark.parametrize("name", ["micro_gqa_tied", "mha_untied"])
def test_flops_per_token_matches_counted_forward_flops(name):
    from torch.utils.flop_counter import FlopCounterMode

    m = spec(name)
    # eager attention: its QK^T and AV are matmuls the counter sees, over the full context as in
    # the estimate (the CPU's fused SDPA kernel is invisible to the counter)
    model = LlamaForCausalLM._from_config(ModelConfig(name="t", model=m).to_hf(), attn_implementation="eager")
    batch = 2
    x = torch.randint(0, m.vocab_size, (batch, m.context))
    with FlopCounterMode(display=False) as counter:
        model(input_ids=x, use_cache=False)
    # the forward pass is a third of the training FLOPs
    assert counter.get_total_flops() / (batch * m.context) == pytest.approx(
        est.flops_per_token(m) / 3, rel=1e-9
    )


def test_train_memory_matches_optimizer_state_and_saved_activations():
    m = spec("tiny_shape")
    model, batch = build(m), 2
    opt = torch.optim.AdamW(model.parameters())
    x = torch.randint(0, m.vocab_size, (batch, m.context + 1))
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch_threads(1), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(input_ids=x[:, :-1], use_cache=False).logits
        loss = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten())
        loss.backward()
        opt.step()
    mem = est.train_memory(m, batch)
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert mem.weights == sum(p.numel() * 4 for p in model.parameters())
    assert mem.grads == sum(p.grad.numel() * 4 for p in model.parameters())
    moments = sum(s[k].nbytes for s in opt.state.values() for k in ("exp_avg", "exp_avg_sq"))
    assert mem.optimizer == moments
    activations = sum(b for ptr, b in saved.items() if ptr not in weights)
    assert mem.activations == pytest.approx(activations, rel=0.2)


def test_gguf_weight_bytes_equal_the_exported_tensors(micro_gguf, micro_config):
    from gguf import GGUFReader

    from tools.gguf.plan import EMBED_QTYPE

    assert est.EMBED_BLOCK_TYPE == EMBED_QTYPE  # the estimate follows the exporter's type plan
    for wtype, path in micro_gguf.items():
        tensors = GGUFReader(path).tensors
        assert est.weight_bytes(micro_config.model, wtype) == sum(int(t.n_bytes) for t in tensors), wtype


def test_inference_ram_terms():
    m = spec("tiny_shape")
    ram = est.inference_ram_all(m)
    assert ram["F32"] > ram["F16"] > ram["Q8_0"] > ram["Q4_0"]
    assert est.weight_bytes(m, "F32") == 4 * est.param_count(m)
    assert est.kv_cache_bytes(m) == 2 * 6 * 256 * 3 * 64 * 4
    fixed = est.kv_cache_bytes(m) + est.runtime_activation_bytes(m) + est.tokenizer_bytes(m)
    assert ram["Q8_0"] - fixed == est.weight_bytes(m, "Q8_0")
    layers = sum(r * c for r, c in est.layer_matrices(m)) * m.n_layers
    assert est.weight_bytes(m, "Q4_0") == layers // 32 * 18 + 4096 * 384 // 32 * 34 + 4 * est.norm_params(m)


@pytest.mark.parametrize(
    ("change", "check", "message"),
    [
        (dict(n_heads=5), "heads_divide_d_model", "n_heads 5 does not divide d_model 384"),
        (dict(n_kv_heads=4), "kv_heads_divide_heads", "n_kv_heads 4 does not divide n_heads 6"),
        (dict(d_ff=1000), "rows_in_quant_blocks", "d_ff 1000 is not a multiple of 32"),
        (
            dict(d_model=336, n_heads=4, n_kv_heads=2),
            "rows_in_quant_blocks",
            "d_model 336 is not a multiple of 32",
        ),
        (dict(d_model=192, n_heads=3, n_kv_heads=1, d_ff=512), "params_in_tier", "outside the tiny tier"),
        (dict(d_model=96, n_heads=32, n_kv_heads=2), "head_dim_even", "head_dim 3 must be even"),
        (dict(context=32768), "ram_in_tier", "above the tiny tier's 128 MiB"),
    ],
)
def test_validate_rejects_with_the_reason(change, check, message):
    m = spec("tiny_shape", tier="tiny").model_copy(update=change)
    v = validate(config(m))
    assert not v.ok
    assert any(i.check == check and message in i.message for i in v.issues), v.issues


def test_validate_accepts_in_tier_configs_and_reports_fits():
    v = validate(config(spec("tiny_shape", tier="tiny")))
    assert v.ok and v.tier == "tiny" and v.issues == []
    assert v.fits == ["F32", "F16", "Q8_0", "Q4_0"] and v.ram_mb["Q4_0"] < v.ram_mb["F32"]
    micro = validate(config(spec("micro_gqa_tied")))  # the test-only tier has no bounds
    assert micro.ok and micro.params == est.param_count(spec("micro_gqa_tied"))
    assert not validate(config(spec("micro_gqa_tied"), warmup_steps=5, max_steps=5)).ok


def test_design_stays_inside_each_tier_shaped_for_the_arch():
    for tier, vocab in (("tiny", 4096), ("small", 8192), ("medium", 16384), ("large", 32000)):
        for arch in ("riscv64", "x86_64", "aarch64"):
            cfg = design(
                DesignRequest(tier=tier, arch=arch, vocab_size=vocab, train_minutes=60, flops_per_s=1e14)
            )
            quant = ARCH_PROFILES[cfg.model.arch].quant
            assert validate(cfg, quant=quant).ok, (tier, arch)
            bounds = TIERS[TierName(tier)]
            assert bounds.min_params <= cfg.estimates.params <= bounds.max_params
            assert cfg.estimates.inference_ram_bytes[quant] <= bounds.ram_max_mb * MB
            assert cfg.model.d_model % ARCH_PROFILES[cfg.model.arch].dim_multiple == 0
            assert cfg.estimates.recommended_quant == quant
    riscv = design(
        DesignRequest(tier="tiny", arch="riscv64", vocab_size=4096, train_minutes=18, flops_per_s=5e11)
    )
    x86 = design(
        DesignRequest(tier="tiny", arch="x86_64", vocab_size=4096, train_minutes=18, flops_per_s=5e11)
    )
    assert riscv.model.context == x86.model.context // 2 and riscv.estimates.recommended_quant == "Q4_0"


def test_design_turns_budget_into_tokens_and_size():
    def tiny(minutes: float, flops: float = 5e11) -> ModelConfig:
        return design(
            DesignRequest(
                tier="tiny", arch="riscv64", vocab_size=4096, train_minutes=minutes, flops_per_s=flops
            )
        )

    short, long = tiny(18), tiny(36)
    # a CPU budget is far from 20 tokens/param: the smallest tiny shape, trained as long as the budget allows
    assert (
        short.model
        == long.model
        == candidates(DesignRequest(tier="tiny", arch="riscv64", vocab_size=4096))[0]
    )
    t = short.training
    tokens = t.max_steps * t.batch_size * t.grad_accum * short.model.context
    assert tokens == pytest.approx(5e11 / est.flops_per_token(short.model) * 18 * 60 * 0.9, rel=0.01)
    assert long.training.max_steps == pytest.approx(2 * t.max_steps, abs=1)
    assert short.estimates.tokens_per_param < 20 and t.warmup_steps < t.max_steps and t.min_lr < t.lr
    # with a GPU's throughput the budget reaches 20 tokens/param for a larger model
    big = tiny(60, flops=3e14)
    assert big.estimates.params > short.estimates.params and big.estimates.tokens_per_param >= 20
    micro = design(
        DesignRequest(tier="micro", arch="x86_64", vocab_size=512, train_minutes=1, flops_per_s=1e10)
    )
    assert (micro.model.d_model, micro.model.n_layers, micro.model.context) == (64, 2, 128)


def test_a_budget_far_too_small_for_the_tier_is_called_out():
    small = design(
        DesignRequest(
            tier="small", arch="aarch64", vocab_size=8192, train_minutes=95, device="cpu", flops_per_s=3e10
        )
    )
    warning = budget_warning(small)
    assert warning is not None and "95 minutes of training on cpu" in warning and "--device cuda" in warning
    tiny = ModelConfig.load(REPO_ROOT / "SLM/configs/tiny.yaml")
    assert budget_warning(tiny) is None  # 0.55 tokens/param passes
    # a step count fixed after design is judged by the schedule, not the design's budget
    short = tiny.model_copy(update={"training": tiny.training.model_copy(update={"max_steps": 10})})
    assert "10 steps train 40,960 tokens for 11.3M parameters" in (budget_warning(short) or "")


def test_design_probe_is_measured_once_and_cached(tmp_path, monkeypatch):
    from tools.arch import probe

    monkeypatch.setenv("AUTON_SLM_CACHE", str(tmp_path))
    calls = []

    def fake_measure(device: str, precision: str) -> float:
        calls.append((device, precision))
        return 2e11

    monkeypatch.setattr(probe, "measure_train_flops", fake_measure)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    a = design(DesignRequest(tier="tiny", arch="riscv64", vocab_size=4096, train_minutes=10, device="cpu"))
    b = design(DesignRequest(tier="tiny", arch="riscv64", vocab_size=4096, train_minutes=10, device="cpu"))
    assert len(calls) == 1 and (tmp_path / "train_probe.json").is_file()
    assert a == b and a.estimates.train_flops_per_s == 2e11


def test_probe_on_a_busy_machine_is_used_but_not_cached(tmp_path, monkeypatch):
    from tools.arch import probe

    monkeypatch.setenv("AUTON_SLM_CACHE", str(tmp_path))
    monkeypatch.setattr(probe, "measure_train_flops", lambda device, precision: 3e10)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.7, 1.0, 0.5))
    assert probe.train_flops_per_s("cpu") == 3e10
    assert not (tmp_path / "train_probe.json").exists()


def test_probe_measures_a_real_training_step():
    from tools.arch.probe import measure_train_flops

    micro = spec("micro_gqa_tied")
    flops = measure_train_flops("cpu", "fp32", warmup=1, steps=2, spec=micro, batch=4)
    assert 1e8 < flops < 1e13  # between a slow laptop core and far more than two server cores
