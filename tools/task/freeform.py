"""A held-out set of requests written apart from the templates of tools/task/requests.py: slang,
long-winded asks, Linux habits the templates lack, other word orders. Each is a Template of its
own (split ``freeform``) with its intent and either a slot (``{addr}``, ``{cmd}``, ``{pkg}``,
``{words}``) or the argument it fixes (a device class), so its reference command is made for
whatever machine it is asked on (:func:`freeform_requests`). No line starts with a console
command word: the kernel would run it instead of asking the model.
"""

from __future__ import annotations

import random

from tools.task.build import _command, _Slots
from tools.task.grammar import Command
from tools.task.index import KnowledgeIndex
from tools.task.machines import Machine
from tools.task.requests import Template

# intent -> requests; "text => arg" fixes the argument as in tools/task/requests.py
FREEFORM: dict[str, list[str]] = {
    "devices": [
        "yo what NICs we got => network", "walk me through every piece of hardware you can see => all",
        "anything plugged in for storage? => storage", "ls /sys/bus/pci/devices => all", "ip -br link => network",
        "got a GPU in there or nah => display",
    ],
    "device": [
        "gimme the lowdown on {addr}", "I am curious what {addr} actually is, could you look it up for me",
        "udevadm info {addr}", "{addr} - what's that thing",
    ],
    "driver": [
        "lspci -nnk -s {addr}", "which kernel module got bound to {addr}, if any",
        "readlink /sys/class/net/eth0/device/driver => network",
    ],
    "cpu": ["count the cores for me", "getconf _NPROCESSORS_ONLN", "what silicon am I running on"],
    "memory": ["am I running low on RAM", "grep MemFree /proc/meminfo", "how many megs of memory are left over"],
    "uptime": ["how long since the last restart, roughly", "been up long?", "how many days has this box been alive"],
    "model": ["what LLM brain is inside this kernel", "how many weights does the embedded net have"],
    "provides": [
        "bash says {cmd} not found, fix?", "dnf provides {cmd}",
        "I typed {cmd} and nothing happened, what should I apt install",
    ],
    "whatis": ["what's {cmd} good for", "eli5 {cmd}", "{cmd}?? never heard of it"],
    "pkg_show": ["apt policy {pkg}", "tell me what's inside the debian package called {pkg}"],
    "pkg_search": [
        "is anything in the archive for {words}", "hunting for a package to do {words}",
        "find me software about {words}, anything",
    ],
    "none": [
        "book me a flight to Oslo", "what's 17 times 23", "systemctl reboot",
        "write me a haiku about kernels", "format the hard drive",
    ],
}  # fmt: skip


def freeform_templates() -> list[Template]:
    out = []
    for intent, raws in FREEFORM.items():
        for i, raw in enumerate(raws):
            text, _, fixed = raw.partition(" => ")
            out.append(
                Template(
                    id=f"freeform/{intent}/{i}",
                    intent=intent,
                    text=text,
                    fixed=fixed or None,
                    split="freeform",
                )
            )
    return out


def freeform_requests(machine: Machine, index: KnowledgeIndex, seed: int = 0) -> list[tuple[str, Command]]:
    """Every freeform request for ``machine``: (the text, its reference command), slot values
    drawn from the test split's commands and packages and the machine's devices."""
    slots = _Slots(index, "test")
    out = []
    for t in freeform_templates():
        rng = random.Random(f"{seed}/{t.id}")
        cmd, value = _command(t, machine, slots, rng)
        out.append((t.text.replace("{" + t.slot + "}", value) if t.slot else t.text, cmd))
    return out
