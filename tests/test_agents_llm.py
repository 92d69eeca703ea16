"""Agents against a real small LLM (SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible
server), replayed from tests/cassettes/ (record mode none; re-record with scripts/record_cassettes.sh).

The 135M model makes real mistakes; these tests show the guards catching each one and the offline
policy deciding instead, with the decision log saying "fallback" and why.
"""

from __future__ import annotations

import pytest

from agents import data, evaluate
from agents.decide import LLM, connect, decide, parse_answer
from agents.intake import intake
from agents.models import StageInput, StageRecord
from agents.providers import LocalProvider, OpenAIProvider
from agents.reviewer import ReviewDecision, judge
from agents.train import TrainDecision, offline_train, train_guard
from tests.fixtures_train import micro_model_config
from tools.errors import InputError
from tools.verdict import Finding, Remedy, Verdict

LLM_URL = "http://localhost:8765/v1"  # scripts/record_cassettes.sh serves SmolLM2 here
MODEL = "smollm2"


@pytest.fixture(scope="module")
def vcr_config() -> dict:
    return {"filter_headers": ["authorization"]}  # record mode: none unless --record-mode


@pytest.fixture
def smollm2() -> LLM:
    return LLM(OpenAIProvider(base_url=LLM_URL, model=MODEL))


# what SmolLM2 answered in the recorded cassettes, and the guard that caught it
@pytest.mark.vcr
@pytest.mark.parametrize(
    ("goal", "mistake"),
    [
        ("train a tiny riscv model", "arch=None contradicts the goal, which says 'riscv64'"),
        ("small arm64 model in int4 under $5", "tier='tiny' contradicts the goal, which says 'small'"),
        ("medium x86 model in 2 hours", "arch=None contradicts the goal, which says 'x86_64'"),
    ],
    ids=["tiny-riscv", "small-arm64-int4", "medium-x86-2h"],
)
def test_intake_keeps_what_the_goal_says(smollm2: LLM, goal: str, mistake: str) -> None:
    got = intake(goal, smollm2)
    assert got.plan == intake(goal, None).plan  # the LLM never changes what the goal states
    assert got.cost is not None and got.cost.prompt_tokens > 100 and got.cost.completion_tokens > 0
    d = got.decision
    assert (d.source, d.reason) == ("fallback", f"guard rejected LLM answer: {mistake}")
    assert d.proposed is not None and d.proposed != d.choice


def _train_failure() -> StageRecord:
    return StageRecord(
        stage="train",
        attempt=1,
        status="failed",
        error="NaN/Inf loss came back after 3 rollbacks",
        params={"lr_scale": 1.0},
    )


def _verdict(approved: bool) -> Verdict:
    remedy = Remedy(
        stage="train",
        action="resume_lower_lr",
        params={"lr_scale": 0.5},
        text="resume from the last good checkpoint at half the learning rate",
    )
    return Verdict.from_findings(
        "checkpoint",
        "SLM/models/checkpoints/run",
        [
            Finding(check="loads", passed=True, severity="error", message="weights load", stage="train"),
            Finding(
                check="finite",
                passed=approved,
                severity="error",
                stage="train",
                message="all tensors finite" if approved else "3 tensors hold NaN",
                remedy=None if approved else remedy,
            ),
        ],
    )


@pytest.mark.vcr
@pytest.mark.parametrize(
    ("approved", "mistake"),
    [
        (True, "the checks approved the stage; the LLM said reject"),
        (False, "the checks rejected the stage; the LLM said approve"),
    ],
    ids=["approved", "rejected"],
)
def test_reviewer_cannot_overrule_the_checks(smollm2: LLM, approved: bool, mistake: str) -> None:
    out = judge(_verdict(approved), _train_failure(), smollm2)
    assert out.review.approved is approved
    if approved:
        assert out.review.remedy is None
    else:
        assert out.review.remedy is not None and out.review.remedy.action == "resume_lower_lr"
    d = out.decisions[0]
    assert d.choice["approve"] is approved
    assert (d.source, d.reason) == ("fallback", f"guard rejected LLM answer: {mistake}")
    assert d.proposed is not None and d.proposed["approve"] is not approved


