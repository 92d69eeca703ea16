"""Deterministic reading of a goal sentence into the fields a plan needs.

Recognises tiers (tiny/small/medium/large, or a parameter count), target architectures and
their everyday names (riscv, RISC-V, rv64, arm64, aarch64, ARM boards, Raspberry Pi, x86, amd64,
PC, ...), quantization (int8/int4, 8-bit, Q8_0, GPTQ/AWQ/RTN), the tokenizer and vocabulary
size, and a time or money budget. Anything it cannot settle -- nothing recognisable, an
unsupported architecture, two different values for one field -- raises :class:`Question` with a
question for the user instead of a guess.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from agents.models import QuantMethod, QuantType, TierChoice, TokenizerChoice
from tools.errors import InputError
from tools.tiers import TIERS, Arch


class Question(InputError):
    """The goal is unclear or contradictory: the message is the question to ask back."""


class GoalFields(BaseModel):
    """What the goal states explicitly; None where it says nothing."""

    tier: TierChoice | None = None
    arch: Arch | None = None
    quant_type: QuantType | None = None
    quant_method: QuantMethod | None = None
    tokenizer: TokenizerChoice | None = None
    vocab_size: int | None = None
    budget_minutes: float | None = None
    budget_usd: float | None = None
    device: str | None = None


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


ARCH_PATTERNS: dict[Arch, re.Pattern[str]] = {
    Arch.riscv64: _rx(
        r"risc[- ]?v(?:64)?", r"rv64\w*", r"riscv64", r"sifive", r"visionfive", r"starfive", r"hifive"
    ),
    Arch.aarch64: _rx(
        r"aarch64",
        r"arm64",
        r"armv8(?:\.\d)?(?:-a)?",
        r"arm(?: boards?| sbcs?| socs?)?",
        r"cortex-[am]\d*",
        r"raspberry ?pi\s?\d*",
        r"rpi\d*",
        r"jetson",
        r"rockchip",
        r"apple silicon",
        r"graviton",
    ),
    Arch.x86_64: _rx(
        r"x86(?:[-_]64)?", r"x64", r"amd64", r"intel", r"amd", r"pcs?", r"desktops?", r"laptops?"
    ),
}
UNSUPPORTED_ARCH = _rx(
    r"mips\w*",
    r"sparc\w*",
    r"power ?pc",
    r"ppc\w*",
    r"s390x?",
    r"loong(?:arch)?\w*",
    r"i[3-6]86",
    r"32-bit",
    r"avr",
    r"xtensa",
    r"esp32",
)
TIER_WORDS: dict[str, TierChoice] = {
    "micro": "micro",
    "tiny": "tiny",
    "small": "small",
    "medium": "medium",
    "large": "large",
}
TIER_RX = _rx(*TIER_WORDS)
BIG_WORDS = _rx(r"huge", r"giant", r"massive", r"xl", r"xxl", r"frontier")
PARAMS_RX = re.compile(r"(\d+(?:\.\d+)?)\s*([mb])(?:\s*|-)?(?:params?|parameters?)?\b", re.IGNORECASE)
QUANT_PATTERNS: dict[QuantType, re.Pattern[str]] = {
    "Q8_0": _rx(r"int8", r"8[- ]?bits?", r"q8(?:_0)?", r"i8"),
    "Q4_0": _rx(r"int4", r"4[- ]?bits?", r"q4(?:_0)?", r"i4"),
}
METHOD_PATTERNS: dict[QuantMethod, re.Pattern[str]] = {
    "gptq": _rx(r"gptq"),
    "awq": _rx(r"awq"),
    "rtn": _rx(r"rtn", r"round[- ]to[- ]nearest"),
}
TOKENIZER_PATTERNS: dict[TokenizerChoice, re.Pattern[str]] = {
    "bpe": _rx(r"bpe", r"byte[- ]pair(?: encoding)?", r"byte-level bpe"),
    "wordpiece": _rx(r"word ?piece"),
    "sentencepiece": _rx(r"sentence ?piece", r"spm", r"unigram"),
}
VOCAB_RX = re.compile(
    r"(?:vocab(?:ulary)?(?: size)?\s*(?:of\s*)?(\d+)\s*(k)?)|(?:(\d+)\s*(k)?[- ](?:token )?vocab(?:ulary)?)",
    re.IGNORECASE,
)
TIME_RX = re.compile(r"(\d+(?:\.\d+)?)\s*(h|hrs?|hours?|m|mins?|minutes?)\b", re.IGNORECASE)
MONEY_RX = re.compile(
    r"(?:\$\s*(\d+(?:\.\d+)?))|(?:(\d+(?:\.\d+)?)\s*(?:usd|dollars?|bucks)\b)", re.IGNORECASE
)
DEVICE_RX = {"cuda": _rx(r"gpu", r"cuda", r"nvidia"), "cpu": _rx(r"cpu only", r"on (?:the )?cpu", r"cpu")}
INTENT_RX = _rx(
    r"train\w*",
    r"models?",
    r"slms?",
    r"llms?",
    r"build\w*",
    r"make",
    r"kernel",
    r"ship",
    r"create",
    r"language model",
    r"quanti[sz]e\w*",
)


def _one(field: str, found: set, options: str) -> object | None:
    if len(found) > 1:
        names = " or ".join(sorted(str(getattr(v, "value", v)) for v in found))
        raise Question(
            f"the goal names more than one {field} ({names}): which one{': ' + options if options else ''}?"
        )
    return next(iter(found)) if found else None


def _tier_of_params(n: float) -> TierChoice:
    for tier in TIERS.values():
        if tier.min_params <= n <= tier.max_params:
            return tier.name.value
    lo = min(t.min_params for t in TIERS.values())
    hi = max(t.max_params for t in TIERS.values())
    raise Question(
        f"{n / 1e6:g}M parameters is outside the supported range ({lo / 1e6:g}M-{hi / 1e6:g}M): "
        "which tier do you want (tiny, small, medium, large)?"
    )


def _time_minutes(text: str) -> float | None:
    values = set()
    for num, unit in TIME_RX.findall(text):
        # "4k vocab", "int8" etc. never end in a time unit; "8m params" is a count, not minutes
        values.add(float(num) * (60.0 if unit.lower().startswith("h") else 1.0))
    return _one("time budget", values, "")  # type: ignore[return-value]


def parse_goal(goal: str) -> GoalFields:
    """Read a goal sentence; raises Question where it is empty, unclear or contradictory."""
    text = " ".join(goal.split())
    if not text:
        raise InputError("the goal is empty: say what to build, e.g. 'train a tiny riscv model'")
    if m := UNSUPPORTED_ARCH.search(text):
        raise Question(
            f"{m.group(0)} is not a supported target: which architecture do you want "
            "(riscv64, aarch64 or x86_64)?"
        )
    # parameter counts first, so "50M params" is not read as a 50-minute time budget
    params = {float(n) * (1e9 if u.lower() == "b" else 1e6) for n, u in PARAMS_RX.findall(text)}
    rest = PARAMS_RX.sub(" ", text)

    archs = {arch for arch, rx in ARCH_PATTERNS.items() if rx.search(rest)}
    tiers = {TIER_WORDS[w.lower()] for w in TIER_RX.findall(rest)}
    if BIG_WORDS.search(rest):
        raise Question(
            f"'{BIG_WORDS.search(rest).group(0)}' is not a tier: which one do you want "  # type: ignore[union-attr]
            "(tiny 10-50M, small 50-150M, medium 150-500M, large 0.5-1B parameters)?"
        )
    for n in params:
        by_count = _tier_of_params(n)
        if tiers and by_count not in tiers:
            raise Question(
                f"{n / 1e6:g}M parameters is a {by_count} model but the goal also says "
                f"{', '.join(sorted(tiers))}: which one?"
            )
        tiers.add(by_count)
    quants = {q for q, rx in QUANT_PATTERNS.items() if rx.search(rest)}
    methods = {q for q, rx in METHOD_PATTERNS.items() if rx.search(rest)}
    toks = {t for t, rx in TOKENIZER_PATTERNS.items() if rx.search(rest)}
    vocabs = set()
    for a, ak, b, bk in VOCAB_RX.findall(rest):
        n = int(a or b) * (1024 if (ak or bk) else 1)
        vocabs.add(n)
    rest_no_vocab = VOCAB_RX.sub(" ", rest)
    usd = {float(a or b) for a, b in MONEY_RX.findall(rest_no_vocab)}
    devices = {d for d, rx in DEVICE_RX.items() if rx.search(rest_no_vocab)}
    if len(devices) > 1 and "cuda" in devices:
        devices = {"cuda"}  # "GPU" beats the generic word "cpu" in e.g. "gpu, not cpu"

    fields = GoalFields(
        tier=_one("tier", tiers, "tiny, small, medium or large"),  # type: ignore[arg-type]
        arch=_one("architecture", archs, "riscv64, aarch64 or x86_64"),  # type: ignore[arg-type]
        quant_type=_one("quantization", quants, "int8 or int4"),  # type: ignore[arg-type]
        quant_method=_one("quantization method", methods, "rtn, gptq or awq"),  # type: ignore[arg-type]
        tokenizer=_one("tokenizer", toks, "bpe, wordpiece or sentencepiece"),  # type: ignore[arg-type]
        vocab_size=_one("vocabulary size", vocabs, ""),  # type: ignore[arg-type]
        budget_minutes=_time_minutes(rest_no_vocab),
        budget_usd=_one("money budget", usd, ""),  # type: ignore[arg-type]
        device=_one("device", devices, "cpu or cuda"),  # type: ignore[arg-type]
    )
    explicit = fields.model_dump(exclude_none=True)
    if not explicit and not INTENT_RX.search(text):
        raise Question(
            f"I could not tell what to build from {text[:60]!r}: what should I train, for example "
            "'train a tiny riscv model' or 'small arm64 model in int4 under $5'?"
        )
    return fields
