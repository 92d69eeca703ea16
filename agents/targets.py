"""Target hardware and use-case words, and the tier and architecture each one implies.

The tier column follows the model size table: embedded systems, microcontrollers, ARM Cortex-M and
low-end RISC-V are the tiny tier's hardware; ARM single-board computers (Raspberry Pi, Jetson,
VisionFive, ...), entry-level x86_64 and resource-constrained devices the small tier's; standard
desktops, laptops and servers (general-purpose) the medium tier's; workstations, data centers and
other high-end systems the large tier's.

An implied architecture is ``strong`` when the device has exactly one (a Raspberry Pi is aarch64)
and weak when it is only the usual one (servers and desktops: x86_64), so that "arm server" is
aarch64. The kernel runs on riscv64, aarch64 and x86_64; ARM Cortex-M cores are 32-bit
(Armv7-M/Armv8-M), which it does not target, so a Cortex-M goal gets aarch64, the kernel's ARM
port, and the plan says so.

GPU cards are training hardware, not targets (tools.arch.gpus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.models import TierChoice
from tools.tiers import Arch


@dataclass(frozen=True)
class Target:
    label: str  # how the plan names the hardware class
    words: re.Pattern[str]
    tier: TierChoice | None
    arch: Arch | None = None
    strong: bool = False
    note: str | None = None  # said in the plan whenever the word is read


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w])", re.IGNORECASE)


A, X, R = Arch.aarch64, Arch.x86_64, Arch.riscv64
_ENTRY = r"(?:entry[- ]level|low[- ]end|cheap|old|older|ancient|aging|ageing)"
_PCS = r"(?:x86(?:[-_]64)?|pcs?|laptops?|desktops?|notebooks?|computers?|machines?|boxe?s?)"
# more specific rows first: the words a row reads are not read again by a later row
TARGETS: tuple[Target, ...] = (
    Target(
        "ARM Cortex-M",
        _rx(r"(?:arm )?cortex[- ]?m\d*\w*"),
        "tiny",
        A,
        strong=True,
        note="Cortex-M is 32-bit (Armv7-M/Armv8-M), which the kernel does not target: "
        "built for aarch64, its ARM port",
    ),
    Target("low-end RISC-V", _rx(r"low[- ]end risc[- ]?v(?:64)?(?: \w+)?"), "tiny", R, strong=True),
    Target("microcontroller", _rx(r"micro[- ]?controllers?", r"mcus?", r"bare[- ]metal"), "tiny"),
    Target("embedded system", _rx(r"embedded(?: systems?| devices?| targets?)?"), "tiny"),
    Target("IoT device", _rx(r"iot(?: devices?| sensors?| nodes?)?", r"sensors?", r"wearables?"), "tiny"),
    Target(
        "Raspberry Pi (an ARM SBC)",
        _rx(r"raspberry ?pi(?: zero(?: 2)?(?: w)?| \d\w*)?", r"rpi\d*\w*", r"pi (?:zero|[2-5])\w*"),
        "small",
        A,
        strong=True,
    ),
    Target(
        "ARM SBC",
        _rx(
            r"jetson(?: nano| orin\w*| xavier\w*)?",
            r"(?:orange|banana|rock) ?pi\w*(?: \d\w*)?",
            r"rock ?\d\w*",
            r"pine64",
            r"odroid\w*",
            r"arm (?:sbcs?|boards?|single[- ]board computers?)",
        ),
        "small",
        A,
        strong=True,
    ),
    Target(
        "RISC-V SBC",
        _rx(
            r"vision ?five(?: \d)?",
            r"milk-?v\w*",
            r"lichee\w*(?: pi\w*)?",
            r"risc[- ]?v(?:64)? (?:sbcs?|boards?|single[- ]board computers?)",
        ),
        "small",
        R,
        strong=True,
    ),
    Target(
        "single-board computer",
        _rx(r"sbcs?", r"single[- ]board(?: computers?)?", r"dev(?:elopment)? boards?"),
        "small",
    ),
    Target(
        "entry-level x86_64",
        _rx(
            _ENTRY + r"(?: \w+){0,2}? " + _PCS,
            r"netbooks?",
            r"thin clients?",
            r"chromebooks?",
            r"celeron",
            r"intel atom",
        ),
        "small",
        X,
    ),
    Target(
        "resource-constrained device",
        _rx(
            r"resource[- ]constrained(?: \w+)?",
            r"constrained devices?",
            r"low[- ](?:memory|ram|power)(?: \w+)?",
            r"edge (?:devices?|hardware|boxe?s?|nodes?|computing|deployments?)",
            r"(?:at|on|for) the edge",
        ),
        "small",
    ),
    Target(
        "Mac (Apple silicon)",
        _rx(
            r"mac ?books?(?: air| pro)?", r"macs?", r"mac mini", r"imacs?", r"apple silicon", r"apple m\d\w*"
        ),
        "medium",
        A,
        strong=True,
    ),
    Target(
        "standard desktop",
        _rx(r"desktops?", r"pcs?", r"laptops?", r"notebooks?", r"mini[- ]pcs?", r"nucs?"),
        "medium",
        X,
    ),
    Target("general-purpose system", _rx(r"general[- ]purpose(?: \w+)?"), "medium"),
    Target("workstation", _rx(r"workstations?"), "large", X),
    Target(
        "data center",
        _rx(
            r"data ?cent(?:er|re)s?", r"datacent(?:er|re)s?", r"clusters?", r"server farms?", r"server racks?"
        ),
        "large",
        X,
    ),
    Target("server", _rx(r"(?:home |rack |web )?servers?"), "medium", X),
    Target("high-end system", _rx(r"high[- ]end(?! gpus?| cards?| graphics)(?: \w+)?"), "large"),
)


def targets_named(text: str) -> list[Target]:
    """The target rows ``text`` names, in table order."""
    found = []
    for t in TARGETS:
        if t.words.search(text):
            found.append(t)
            text = t.words.sub(" ", text)
    return found