@pytest.mark.vcr
def test_trainer_follows_the_remedy(smollm2: LLM) -> None:
    plan = intake("train a tiny riscv model", None, profile="micro").plan
    remedy = Remedy(
        stage="train", action="resume_lower_lr", params={"lr_scale": 0.5}, text="resume at half the LR"
    )
    inp = StageInput(stage="train", attempt=2, thread_id="t", plan=plan, remedy=remedy)
    cfg = micro_model_config(512, lr=1e-3)
    want = offline_train(inp, cfg)
    assert (want.lr, want.max_steps, want.lr_scale) == (1e-3, 300, 0.5)
    got = decide(
        "trainer",
        "train",
        2,
        TrainDecision,
        {"config": cfg.model_dump(mode="json"), "remedy": remedy.model_dump()},
        lambda: want,
        lambda a: train_guard(a, want),
        smollm2,
    )
    assert got.value == want  # the recorded answer (lr 0.5, 1 step, remedy ignored) was overruled
    assert got.record.source == "fallback"
    assert got.record.reason == "guard rejected LLM answer: lr=0.5 is outside [1e-05, 0.01]"
    assert got.record.proposed == {"lr": 0.5, "max_steps": 1, "lr_scale": None}


def test_unreachable_endpoint_falls_back_or_fails_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    llm, warnings = connect("openai")
    assert llm is None
    assert (
        len(warnings) == 1
        and "unreachable" in warnings[0]
        and "falling back to the offline policy" in warnings[0]
    )
    with pytest.raises(InputError, match=r"^--llm openai: http://127.0.0.1:9/v1 is unreachable"):
        connect("openai", strict=True)


def test_endpoint_failure_mid_run_falls_back() -> None:
    dead = LLM(OpenAIProvider(base_url="http://127.0.0.1:9/v1", model=MODEL, timeout_s=2))
    got = intake("train a tiny riscv model", dead)
    assert got.decision.source == "fallback" and got.decision.reason.startswith("LLM call failed")
    assert got.cost is None
    with pytest.raises(InputError, match="intake: LLM call failed"):
        intake("train a tiny riscv model", LLM(dead.provider, strict=True))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"approve": true', "not JSON"),
        ('["approve"]', "answer: Input should be a valid dictionary"),
        ('{"approve": "perhaps"}', "approve: Input should be a valid boolean"),
    ],
)
def test_invalid_answers_are_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_answer(text, ReviewDecision)


def test_fenced_answer_parses() -> None:
    got = parse_answer('```json\n{"approve": false, "remedy_action": "rerun"}\n```', ReviewDecision)
    assert (got.approve, got.remedy_action) == (False, "rerun")


@pytest.mark.vcr
def test_data_scientist_answer_that_passes_the_guards_is_used(smollm2: LLM) -> None:
    plan = intake("train a tiny riscv model", None).plan
    inp = StageInput(stage="data", attempt=1, thread_id="t", plan=plan)
    want = data.offline_decision(inp)
    got = decide(
        "data_scientist",
        "data",
        1,
        data.DataDecision,
        {"plan": plan.model_dump(mode="json"), "remedy": None},
        lambda: want,
        lambda a: data.guard(a, want),
        smollm2,
    )
    assert (got.record.source, got.record.reason) == ("llm", "LLM answer passed the guards")
    assert (got.value.tokenizer, got.value.vocab_size) == ("bpe", 4096)
    assert (
        got.value.max_bytes is None
        or data.MIN_BYTES <= got.value.max_bytes <= data.MAX_BYTES
    )
    assert got.record.choice == got.value.model_dump(mode="json") and got.record.proposed is None


@pytest.mark.vcr
def test_evaluator_token_budget_is_guarded(smollm2: LLM) -> None:
    plan = intake("train a tiny riscv model", None).plan
    want = evaluate.offline_decision(StageInput(stage="evaluate", attempt=1, thread_id="t", plan=plan))
    got = decide(
        "evaluator",
        "evaluate",
        1,
        evaluate.EvalDecision,
        {"plan": plan.model_dump(mode="json"), "train": {"steps": 1520, "best_val_ppl": 31.2}},
        lambda: want,
        lambda a: evaluate.guard(a, want),
        smollm2,
    )
    assert got.value == want
    assert got.record.reason == "guard rejected LLM answer: max_tokens=31 is outside [1024, 4e+06]"


def test_local_provider_runs_smollm2_in_process() -> None:
    local = LocalProvider.from_env()
    assert local.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    got = intake("small arm64 model in int4 under $5", LLM(local))
    assert got.plan == intake("small arm64 model in int4 under $5", None).plan
    assert got.cost is not None and got.cost.provider == "local" and got.cost.completion_tokens > 0
    assert got.cost.usd == 0.0  # a local model has no per-token price
    # greedy SmolLM2 in-process leaves the stated tier null (and invents a GPU card): overruled
    assert got.decision.source == "fallback"
    want = "guard rejected LLM answer: tier=None contradicts the goal, which says 'small'"
    assert got.decision.reason == want
