"""The deterministic offline policy: every decision an agent makes, without an LLM.

It is the default provider (``--llm offline``) and the fallback whenever LLM output fails
validation or a guard. Its numbers are chosen so that ``make run`` ("train a tiny riscv model":
tiny tier, riscv64, BPE 4096, Q8_0) finishes in about 30 minutes on 2 CPU cores, and so that
the ``micro`` profile runs the whole graph in a few minutes for tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydantic import BaseModel

from agents.goal import GoalFields, Question
from agents.models import Plan, Profile, StageRecord, TierChoice
from tools.arch.design import schedule_interval
from tools.config import TrainSpec
from tools.tiers import Arch
from tools.verdict import Remedy


@dataclass(frozen=True)
class TierDefaults:
    vocab_size: int
    budget_minutes: float  # whole run, wall time, on this class of machine (CPU)
    overhead_minutes: float  # everything but training: data, evaluation, quantization, export, kernel
    eval_max_tokens: int
    eval_max_qa: int
    ram_mb: int  # RAM QEMU gives the kernel
    data_max_bytes: int | None
    max_steps: int | None = None  # fixed training length (micro); None: the architect sizes it to the budget


TIER_DEFAULTS: dict[TierChoice, TierDefaults] = {
    "micro": TierDefaults(512, 10, 4, 8_192, 16, 64, 1_500_000, max_steps=300),
    "tiny": TierDefaults(4096, 30, 12, 65_536, 100, 128, None),
    "small": TierDefaults(8192, 120, 25, 131_072, 200, 256, None),
    "medium": TierDefaults(16384, 600, 60, 262_144, 300, 512, None),
    "large": TierDefaults(32000, 2400, 120, 262_144, 300, 2048, None),
}
DEFAULT_TIER: TierChoice = "tiny"
DEFAULT_ARCH = Arch.riscv64
# Compute price used for the cost ledger and the money budget (SPEC.md's $25 per run): an
# on-demand price per hour of the machine class, overridable with AUTON_COMPUTE_USD_PER_HOUR.
COMPUTE_USD_PER_HOUR = {"cpu": 0.10, "cuda": 2.50}


def compute_usd_per_hour(device: str) -> float:
    env = os.environ.get("AUTON_COMPUTE_USD_PER_HOUR")
    if env:
        return float(env)
    return COMPUTE_USD_PER_HOUR["cuda" if device.startswith("cuda") else "cpu"]


def plan_from_fields(goal: str, fields: GoalFields, profile: Profile = "full") -> Plan:
    """The offline intake decision: the goal's explicit fields, documented defaults for the rest.

    Raises Question when the budget cannot pay for the tier.
    """
    assumptions: list[str] = []

    def pick(name: str, value, default):
        if value is None:
            shown = getattr(default, "value", default)
            assumptions.append(f"{name} not given: {shown}")
            return default
        return value

    tier: TierChoice = pick("tier", fields.tier, DEFAULT_TIER)
    if profile == "micro" and tier != "micro":
        assumptions.append(f"micro profile: micro model instead of {tier}")
        tier = "micro"
    d = TIER_DEFAULTS[tier]
    device = fields.device or "auto"
    rate = compute_usd_per_hour(device)
    budget_usd = fields.budget_usd if fields.budget_usd is not None else 25.0
    budget_minutes = fields.budget_minutes if fields.budget_minutes is not None else d.budget_minutes
    if fields.budget_minutes is None:
        affordable = budget_usd / rate * 60.0
        if affordable < budget_minutes:
            assumptions.append(f"${budget_usd:g} at ${rate:g}/h pays for {affordable:.0f} minutes")
            budget_minutes = affordable
        assumptions.append(f"time budget not given: {budget_minutes:g} minutes")
    if budget_minutes / 60.0 * rate > budget_usd:
        raise Question(
            f"{budget_minutes:g} minutes at ${rate:g}/h costs more than ${budget_usd:g}: "
            "which budget should win, the time or the money?"
        )
    min_minutes = d.overhead_minutes * 1.25
    if budget_minutes < min_minutes:
        raise Question(
            f"a {tier} model needs more than {min_minutes:g} minutes end to end "
            f"(the goal allows {budget_minutes:g}): raise the budget or choose a smaller tier?"
        )
    return Plan(
        goal=goal,
        profile=profile,
        tier=tier,
        arch=pick("arch", fields.arch, DEFAULT_ARCH),
        tokenizer=pick("tokenizer", fields.tokenizer, "bpe"),
        vocab_size=pick("vocab size", fields.vocab_size, d.vocab_size),
        quant_type=pick("quantization", fields.quant_type, "Q8_0"),
        quant_method=pick("quantization method", fields.quant_method, "gptq"),
        budget_minutes=round(budget_minutes, 1),
        train_minutes=round(budget_minutes - d.overhead_minutes, 1),
        budget_usd=budget_usd,
        device=device,
        data_max_bytes=d.data_max_bytes,
        eval_max_tokens=d.eval_max_tokens,
        eval_max_qa=d.eval_max_qa,
        max_steps=d.max_steps,
        ram_mb=d.ram_mb,
        assumptions=assumptions,
    )


def apply_remedy(decision: BaseModel, remedy: Remedy | None) -> BaseModel:
    """``decision`` with the remedy's parameters that name its fields applied over it."""
    if remedy is None:
        return decision
    update = {k: v for k, v in remedy.params.items() if k in type(decision).model_fields}
    return type(decision).model_validate({**decision.model_dump(), **update})


def rerun(record: StageRecord) -> Remedy:
    """The remedy when a stage's tool failed and nothing better is known: run it again."""
    return Remedy(stage=record.stage, action="rerun", text=f"run {record.stage} again")


def rescale_schedule(t: TrainSpec, steps: int) -> TrainSpec:
    """``t`` stretched or shrunk to ``steps`` optimizer steps: warmup stays the same share of the
    run (at most 5%), evaluation and checkpoints stay ~10 per run."""
    interval = schedule_interval(steps)
    return t.model_copy(
        update={
            "max_steps": steps,
            "warmup_steps": min(max(1, steps // 20), t.warmup_steps * steps // max(t.max_steps, 1))
            if steps > 1
            else 0,
            "checkpoint_interval": interval,
            "eval_interval": interval,
        }
    )
