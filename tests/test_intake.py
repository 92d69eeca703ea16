"""Intake reads the goals users write, and asks back instead of guessing."""

from __future__ import annotations

import pytest

from agents.goal import Question, parse_goal
from agents.intake import intake
from tools.errors import InputError


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        (
            "train a tiny riscv model",
            {
                "tier": "tiny",
                "arch": "riscv64",
                "tokenizer": "bpe",
                "vocab_size": 4096,
                "quant_type": "Q8_0",
                "budget_minutes": 35.0,
            },
        ),
        (
            "small arm64 model in int4 under $5",
            {"tier": "small", "arch": "aarch64", "quant_type": "Q4_0", "budget_usd": 5.0},
        ),
        ("tiny model for RISC-V", {"arch": "riscv64"}),
        ("an rv64gc model", {"arch": "riscv64"}),
        ("a model for SiFive boards", {"arch": "riscv64"}),
        ("tiny aarch64 model", {"arch": "aarch64"}),
        ("a model for ARM boards", {"arch": "aarch64"}),
        ("a model for my Raspberry Pi 4", {"arch": "aarch64"}),
        ("x86 model", {"arch": "x86_64"}),
        ("small amd64 model", {"arch": "x86_64", "tier": "small"}),
        ("a model for a PC", {"arch": "x86_64"}),
        ("x86-64 model, 8-bit, awq", {"arch": "x86_64", "quant_type": "Q8_0", "quant_method": "awq"}),
        (
            "medium x86_64 model with sentencepiece vocab 8192 in 2 hours",
            {
                "tier": "medium",
                "tokenizer": "sentencepiece",
                "vocab_size": 8192,
                "budget_minutes": 120.0,
                "train_minutes": 40.0,
            },
        ),
        (
            "tiny riscv model, 4k vocab wordpiece, q4_0 rtn",
            {"tokenizer": "wordpiece", "vocab_size": 4096, "quant_type": "Q4_0", "quant_method": "rtn"},
        ),
        ("a 20M params model for RISC-V", {"tier": "tiny"}),
        ("train a tiny riscv model in 45 min", {"budget_minutes": 45.0, "train_minutes": 28.0}),
        ("tiny riscv model on gpu", {"device": "cuda"}),
        ("tiny riscv model under 1 dollar", {"budget_usd": 1.0}),
    ],
)
def test_goal_phrasings(goal: str, expected: dict) -> None:
    plan = intake(goal, llm=None).plan.model_dump(mode="json")
    assert {k: plan[k] for k in expected} == expected


def test_defaults_are_written_down() -> None:
    plan = intake("train a riscv model", llm=None).plan
    assert plan.tier == "tiny"
    assert "tier not given: tiny" in plan.assumptions


def test_micro_profile_shrinks_the_model() -> None:
    plan = intake("train a tiny riscv model", llm=None, profile="micro").plan
    assert (plan.tier, plan.vocab_size, plan.ram_mb) == ("micro", 512, 64)


def test_money_budget_limits_time() -> None:
    # $0.03 at the CPU price of $0.10/h pays for 18 minutes: below a tiny run's 21.25-minute floor
    with pytest.raises(Question, match="needs more than 21.25 minutes"):
        intake("tiny riscv model under $0.03", llm=None)


@pytest.mark.parametrize(
    ("goal", "asks"),
    [
        ("banana", "could not tell what to build"),
        ("tiny riscv and arm64 model", "more than one architecture"),
        ("a tiny model for x86 or RISC-V", "more than one architecture"),
        ("tiny mips model", "not a supported target"),
        ("small powerpc model", "not a supported target"),
        ("small model in int4 and int8", "more than one quantization"),
        ("tiny small riscv model", "more than one tier"),
        ("huge riscv model", "not a tier"),
        ("tiny riscv model with 500M params", "medium model but the goal also says tiny"),
        ("a 7B riscv model", "outside the supported range"),
        ("tiny riscv model in 1 minute", "needs more than"),
        ("tiny riscv model in 20 min and 2 hours", "more than one time budget"),
    ],
)
def test_unclear_goals_get_a_question(goal: str, asks: str) -> None:
    with pytest.raises(Question, match=asks) as err:
        intake(goal, llm=None)
    assert "\n" not in str(err.value) and str(err.value).endswith("?")


@pytest.mark.parametrize("goal", ["", "   ", "\n\t"])
def test_empty_goal(goal: str) -> None:
    with pytest.raises(InputError, match="the goal is empty"):
        parse_goal(goal)


def test_command_line_overrides_win_over_the_goal() -> None:
    plan = intake(
        "train a tiny riscv model in 20 min", llm=None, overrides={"budget_minutes": 45, "device": "cpu"}
    ).plan
    assert (plan.budget_minutes, plan.train_minutes, plan.device) == (45.0, 28.0, "cpu")
