"""Deterministic reading of a goal sentence into the fields a plan needs.

Recognises tiers (tiny/small/medium/large, a parameter count, or the RAM the model must fit in),
target architectures by their everyday names (riscv, RISC-V, rv64, arm64, aarch64, x86, amd64,
...), target hardware and use cases (agents.targets: "for a Raspberry Pi", "for our servers",
"embedded"), quantization (int8/int4, 8-bit, Q8_0, GPTQ/AWQ/RTN), the tokenizer and vocabulary
size, the GPU card training runs on ("on an H100", tools.arch.gpus), and budgets: the whole
run's time ("in 2 hours"), the training time alone ("20 minutes of training", "train for 1
hour"), training tokens ("on 10M tokens") and money ("under $5", "50 cents"). Typos of its
keywords and number words are fixed first (agents.spelling).

Anything it cannot settle raises :class:`Question` with a question for the user instead of a
guess: a request that is not about building a model ("order a pizza"), nothing recognisable, an
unsupported architecture, two different values for one field ("x86 riscv", "tiny 500M model"),
or a tier far above what the named hardware runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from agents.models import QuantMethod, QuantType, TierChoice, TokenizerChoice
from agents.spelling import normalize
from agents.targets import Target, targets_named
from tools.arch.gpus import CARDS, cards_named
from tools.errors import InputError
from tools.tiers import TIERS, Arch, TierName

GpuName = Literal[tuple(c.name for c in CARDS)]  # type: ignore[valid-type]
TIER_ORDER: tuple[TierChoice, ...] = ("tiny", "small", "medium", "large")


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
    budget_minutes: float | None = Field(None, description="the whole run's time budget")
    budget_usd: float | None = None
    device: str | None = None
    train_minutes: float | None = Field(None, description="the training time budget alone")
    train_tokens: int | None = Field(None, description="training tokens")
    gpu: GpuName | None = Field(None, description="the GPU card named for training")  # type: ignore[valid-type]
    ram_mb: int | None = Field(None, description="RAM of the target the model must fit in")


@dataclass(frozen=True)
class Reading:
    """A goal's fields and how the words that are not field names were read (for the plan)."""

    fields: GoalFields
    notes: list[str] = field(default_factory=list)


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


