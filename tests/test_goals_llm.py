"""The goal set read under the guards by a real small LLM: a subset of bench/intake.py's ``--llm
local`` run (SmolLM2-135M-Instruct, greedy, behind llama-cpp-python's OpenAI-compatible server),
replayed from tests/cassettes/test_goals_llm/ (re-record with
``scripts/record_cassettes.sh tests/test_goals_llm.py``).

The rule under test: the LLM's reading is checked against the deterministic one; where the guard
rejects it, the offline plan stands and the decision log says "fallback" and why. Either way the
plan is the offline plan, so the bench's figures under the guards are never below offline's.
"""

from __future__ import annotations

import pytest

from agents.decide import LLM
from agents.goal import Question
from agents.intake import intake
from agents.providers import OpenAIProvider
from bench.intake import GoalCase, load_goals, score
from tests import test_agents_llm

SUBSET = (
    "train a tiny riscv model",
    "model for a Raspberry Pi 5",
    "a model for servers",
    "tiny model, 20 minutes of training",
    "tiny riscv model trained on 10M tokens",
    "small riscv model on an H100",
    "a modle for my rasberry pi",
)
CASES = {c.goal: c for c in load_goals()}
MODEL = test_agents_llm.MODEL
vcr_config = test_agents_llm.vcr_config  # the same server, model and cassette settings
smollm2 = test_agents_llm.smollm2


@pytest.mark.vcr
@pytest.mark.parametrize("goal", SUBSET, ids=[g.replace(" ", "-") for g in SUBSET])
def test_guarded_reading_of_the_goal_set(smollm2: LLM, goal: str) -> None:
    case: GoalCase = CASES[goal]
    got = intake(goal, smollm2)
    assert got.plan == intake(goal, None).plan
    assert got.cost is not None and got.cost.completion_tokens > 0
    d = got.decision
    if d.source == "fallback":
        assert d.reason.startswith(("guard rejected LLM answer: ", "invalid LLM output: "))
        assert d.reason.startswith("invalid") or d.proposed is not None
    else:
        assert (d.source, d.reason.split(";")[0]) == ("llm", "LLM answer passed the guards")
    assert all(score(case, smollm2).right.values())  # the bench counts it right, as offline does


@pytest.mark.vcr
def test_the_135m_model_is_overruled_on_a_hardware_goal(smollm2: LLM) -> None:
    got = intake("model for a Raspberry Pi 5", smollm2)
    assert (got.plan.tier, got.plan.arch.value) == ("small", "aarch64")
    assert got.decision.source == "fallback"
    assert got.decision.reason.startswith("guard rejected LLM answer: tier=")


def test_a_non_goal_never_reaches_the_llm() -> None:
    # a strict LLM on a dead endpoint: asking it would stop with "intake: LLM call failed"
    dead = LLM(OpenAIProvider(base_url="http://127.0.0.1:9/v1", model=MODEL, timeout_s=2), strict=True)
    with pytest.raises(Question, match="is not a model to build"):
        intake("order a pizza", dead)
