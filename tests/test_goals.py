"""Goals as users write them: hardware and use-case words, budget scope, GPU cards, typos, and
requests that are not goals; and the goal set's accuracy targets (bench/intake.py, offline)."""

from __future__ import annotations

import pytest

from agents.architect import preview_config
from agents.goal import Question, read_goal
from agents.intake import intake
from agents.spelling import normalize
from bench.intake import load_goals, score, summarize
from tests.cli_run import run_cli
from tools.arch.design import budget_warning
from tools.arch.gpus import SUSTAINED_FRACTION, card, cards_named, peak_for_device


def plan_of(goal: str) -> dict:
    return intake(goal, llm=None).plan.model_dump(mode="json")


@pytest.mark.parametrize(
    ("goal", "tier", "arch"),
    [
        ("a model for a microcontroller", "tiny", "riscv64"),
        ("a model for low-end RISC-V chips", "tiny", "riscv64"),
        ("model for an ARM Cortex-M4", "tiny", "aarch64"),
        ("model for a Raspberry Pi 5", "small", "aarch64"),
        ("language model for ARM SBCs", "small", "aarch64"),
        ("a model for a VisionFive 2", "small", "riscv64"),
        ("model for entry-level x86_64 boxes", "small", "x86_64"),
        ("a model for a cheap old laptop", "small", "x86_64"),
        ("a model for standard desktops", "medium", "x86_64"),
        ("a model for our servers", "medium", "x86_64"),
        ("a model for arm64 servers", "medium", "aarch64"),  # a stated arch beats the usual one
        ("model for my workstation", "large", "x86_64"),
        ("a model for data centers", "large", "x86_64"),
        ("a model for a Raspberry Pi and for servers", "small", "aarch64"),  # it must run on both
        ("tiny model for my workstation", "tiny", "x86_64"),  # a stated tier wins
    ],
)
def test_hardware_words_set_tier_and_arch(goal: str, tier: str, arch: str) -> None:
    plan = plan_of(goal)
    assert (plan["tier"], plan["arch"]) == (tier, arch)


def test_the_plan_says_how_hardware_was_read() -> None:
    plan = intake("a model for our servers", llm=None).plan
    assert "tier medium: the target, server, is medium-tier hardware" in plan.assumptions
    assert "arch x86_64: the usual one for the target, server" in plan.assumptions
    cortex = intake("model for a Cortex-M7", llm=None).plan
    assert any(a.startswith("Cortex-M is 32-bit") and "aarch64" in a for a in cortex.assumptions)


@pytest.mark.parametrize(
    ("goal", "tier"),
    [
        ("a model for embedded systems", "tiny"),
        ("an assistant for resource-constrained devices", "small"),
        ("a model for edge devices", "small"),
        ("a general-purpose model", "medium"),
        ("a model for high-end systems", "large"),
        ("a model that fits in 100 MB of RAM", "tiny"),
        ("model for a board with 256MB RAM", "small"),
        ("x86 model with 2 GB of memory", "large"),
    ],
)
def test_use_case_and_ram_words_set_the_tier(goal: str, tier: str) -> None:
    assert plan_of(goal)["tier"] == tier


def test_ram_caps_the_kernel_memory() -> None:
    plan = plan_of("a tiny model that fits in 96 MB of RAM")
    assert (plan["tier"], plan["ram_mb"]) == ("tiny", 96)


@pytest.mark.parametrize(
    ("goal", "budget", "train"),
    [
        ("tiny riscv model in 45 minutes", 45.0, 28.0),  # the run's budget
        ("tiny riscv model, 20 minutes of training", 37.0, 20.0),  # training's alone, + 17 overhead
        ("train a small x86 model for 60 minutes", 105.0, 60.0),
        ("tiny model with a training budget of 5 min", 22.0, 5.0),
        ("tiny model in 2 hours with 30 minutes of training", 120.0, 30.0),
        ("tiny model on 2 GPU hours", 137.0, 120.0),
    ],
)
def test_budget_scope(goal: str, budget: float, train: float) -> None:
    plan = plan_of(goal)
    assert (plan["budget_minutes"], plan["train_minutes"]) == (budget, train)


