"""Known GPU cards: their dense bf16 tensor-core peak and the training FLOP/s a plan may assume.

One row per card: the name a plan shows, the substring torch.cuda.get_device_name() reports, the
vendor data-sheet peak (dense, no sparsity; bf16 with fp32 accumulate, or fp32 for cards without
bf16 tensor cores, which train in fp32) and the words users write for it ("H100", "a 4090",
"RTX 3090", "T4"). tools.arch.hardware takes MFU's peak from it; intake uses it when a goal
names a card and there is no GPU here to measure: the design then assumes the card sustains
``SUSTAINED_FRACTION`` of its peak on our training step, and the plan says that it is assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What a small Llama's training step (Hugging Face model, AdamW, bf16 autocast, no fused
# attention or loss kernels) typically sustains of a tensor-core peak: an assumption, used only
# where the card cannot be measured.
SUSTAINED_FRACTION = 0.35


@dataclass(frozen=True)
class Card:
    name: str
    device_name: str  # substring of torch.cuda.get_device_name()
    peak_flops: float  # dense bf16 tensor-core peak (fp32 peak where bf16 is False)
    words: str  # regex of how goals name it
    bf16: bool = True

    @property
    def sustained_flops(self) -> float:
        return self.peak_flops * SUSTAINED_FRACTION


_RTX = r"(?:(?:nvidia |geforce )?rtx[- ]?)?"
CARDS: tuple[Card, ...] = (
    Card("GH200", "GH200", 989.4e12, r"gh200"),
    Card("H200", "H200", 989.4e12, r"h200(?:[- ]?sxm\w*)?"),
    Card("H100 PCIe", "H100 PCIe", 756.0e12, r"h100[- ]?pcie"),
    Card("H100 SXM", "H100", 989.4e12, r"h100(?:[- ]?sxm\w*)?"),
    Card("B200", "B200", 2250e12, r"b200"),
    Card("A100", "A100", 312e12, r"a100(?:[- ]?(?:sxm\w*|pcie|[48]0\s?gb?))?"),
    Card("A10G", "A10G", 70e12, r"a10g"),
    Card("A10", "A10", 125e12, r"a10"),
    Card("L40S", "L40S", 362.05e12, r"l40s"),
    Card("L40", "L40", 181.05e12, r"l40"),
    Card("L4", "L4", 121e12, r"l4"),
    Card("RTX 4090", "RTX 4090", 165.2e12, _RTX + r"4090"),
    Card("RTX 3090", "RTX 3090", 71e12, _RTX + r"3090(?:[- ]?ti)?"),
    Card("RTX A6000", "RTX A6000", 154.8e12, _RTX + r"a6000"),
    Card("V100", "V100", 15.7e12, r"(?:tesla[- ]?)?v100(?:[- ]?(?:sxm2?|pcie|[13][62]\s?gb?))?", bf16=False),
    Card("T4", "T4", 8.1e12, r"(?:tesla[- ]?)?t4", bf16=False),
)
_BY_NAME = {c.name: c for c in CARDS}
_WORDS = [(c, re.compile(r"(?<![\w-])(?:" + c.words + r")s?(?![\w])", re.IGNORECASE)) for c in CARDS]


def card(name: str) -> Card:
    return _BY_NAME[name]


def cards_named(text: str) -> tuple[list[Card], str]:
    """The cards ``text`` names (table order, each once) and the text with their words blanked."""
    found = []
    for c, rx in _WORDS:
        if rx.search(text):
            found.append(c)
            text = rx.sub(" ", text)
    return found, text


def peak_for_device(device_name: str) -> float | None:
    """The data-sheet peak of the card torch reports as ``device_name``, None if unknown."""
    for c in sorted(CARDS, key=lambda c: -len(c.device_name)):  # "H100 PCIe" before "H100"
        if c.device_name in device_name:
            return c.peak_flops
    return None