ARCH_PATTERNS: dict[Arch, re.Pattern[str]] = {
    Arch.riscv64: _rx(r"risc[- ]?v(?:64)?", r"rv64\w*", r"riscv64", r"sifive", r"starfive", r"hifive"),
    Arch.aarch64: _rx(
        r"aarch64",
        r"arm64",
        r"armv8(?:\.\d)?(?:-a)?",
        r"arm(?: socs?)?",
        r"cortex-a\d*",
        r"rockchip",
        r"graviton",
    ),
    Arch.x86_64: _rx(r"x86(?:[-_]64)?", r"x64", r"amd64", r"intel", r"amd"),
}
ANY_ARCH = re.compile("|".join(rx.pattern for rx in ARCH_PATTERNS.values()), re.IGNORECASE)
UNSUPPORTED_ARCH = _rx(
    r"mips\w*",
    r"sparc\w*",
    r"power ?pc",
    r"ppc\w*",
    r"s390x?",
    r"loong(?:arch)?\w*",
    r"i[3-6]86",
    r"32-bit",
    r"armv7\w*",
    r"arm32",
    r"armhf",
    r"avr",
    r"arduino\w*",
    r"xtensa",
    r"esp32\w*",
)
TIER_RX = _rx(*TIER_ORDER, "micro")
BIG_WORDS = _rx(r"huge", r"giant", r"massive", r"xl", r"xxl", r"frontier")
PARAMS_RX = re.compile(r"(\d+(?:\.\d+)?)\s*([mb])(?:\s*|-)?(?:params?|parameters?)?\b", re.IGNORECASE)
QUANT_PATTERNS: dict[QuantType, re.Pattern[str]] = {
    "Q8_0": _rx(r"int ?8", r"8[- ]?bits?", r"q8(?:_0)?", r"i8"),
    "Q4_0": _rx(r"int ?4", r"4[- ]?bits?", r"q4(?:_0)?", r"i4"),
}
METHOD_PATTERNS: dict[QuantMethod, re.Pattern[str]] = {
    "gptq": _rx(r"gptq"),
    "awq": _rx(r"awq"),
    "rtn": _rx(r"rtn", r"round[- ]to[- ]nearest"),
}
TOKENIZER_PATTERNS: dict[TokenizerChoice, re.Pattern[str]] = {
    "bpe": _rx(r"bpe", r"byte[- ]pair(?: encoding)?", r"byte-level bpe"),
    "wordpiece": _rx(r"word[- ]?piece"),
    "sentencepiece": _rx(r"sentence[- ]?piece", r"spm", r"unigram"),
}
VOCAB_RX = re.compile(
    r"(?:vocab(?:ulary)?(?: size)?\s*(?:of\s*)?(\d+)\s*(k)?)|(?:(\d+)\s*(k)?[- ](?:token )?vocab(?:ulary)?)",
    re.IGNORECASE,
)
NUM = r"(\d+(?:\.\d+)?)"
UNIT = r"(h|hrs?|hours?|m|mins?|minutes?)\b"
TOKENS_RX = re.compile(
    NUM + r"\s*(k|m|b|thousand|million|billion)?[\s-]*(?:training\s+)?tokens?\b(?:\s+of\s+training)?",
    re.IGNORECASE,
)
SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}
RAM_RX = [
    re.compile(NUM + r"\s*(mb|mib|gb|gib)\b\s*(?:of\s+)?(?:ram|memory)\b", re.IGNORECASE),
    re.compile(r"\b(?:ram|memory)\s*(?:of|:|=)?\s*" + NUM + r"\s*(mb|mib|gb|gib)\b", re.IGNORECASE),
    re.compile(
        r"\b(?:fits?|fitting|runs?|running)\s+(?:in|into|within|under|on)\s+(?:only\s+)?"
        + NUM
        + r"\s*(mb|mib|gb|gib)\b",
        re.IGNORECASE,
    ),
]
TRAIN_TIME_RX = [
    re.compile(NUM + r"[\s-]*" + UNIT + r"\s*(?:of\s+)?(?:gpu\s+)?(?:training|train time)\b", re.IGNORECASE),
    re.compile(
        r"\b(?:train(?:ed|ing)?|fine[- ]?tune[sd]?)\b[^.;,$]{0,60}?\bfor\s+(?:about\s+|around\s+|max\s+)?"
        + NUM
        + r"\s*"
        + UNIT,
        re.IGNORECASE,
    ),
    re.compile(r"\btraining (?:budget|time)\s*(?:of|:|=|is)?\s*" + NUM + r"\s*" + UNIT, re.IGNORECASE),
]
GPU_HOURS_RX = re.compile(NUM + r"\s*gpu[- ]?(hours?|hrs?|minutes?|mins?)\b", re.IGNORECASE)
TIME_RX = re.compile(NUM + r"\s*" + UNIT, re.IGNORECASE)
MONEY_RX = re.compile(
    r"(?:\$\s*(\d+(?:\.\d+)?))|(?:(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars?|bucks)\b)", re.IGNORECASE
)
CENTS_RX = re.compile(NUM + r"\s*(?:cents?|¢)", re.IGNORECASE)
DEVICE_RX = {"cuda": _rx(r"gpus?", r"cuda", r"nvidia"), "cpu": _rx(r"cpu only", r"on (?:the )?cpu", r"cpus?")}
# what the goal is about: a model (not a model airplane), or a request that is something else
ML_RX = _rx(
    r"models?",
    r"slms?",
    r"llms?",
    r"transformers?",
    r"neural(?: net\w*)?",
    r"gguf",
    r"checkpoints?",
    r"quanti[sz]\w*",
    r"assistants?",
    r"chat ?bots?",
    r"ai",
)
NOT_ML = _rx(
    r"models? (?:air)?planes?",
    r"models? (?:trains?|railways?|cars?|kits?|rockets?|ships?|boats?|aircraft)",
    r"(?:role|business|fashion|data|scale|3d|financial) models?",
)
BUILD_RX = _rx(r"train\w*", r"build\w*", r"make", r"create", r"ship", r"design", r"want", r"need", r"for")
COURTESY = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|please|pls|yo|can you|could you|would you|will you|"
    r"i want you to|i'd like you to|i need you to)\b[\s,!.]*)+",
    re.IGNORECASE,
)
NOT_A_GOAL = re.compile(
    r"^(?:order|buy|purchase|book|reserve|call|phone|email|text|send|play|cook|bake|tell me|"
    r"translate|summari[sz]e|write|what(?:'s| is| are| was| does| do)|who|when|where|why|"
    r"how (?:do|does|much|many|can|is|are|to)|explain|define|remind|schedule|"
    r"set (?:an? )?(?:alarm|timer|reminder)|turn (?:on|off)|open|close|delete|remove|uninstall|fix|"
    r"repair|clean|reboot|restart|shut ?down|install|update|upgrade|download|find|search|show me|list)\b",
    re.IGNORECASE,
)
EXAMPLES = "for example 'train a tiny riscv model' or 'small model for a Raspberry Pi in int4 under $5'"


