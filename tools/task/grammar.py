"""The console command grammar the model may choose from, as data, and its parser.

These are the kernel console's commands (docs/console.md) minus the three a model never picks
(``help``, ``set``, ``poweroff``), plus ``none``: the model's word for "no command serves this
request" (the kernel prints ``auton: command none`` and a refusal). :func:`parse_command`
accepts a line exactly when the console would run it as one of these commands (words split on
runs of spaces, lowercase command words); :meth:`Command.text` is the canonical spelling the
model is taught and the constrained decoder (tools/task/completions.py) produces.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

Intent = Literal[
    "devices", "device", "driver", "cpu", "memory", "uptime", "model", "provides", "whatis",
    "pkg_show", "pkg_search", "none",
]  # fmt: skip
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
NEVER_CHOSEN = ("help", "set", "poweroff")

DEVICE_CLASSES = ("all", "network", "storage", "display", "serial", "input", "rng", "bridge", "usb", "other")
NO_ARGS = ("cpu", "memory", "uptime", "model", "none")

PCI_ADDR = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
VIRTIO_ADDR = re.compile(r"^virtio@[0-9a-f]+$")
DT_ADDR = re.compile(r"^[a-z][a-z0-9,._+-]*(@[0-9a-f]+)?$")  # a node name, with its unit address if it has one
COMMAND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
SEARCH_WORD = re.compile(r"^[a-z0-9][a-z0-9+.-]*$")
SEARCH_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789+.-"
SEARCH_WORDS = 8  # pkg search takes at most this many words (kernel/console/console.h)
NAME_RUN = re.compile(r"[A-Za-z0-9._+-]+")
ADDR_RUN = re.compile(r"[A-Za-z0-9@:,._+-]+")


class Command(BaseModel, frozen=True):
    """One model-chosen console command: the intent and its arguments (words)."""

    intent: Intent
    args: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The console line: ``pkg show nginx``, ``devices network``, ``none``."""
        head = {"pkg_show": "pkg show", "pkg_search": "pkg search"}.get(self.intent, self.intent)
        return " ".join((head, *self.args))


def request_words(request: str) -> list[str]:
    """The words of a request a command may copy: maximal runs of ``[A-Za-z0-9._+-]`` with
    trailing dots removed (a sentence's full stop), in order, without repeats."""
    words = (m.group().rstrip(".") for m in NAME_RUN.finditer(request))
    return list(dict.fromkeys(w for w in words if w))


def named_addresses(request: str, addresses: list[str]) -> list[str]:
    """The ``addresses`` a request types: those equal, case aside, to one of its runs of
    ``[A-Za-z0-9@:,._+-]`` with trailing ``.``, ``,`` and ``:`` removed (``at 00:01.0.``,
    ``flash@20000000, please``), in the order of ``addresses``."""
    runs = {m.group().rstrip(".,:").lower() for m in ADDR_RUN.finditer(request)}
    return [a for a in addresses if a.lower() in runs]


def is_address(word: str) -> bool:
    return bool(PCI_ADDR.match(word) or VIRTIO_ADDR.match(word) or DT_ADDR.match(word))


def parse_command(text: str) -> Command | None:
    """The Command a console line runs, or None when it is not one of the model's commands
    (unknown word, wrong argument count or shape, ``help``/``set``/``poweroff``)."""
    words = text.split(" ")
    words = [w for w in words if w]
    if not words or any(not w.isprintable() or not w.isascii() for w in words):
        return None
    head, args = words[0], tuple(words[1:])
    if head in NO_ARGS:
        return Command(intent=head, args=()) if not args else None
    if head == "devices":
        return (
            Command(intent="devices", args=args)
            if len(args) <= 1 and set(args) <= set(DEVICE_CLASSES)
            else None
        )
    if head == "device":
        return Command(intent="device", args=args) if len(args) == 1 and is_address(args[0]) else None
    if head == "driver":
        ok = len(args) == 1 and (args[0] in DEVICE_CLASSES or is_address(args[0]))
        return Command(intent="driver", args=args) if ok else None
    if head in ("provides", "whatis"):
        ok = len(args) == 1 and COMMAND_NAME.match(args[0])
        return Command(intent=head, args=args) if ok else None
    if head == "pkg" and args[:1] == ("show",):
        ok = len(args) == 2 and PACKAGE_NAME.match(args[1])
        return Command(intent="pkg_show", args=args[1:]) if ok else None
    if head == "pkg" and args[:1] == ("search",):
        ok = 2 <= len(args) <= 1 + SEARCH_WORDS and all(SEARCH_WORD.match(w) for w in args[1:])
        return Command(intent="pkg_search", args=args[1:]) if ok else None
    return None