def test_short_training_budget_plans_with_a_warning() -> None:
    plan = intake("train a tiny riscv model, 2 minutes of training", llm=None).plan
    assert (plan.budget_minutes, plan.train_minutes) == (19.0, 2.0)
    warning = budget_warning(preview_config(plan))
    assert warning is not None and warning.startswith("2 minutes of training on cpu") and "too few" in warning


@pytest.mark.parametrize(
    ("goal", "asks"),
    [
        ("tiny riscv model in 5 minutes", "needs more than 21.25 minutes"),  # a run budget is still checked
        ("tiny model in 20 minutes with 15 minutes of training", "do not fit in 20 minutes"),
        ("large model, 20 hours of training under $1", r"costs more than \$1"),
    ],
)
def test_budgets_that_cannot_be_met_ask_back(goal: str, asks: str) -> None:
    with pytest.raises(Question, match=asks):
        intake(goal, llm=None)


def test_token_budget_fixes_the_steps() -> None:
    plan = intake("small arm64 model, 100 million tokens", llm=None).plan
    assert plan.max_steps == 6104  # ceil(1e8 / 16384 tokens per small-tier step)
    assert "100,000,000 training tokens: 6,104 steps of 16,384" in plan.assumptions
    assert preview_config(plan).training.max_steps == 6104


@pytest.mark.parametrize(
    "goal",
    [
        "order a pizza",
        "Could you order a pizza?",
        "what's the weather like tomorrow?",
        "train my dog to sit",
        "build a website for my bakery",
        "make a model airplane",
        "buy a raspberry pi 5",
        "reboot the server",
        "how much RAM does a Raspberry Pi have?",
        "hello",
    ],
)
def test_requests_that_are_not_goals_ask_back(goal: str) -> None:
    with pytest.raises(Question) as err:
        intake(goal, llm=None)
    assert str(err.value).endswith("?") and "train a tiny riscv model" in str(err.value)


def test_cli_refuses_a_non_goal_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    got = run_cli(capsys, "plan", "order a pizza")
    assert got.code == 2 and got.out == ""
    assert got.err.strip().splitlines() == [
        "error: 'order a pizza' is not a model to build: what should I train, for example 'train a tiny "
        "riscv model' or 'small model for a Raspberry Pi in int4 under $5'?"
    ]


@pytest.mark.parametrize(
    ("goal", "asks"),
    [
        ("tiny 500M model", "500M parameters is a medium model"),
        ("x86 riscv model", "more than one architecture"),
        ("a raspberry pi model for x86", r"more than one architecture \(aarch64 or x86_64\)"),
        ("tiny model for a Cortex-M, riscv", "more than one architecture"),
        ("large model for a microcontroller", "bigger hardware than a microcontroller"),
        ("large model that fits in 128 MB of RAM", "needs at least 512 MB"),
        ("a model that fits in 32MB", "below the smallest tier"),
        ("a model for an esp32", "not a supported target"),
        ("tiny model on an H100 and an A100", "more than one GPU card"),
    ],
)
def test_contradictions_ask_back(goal: str, asks: str) -> None:
    with pytest.raises(Question, match=asks):
        intake(goal, llm=None)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("on an H100", ["H100 SXM"]),
        ("on a h100 pcie", ["H100 PCIe"]),
        ("8 H100s", ["H100 SXM"]),
        ("an A100 80GB", ["A100"]),
        ("a10g on AWS", ["A10G"]),
        ("on my RTX 4090", ["RTX 4090"]),
        ("on a 4090", ["RTX 4090"]),
        ("GeForce RTX 3090 Ti", ["RTX 3090"]),
        ("L40S", ["L40S"]),
        ("an L4", ["L4"]),
        ("a Tesla T4", ["T4"]),
        ("a tiny model for level 4", []),
    ],
)
def test_cards_are_named_the_way_users_write_them(text: str, names: list[str]) -> None:
    assert [c.name for c in cards_named(text)[0]] == names


@pytest.mark.parametrize(
    ("device_name", "peak"),
    [
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H100 80GB HBM3", 989.4e12),
        ("NVIDIA GH200 480GB", 989.4e12),
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA A10G", 70e12),
        ("NVIDIA A10", 125e12),
        ("NVIDIA L40S", 362.05e12),
        ("NVIDIA L4", 121e12),
        ("Tesla T4", 8.1e12),
        ("NVIDIA Some Future Card", None),
    ],
)
def test_peak_for_the_device_torch_reports(device_name: str, peak: float | None) -> None:
    assert peak_for_device(device_name) == peak