def _one(field_name: str, found: set, options: str) -> object | None:
    if len(found) > 1:
        names = " or ".join(sorted(str(getattr(v, "value", v)) for v in found))
        raise Question(
            f"the goal names more than one {field_name} ({names}): which one{': ' + options if options else ''}?"
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


def _tier_of_ram(mb: float) -> TierChoice:
    """The largest tier whose models all fit in ``mb`` of RAM (the tiny tier from its minimum)."""
    fits = [t.name.value for t in TIERS.values() if t.ram_max_mb <= mb]
    if fits:
        return fits[-1]
    if mb >= TIERS[TierName.tiny].ram_min_mb:
        return "tiny"
    raise Question(
        f"{mb:g} MB of RAM is below the smallest tier's {TIERS[TierName.tiny].ram_min_mb} MB: "
        "how much RAM does the target have?"
    )


def _minutes(num: str, unit: str) -> float:
    return float(num) * (60.0 if unit.lower().startswith("h") else 1.0)


def _take(patterns: list[re.Pattern[str]], text: str) -> tuple[list[tuple[str, ...]], str]:
    """All matches' groups of ``patterns`` in ``text``, and the text with the groups' span blanked
    (the words around them, as in "train a small model for 1 hour", are still read)."""
    found = []
    for rx in patterns:
        for m in reversed(list(rx.finditer(text))):
            found.append(m.groups())
            spans = [m.span(i) for i in range(1, len(m.groups()) + 1) if m.group(i) is not None]
            start, end = spans[0][0], spans[-1][1]
            text = text[:start] + " " * (end - start) + text[end:]
    return found, text


class _Reader:
    """One goal's reading: its fields, in the order that keeps numbers apart (a "4k vocab" is
    not a budget, "50M params" is not 50 minutes, "128 MB of RAM" is not a count)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.notes: list[str] = []

    def budgets(self, rest: str) -> tuple[dict[str, object], str]:
        vocabs = {int(a or b) * (1024 if (ak or bk) else 1) for a, ak, b, bk in VOCAB_RX.findall(rest)}
        rest = VOCAB_RX.sub(" ", rest)
        tokens_found, rest = _take([TOKENS_RX], rest)
        tokens = {int(float(n) * SCALE.get((s or "").lower(), 1)) for n, s in tokens_found}
        ram_found, rest = _take(RAM_RX, rest)
        ram = {int(float(n) * (1024 if u.lower().startswith("g") else 1)) for n, u in ram_found}
        gpu_time, rest = _take([GPU_HOURS_RX], rest)
        train_found, rest = _take(TRAIN_TIME_RX, rest)
        train = {_minutes(n, u) for n, u in train_found + gpu_time}
        cents, rest = _take([CENTS_RX], rest)
        usd = {float(a or b) for a, b in MONEY_RX.findall(rest)} | {float(c) / 100 for (c,) in cents}
        rest = MONEY_RX.sub(" ", rest)
        fields = {
            "vocab_size": _one("vocabulary size", vocabs, ""),
            "train_tokens": _one("token budget", tokens, ""),
            "ram_mb": _one("RAM size", ram, ""),
            "train_minutes": _one("training time budget", train, ""),
            "budget_usd": _one("money budget", usd, ""),
            "gpu_hours": bool(gpu_time),
        }
        return fields, rest

    def tier(self, words: set[TierChoice], ram_mb: int | None, targets: list[Target]) -> TierChoice | None:
        hw = [t for t in targets if t.tier is not None]
        lowest = min(hw, key=lambda t: TIER_ORDER.index(t.tier)) if hw else None  # type: ignore[arg-type]
        tier = _one("tier", words, "tiny, small, medium or large")
        if tier == "micro":  # the test tier: no hardware has it
            return tier  # type: ignore[return-value]
        if tier is not None:
            if lowest and TIER_ORDER.index(tier) - TIER_ORDER.index(lowest.tier) >= 2:  # type: ignore[arg-type]
                raise Question(
                    f"a {tier} model is for bigger hardware than a {lowest.label}, the {lowest.tier} tier's: "
                    f"which tier do you want (tiny, small, medium, large)?"
                )
            if ram_mb is not None and TIERS[TierName(tier)].ram_min_mb > ram_mb:
                raise Question(
                    f"a {tier} model needs at least {TIERS[TierName(tier)].ram_min_mb} MB of RAM but the "
                    f"goal allows {ram_mb} MB: a smaller tier, or more RAM?"
                )
            return tier  # type: ignore[return-value]
        picks: list[tuple[TierChoice, str]] = []
        if lowest is not None:
            picks.append((lowest.tier, f"the target, {lowest.label}, is {lowest.tier}-tier hardware"))  # type: ignore[arg-type]
        if ram_mb is not None:
            picks.append((_tier_of_ram(ram_mb), f"the model must fit in {ram_mb} MB of RAM"))
        if not picks:
            return None
        tier, why = min(picks, key=lambda p: TIER_ORDER.index(p[0]))
        self.notes.append(f"tier {tier}: {why}")
        return tier

    def arch(self, rest: str, targets: list[Target]) -> Arch | None:
        strong = {a for a, rx in ARCH_PATTERNS.items() if rx.search(rest)}
        strong |= {t.arch for t in targets if t.strong and t.arch is not None}
        arch = _one("architecture", strong, "riscv64, aarch64 or x86_64")
        if arch is None:
            usual = {t.arch for t in targets if t.arch is not None}
            arch = _one("architecture", usual, "riscv64, aarch64 or x86_64")
            if arch is not None:
                label = next(t.label for t in targets if t.arch == arch)
                self.notes.append(f"arch {arch.value}: the usual one for the target, {label}")  # type: ignore[attr-defined]
        self.notes += [t.note for t in targets if t.note]
        return arch  # type: ignore[return-value]

    def read(self) -> Reading:
        text = self.text
        if NOT_A_GOAL.match(COURTESY.sub("", text)):
            raise Question(f"{text[:60]!r} is not a model to build: what should I train, {EXAMPLES}?")
        if m := UNSUPPORTED_ARCH.search(text):
            raise Question(
                f"{m.group(0)} is not a supported target: which architecture do you want "
                "(riscv64, aarch64 or x86_64)?"
            )
        budget, rest = self.budgets(text)
        # parameter counts before time, so "50M params" is not read as a 50-minute time budget
        params = {float(n) * (1e9 if u.lower() == "b" else 1e6) for n, u in PARAMS_RX.findall(rest)}
        rest = PARAMS_RX.sub(" ", rest)
        cards, rest = cards_named(rest)
        if big := BIG_WORDS.search(rest):
            raise Question(
                f"'{big.group(0)}' is not a tier: which one do you want "
                "(tiny 10-50M, small 50-150M, medium 150-500M, large 0.5-1B parameters)?"
            )
        words: set[TierChoice] = {w.lower() for w in TIER_RX.findall(rest)}  # type: ignore[misc]
        for n in params:
            by_count = _tier_of_params(n)
            if words and by_count not in words:
                raise Question(
                    f"{n / 1e6:g}M parameters is a {by_count} model but the goal also says "
                    f"{', '.join(sorted(words))}: which one?"
                )
            words.add(by_count)
        targets = targets_named(rest)
        quants = {q for q, rx in QUANT_PATTERNS.items() if rx.search(rest)}
        methods = {q for q, rx in METHOD_PATTERNS.items() if rx.search(rest)}
        toks = {t for t, rx in TOKENIZER_PATTERNS.items() if rx.search(rest)}
        devices = {d for d, rx in DEVICE_RX.items() if rx.search(rest)}
        if cards or budget["gpu_hours"]:
            devices.add("cuda")
        if len(devices) > 1 and "cuda" in devices:
            devices = {"cuda"}  # "GPU" beats the generic word "cpu" in e.g. "gpu, not cpu"
        run_minutes = {_minutes(n, u) for n, u in TIME_RX.findall(rest)}
        about_model = ML_RX.search(NOT_ML.sub(" ", text))
        technical = words or quants or methods or toks or budget["vocab_size"] or budget["train_tokens"]
        technical = technical or budget["ram_mb"] or ANY_ARCH.search(rest)
        if not (technical or about_model or (targets and BUILD_RX.search(text))):
            raise Question(
                f"I could not tell what to build from {text[:60]!r}: what should I train, {EXAMPLES}?"
            )
        fields = GoalFields(
            tier=self.tier(words, budget["ram_mb"], targets),  # type: ignore[arg-type]
            arch=self.arch(rest, targets),
            quant_type=_one("quantization", quants, "int8 or int4"),  # type: ignore[arg-type]
            quant_method=_one("quantization method", methods, "rtn, gptq or awq"),  # type: ignore[arg-type]
            tokenizer=_one("tokenizer", toks, "bpe, wordpiece or sentencepiece"),  # type: ignore[arg-type]
            vocab_size=budget["vocab_size"],  # type: ignore[arg-type]
            budget_minutes=_one("time budget", run_minutes, ""),  # type: ignore[arg-type]
            budget_usd=budget["budget_usd"],  # type: ignore[arg-type]
            device=_one("device", devices, "cpu or cuda"),  # type: ignore[arg-type]
            train_minutes=budget["train_minutes"],  # type: ignore[arg-type]
            train_tokens=budget["train_tokens"],  # type: ignore[arg-type]
            gpu=_one("GPU card", {c.name for c in cards}, ""),
            ram_mb=budget["ram_mb"],  # type: ignore[arg-type]
        )
        return Reading(fields, self.notes)


def read_goal(goal: str) -> Reading:
    """Read a goal sentence; raises Question where it is not a goal, unclear or contradictory."""
    text = " ".join(goal.split())
    if not text:
        raise InputError("the goal is empty: say what to build, e.g. 'train a tiny riscv model'")
    return _Reader(normalize(text)).read()


def parse_goal(goal: str) -> GoalFields:
    """The fields ``goal`` states (see read_goal)."""
    return read_goal(goal).fields
