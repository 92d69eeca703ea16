"""Feasibility of a config: Llama shape rules, GGUF block alignment, and the tier's bounds.

Shape rules apply to every tier; parameter and RAM bounds (docs/pipeline.md, Tiers) to the four real tiers,
not to the test-only ``micro`` tier. RAM is the kernel runtime's need (tools.arch.estimates):
a config passes when it fits the tier's RAM ceiling at the weight type it will ship with
(``quant``), or, when none is named, at the smallest type (Q4_0).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.arch.estimates import QUANT_BLOCK, WEIGHT_TYPES, WeightType, inference_ram, param_count
from tools.config import ModelConfig
from tools.tiers import MB, TIERS, TierName


class Issue(BaseModel):
    check: str
    message: str


class Validation(BaseModel):
    path: str = ""
    ok: bool
    tier: str
    params: int
    ram_mb: dict[str, float] = Field(description="kernel-runtime RAM per weight type, MiB")
    fits: list[str] = Field(description="weight types whose RAM fits the tier's ceiling")
    issues: list[Issue]


def shape_issues(cfg: ModelConfig) -> list[Issue]:
    m = cfg.model
    out: list[Issue] = []

    def need(cond: bool, check: str, message: str) -> None:
        if not cond:
            out.append(Issue(check=check, message=message))

    need(
        m.d_model % m.n_heads == 0,
        "heads_divide_d_model",
        f"n_heads {m.n_heads} does not divide d_model {m.d_model}",
    )
    need(
        m.n_heads % m.n_kv_heads == 0,
        "kv_heads_divide_heads",
        f"n_kv_heads {m.n_kv_heads} does not divide n_heads {m.n_heads}",
    )
    need(m.head_dim % 2 == 0, "head_dim_even", f"head_dim {m.head_dim} must be even for RoPE")
    for name, value in (("d_model", m.d_model), ("d_ff", m.d_ff)):
        need(
            value % QUANT_BLOCK == 0,
            "rows_in_quant_blocks",
            f"{name} {value} is not a multiple of {QUANT_BLOCK}: its matrix rows do not divide into GGUF quantization blocks",
        )
    t = cfg.training
    need(t.min_lr <= t.lr, "min_lr_le_lr", f"min_lr {t.min_lr:g} is above lr {t.lr:g}")
    need(
        t.warmup_steps < t.max_steps,
        "warmup_lt_steps",
        f"warmup_steps {t.warmup_steps} >= max_steps {t.max_steps}",
    )
    return out


def validate(cfg: ModelConfig, quant: WeightType | None = None, path: str = "") -> Validation:
    m = cfg.model
    params = param_count(m)
    ram = {w: inference_ram(m, w) for w in WEIGHT_TYPES}
    issues = shape_issues(cfg)
    if m.tier == "micro":
        fits = list(WEIGHT_TYPES)
    else:
        tier = TIERS[TierName(m.tier)]
        ceiling = tier.ram_max_mb * MB
        fits = [w for w in WEIGHT_TYPES if ram[w] <= ceiling]
        if not tier.min_params <= params <= tier.max_params:
            issues.append(
                Issue(
                    check="params_in_tier",
                    message=f"{params / 1e6:.2f}M parameters is outside the {m.tier} tier "
                    f"({tier.min_params / 1e6:g}M-{tier.max_params / 1e6:g}M)",
                )
            )
        wanted = quant or "Q4_0"
        if wanted not in fits:
            issues.append(
                Issue(
                    check="ram_in_tier",
                    message=f"needs {ram[wanted] / MB:.0f} MiB at {wanted}, above the {m.tier} tier's {tier.ram_max_mb} MiB",
                )
            )
    return Validation(
        path=path,
        ok=not issues,
        tier=m.tier,
        params=params,
        ram_mb={w: round(b / MB, 2) for w, b in ram.items()},
        fits=fits,
        issues=issues,
    )