def test_named_card_gives_an_assumed_figure_without_a_gpu_here() -> None:
    import torch

    plan = intake("small riscv model on an H100", llm=None).plan
    assert plan.device == "cuda"
    if torch.cuda.is_available():  # a GPU here is measured, whatever the goal names
        assert plan.flops_per_s is None
        assert "the goal names an H100 SXM: the GPU here is measured instead" in plan.assumptions
        return
    h100 = card("H100 SXM")
    assert plan.flops_per_s == pytest.approx(989.4e12 * SUSTAINED_FRACTION) == h100.sustained_flops
    assert any(
        a.startswith("H100 SXM: 346 TFLOP/s sustained bf16 training assumed") for a in plan.assumptions
    )
    cfg = preview_config(plan)
    assert cfg.estimates is not None and cfg.estimates.model_dump()["train_flops_per_s"] == plan.flops_per_s


def test_without_a_card_the_plan_leaves_the_figure_to_be_measured() -> None:
    plan = intake("small riscv model on a GPU", llm=None).plan
    assert (plan.device, plan.flops_per_s) == ("cuda", None)
    on_cpu = intake("small riscv model on an H100", llm=None, overrides={"device": "cpu"}).plan
    assert (on_cpu.device, on_cpu.flops_per_s) == ("cpu", None)  # --device cpu: the card is not used


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("trian a tny riscv modle", {"tier": "tiny", "arch": "riscv64"}),
        ("meduim x86 model", {"tier": "medium", "arch": "x86_64"}),
        ("a model for my rasberry pi", {"tier": "small", "arch": "aarch64"}),
        ("TINY RISCV MODEL IN 1 HOUR", {"tier": "tiny", "budget_minutes": 60.0}),
        ("tIny RiSc-V mOdEl, InT4", {"arch": "riscv64", "quant_type": "Q4_0"}),
        ("sentance piece tokenizer, small arm46", {"tokenizer": "sentencepiece", "arch": "aarch64"}),
        ("microcontroler model qauntized to 4 bit", {"tier": "tiny", "quant_type": "Q4_0"}),
        ("tiny riscv model in two hours", {"budget_minutes": 120.0}),
        ("tiny riscv model for less than 50 cents", {"budget_usd": 0.5}),
    ],
)
def test_typos_and_mixed_case(goal: str, expected: dict) -> None:
    plan = plan_of(goal)
    assert {k: plan[k] for k in expected} == expected


def test_spelling_leaves_other_words_alone() -> None:
    text = "it shall run on the small board we served from a medial desk"
    assert normalize(text) == text


def test_the_reading_keeps_the_goals_fields_apart() -> None:
    got = read_goal("a 30M model with a 4k vocab, 10M tokens, fits in 128 MB of RAM, in 40m, under $2").fields
    assert (got.tier, got.vocab_size, got.train_tokens, got.ram_mb) == ("tiny", 4096, 10_000_000, 128)
    assert (got.budget_minutes, got.budget_usd) == (40.0, 2.0)


def test_goal_set_targets() -> None:
    """bench/intake.py's offline figures on tests/goals/goals.jsonl: at least 97% of tier and arch
    right on the held-out third, every non-goal and contradiction asked back."""
    cases = load_goals()
    assert len(cases) >= 120 and sum(c.split == "heldout" for c in cases) == len(cases) // 3
    kinds = {c.kind for c in cases}
    assert {"terse", "chatty", "hardware", "use-case", "budget", "gpu", "typo"} <= kinds
    assert {"non-goal", "contradiction"} <= kinds
    outcomes = [score(c, None) for c in cases]
    heldout = {c.id for c in cases if c.split == "heldout"}
    held = summarize(cases, [o for o in outcomes if o.id in heldout])
    assert held["tier_and_arch"] >= 0.97
    every = summarize(cases, outcomes)
    assert every["non_goals_refused"] == 1.0 and every["contradictions_refused"] == 1.0
