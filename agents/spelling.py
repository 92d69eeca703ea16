"""Goal text as the goal reader expects it: typos of its keywords fixed, number words as digits.

Short keywords are only fixed from a list of typos users make ("tny", "smal", "risv"): an edit
distance of one from a four-letter word is too often another English word ("shall" for "small").
Keywords of six letters and more are fixed when one edit away (two from nine letters on),
counting a swap of neighbours as one edit ("meduim", "rasberry", "qauntized", "microcontroler").
"""

from __future__ import annotations

import re

TYPOS = {
    "tny": "tiny",
    "tinny": "tiny",
    "tyni": "tiny",
    "smal": "small",
    "smll": "small",
    "smol": "small",
    "samll": "small",
    "larg": "large",
    "lage": "large",
    "lrage": "large",
    "risv": "riscv",
    "rsicv": "riscv",
    "riscv5": "riscv",
    "risc5": "riscv",
    "riskv": "riscv",
    "risk-v": "risc-v",
    "aarch46": "aarch64",
    "arch64": "aarch64",
    "arm46": "arm64",
    "x68": "x86",
    "x86-46": "x86-64",
    "x86_46": "x86_64",
    "modle": "model",
    "mdoel": "model",
    "moedl": "model",
    "trian": "train",
    "rpi": "raspberry pi",
    "raspi": "raspberry pi",
}
KEYWORDS = (
    "medium",
    "aarch64",
    "raspberry",
    "quantize",
    "quantized",
    "quantise",
    "quantised",
    "quantization",
    "sentence",
    "sentencepiece",
    "wordpiece",
    "tokenizer",
    "vocabulary",
    "parameters",
    "microcontroller",
    "microcontrollers",
    "embedded",
    "workstation",
    "workstations",
    "desktop",
    "desktops",
    "datacenter",
    "minutes",
)
NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
UNIT = r"(?=\s*(?:hours?|hrs?|minutes?|mins?|dollars?|bucks)\b)"
NUMBER_RX = re.compile(r"\b(" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")\b" + UNIT, re.I)
WORD_RX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
PHRASES = (
    (re.compile(r"\bhalf an? hours?\b", re.I), "30 minutes"),
    (re.compile(r"\ban? hour and a half\b", re.I), "90 minutes"),
    (re.compile(r"\ba couple of hours\b", re.I), "2 hours"),
    (re.compile(r"\ban? (hour|dollar)\b", re.I), r"1 \1"),
    # "in 40m": minutes, where "a 40M model" is a parameter count
    (
        re.compile(r"\b(in|within|under|for|about|around|max)\s+(\d+(?:\.\d+)?)\s*m\b(?![\w-])", re.I),
        r"\1 \2 minutes",
    ),
)


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), or limit + 1 once past limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _fix(word: str) -> str:
    low = word.lower()
    if low in TYPOS:
        return TYPOS[low]
    if len(low) < 6 or not low.isalpha() or low in KEYWORDS:
        return word
    limit = 2 if len(low) >= 9 else 1
    best = min(KEYWORDS, key=lambda k: _distance(low, k, limit))
    return best if _distance(low, best, limit) <= limit else word


def normalize(text: str) -> str:
    """``text`` with keyword typos fixed and number words before a unit written as digits."""
    text = WORD_RX.sub(lambda m: _fix(m.group(0)), text)
    for rx, repl in PHRASES:
        text = rx.sub(repl, text)
    return NUMBER_RX.sub(lambda m: str(NUMBERS[m.group(1).lower()]), text)
