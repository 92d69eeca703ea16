"""The committed tier configs (SLM/configs/*.yaml): valid, current estimates, and exactly what
``design`` proposes for the inputs recorded in their estimates block."""

from __future__ import annotations

import pytest

from tools.arch import DesignRequest, design, estimate, validate
from tools.artifacts import REPO_ROOT
from tools.config import ModelConfig
from tools.tiers import MB, TIERS, TierName

CONFIGS = REPO_ROOT / "SLM" / "configs"
TIER_NAMES = [t.value for t in TierName]


def test_one_config_per_tier():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(TIER_NAMES)


@pytest.mark.parametrize("tier", TIER_NAMES)
def test_tier_config_is_valid_and_reproducible(tier):
    cfg = ModelConfig.load(CONFIGS / f"{tier}.yaml")
    assert cfg.name == cfg.model.tier == tier
    est = cfg.estimates
    assert validate(cfg, quant=est.recommended_quant).ok
    bounds = TIERS[TierName(tier)]
    assert bounds.min_params <= est.params <= bounds.max_params
    assert est.inference_ram_bytes[est.recommended_quant] <= bounds.ram_max_mb * MB
    assert estimate(cfg).model_dump() == est.model_dump(
        include={"params", "flops_per_token", "train_memory_bytes", "inference_ram_bytes"}
    )
    again = design(
        DesignRequest(
            tier=tier,
            arch=cfg.model.arch,
            vocab_size=cfg.model.vocab_size,
            train_minutes=est.train_minutes,
            device=est.device,
            flops_per_s=est.train_flops_per_s,
            name=tier,
        )
    )
    assert again == cfg


def test_tiny_is_the_make_run_default():
    cfg = ModelConfig.load(CONFIGS / "tiny.yaml")
    m, t = cfg.model, cfg.training
    assert (m.arch.value, m.vocab_size, cfg.estimates.recommended_quant) == ("riscv64", 4096, "Q4_0")
    assert cfg.estimates.params >= 10_000_000  # embeddings included
    # ~6.2M tokens: the budget at which the tiny sweep reached val ppl ~33 (threshold 50)
    assert t.max_steps * t.batch_size * m.context >= 6_000_000
