"""One-sentence answers read off a command's output, and the check that an answer is grounded.

An answer is built from a sentence frame whose own words are fixed (:data:`FRAMES`) and values
copied from the output: names, addresses, drivers, packages, numbers. :func:`grounded` checks
exactly that of any answer (a model's too): every word that is not a frame word must be a word
of the output. ``facts`` are the values the question asked for; an answer that holds them all
and is grounded is correct (:func:`correct`).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter

from tools.task.grammar import DEVICE_CLASSES, Command
from tools.task.index import KnowledgeIndex
from tools.task.machines import Machine
from tools.task.render import mib, uptime_text

REFUSAL = "Sorry, I can only look up this machine's devices, drivers, memory, model and packages."
FRAMES = (
    "This machine has {n} devices.",
    "The {cls} device is {name} at {addr}.",
    "There are {n} {cls} devices, at {addrs}.",
    "No {cls} devices were found.",
    "The device at {addr} is {name}, driven by {driver}.",
    "The device at {addr} is {name} and no driver matches it.",
    "{addr} uses the {driver} driver.",
    "No driver matches {addr}.",
    "The {cls} devices use {drivers}.",
    "No driver matches the {cls} devices.",
    "This machine has {n} CPUs, model {model}.",
    "This machine has {n} CPUs with ISA {isa}.",
    "The machine has {total} MiB of memory and {free} MiB free.",
    "The system has been {uptime}.",
    "The model is {name} with {params} parameters in {quant}.",
    "The {cmd} command is in the {pkgs} package.",
    "No package ships {cmd}.",
    "{cmd}: {desc}.",
    "There is no manual entry for {cmd}.",
    "Package {pkg}: {desc}.",
    "There is no package {pkg}.",
    "{n} packages match, for example {names}.",
    "No package matches {words}.",
    REFUSAL,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/+,'-]*[A-Za-z0-9]|[A-Za-z0-9]")
_FRAME_WRITTEN = {w for f in FRAMES for w in _WORD.findall(re.sub(r"\{\w+\}", " ", f))} | {
    *DEVICE_CLASSES,
    "and",
}
# a frame word as the frames write it, in lower case, or capitalised (a sentence's first word)
FRAME_WORDS = frozenset(v for w in _FRAME_WRITTEN for v in (w, w.lower(), w[:1].upper() + w[1:]))


def words(text: str) -> list[str]:
    """Words of a text: runs of letters and digits with inner ``_.:@/+,'-`` (``00:02.0``,
    ``virtio_net``, ``bind9-dnsutils``, ``2048.0``); surrounding punctuation is not part of one."""
    return _WORD.findall(text)


INNER = frozenset("_.:@/+,'-")  # what may go on inside a word (_WORD)
FRAME_SEPARATORS = frozenset({" ", ", ", ": "})
ENDS = frozenset({"", "."})
_FRAME_SORTED = sorted(FRAME_WORDS)


def _has_prefix(sorted_words: list[str], prefix: str) -> bool:
    i = bisect.bisect_left(sorted_words, prefix)
    return i < len(sorted_words) and sorted_words[i].startswith(prefix)


class AnswerWords:
    """The words an answer read off ``output`` may hold, and what may stand between them.

    Words: frame words (as the frames write them, in lower case, or capitalised), and the
    output's own words and their ``,``/``/`` parts, exactly as written. Between two words: a
    frame's separator (a space, ``, ``, ``: ``) or one that stands between two words of the
    output on one line (`` - `` in a description, not a table's column gap); after the last
    word, nothing or a full stop; before the first, at most a space.

    :meth:`could_start` is the constrained answer decoder's test (tools/tune/constrain.py): a
    text may go on only while it is a prefix of some grounded answer, so a model can copy a name
    or a number only whole and unchanged, and never write one the output lacks. A word is used
    at most :data:`REPEATS` times (or as often as the output has it), which stops loops."""

    REPEATS = 2

    def __init__(self, output: str):
        found = list(_WORD.finditer(output))
        self._uses = Counter(m.group() for m in found)
        have = set(self._uses) | {p for w in self._uses for p in re.split(r"[,/]", w) if p}
        self.have = frozenset(have)
        self._sorted = sorted(have)
        seps = {output[a.end() : b.start()] for a, b in itertools.pairwise(found)}
        self.separators = FRAME_SEPARATORS | {x for x in seps if "\n" not in x and "  " not in x}
        self._ways_on = sorted(self.separators | ENDS)

    def allowed(self, word: str) -> bool:
        return word in self.have or word in FRAME_WORDS

    def _fits(self, text: str, found: list[re.Match[str]], closed: int) -> bool:
        """The first ``closed`` words of ``found`` (in ``text``) are allowed and none over-used;
        before the first word at most a space, between each two an allowed separator."""
        done = [m.group() for m in found[:closed]]
        return (
            all(map(self.allowed, done))
            and all(n <= max(self.REPEATS, self._uses[w]) for w, n in Counter(done).items())
            and (not found or text[: found[0].start()] in ("", " "))
            and all(text[a.end() : b.start()] in self.separators for a, b in itertools.pairwise(found))
        )

    def could_start(self, text: str) -> bool:
        """``text`` is a prefix of a grounded answer: either its last word, with the inner
        characters after it, can still grow into an allowed word, or that word is over too and
        what follows it starts a separator or the end."""
        found = list(_WORD.finditer(text))
        if not found:
            return text in ("", " ")
        last = found[-1]
        tail, rest = text[last.end() :], text[last.start() :]
        if set(tail) <= INNER and (_has_prefix(self._sorted, rest) or _has_prefix(_FRAME_SORTED, rest)):
            return self._fits(text, found, len(found) - 1)
        return self._fits(text, found, len(found)) and _has_prefix(self._ways_on, tail)

    def complete(self, text: str) -> bool:
        """``text`` may end here: all of it fits, and it ends in a word or a full stop."""
        found = list(_WORD.finditer(text))
        return bool(found) and self._fits(text, found, len(found)) and text[found[-1].end() :] in ENDS


def grounded(answer: str, output: str) -> bool:
    """Every word of ``answer`` that is not a frame word occurs as a word of ``output``."""
    return all(map(AnswerWords(output).allowed, words(answer)))


def correct(answer: str, output: str, facts: list[str]) -> bool:
    return grounded(answer, output) and all(f in answer for f in facts)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def answer(cmd: Command, machine: Machine, index: KnowledgeIndex) -> tuple[str, list[str]]:
    """(the answer sentence, the facts it must hold) for ``cmd`` run on ``machine``."""
    i, a = cmd.intent, cmd.args
    if i == "none":
        return REFUSAL, []
    if i == "devices":
        cls = a[0] if a else "all"
        found = machine.of_kind(cls)
        if not found:
            return f"No {cls} devices were found.", ["No"]
        if cls == "all":
            return f"This machine has {len(found)} devices.", [str(len(found))]
        if len(found) == 1:
            d = found[0]
            return f"The {cls} device is {d.name} at {d.addr}.", [d.name, d.addr]
        addrs = [d.addr for d in found]
        return f"There are {len(found)} {cls} devices, at {_join(addrs)}.", [str(len(found)), *addrs]
    if i == "device":
        d = machine.device(a[0])
        assert d is not None, "the decoder only completes present addresses"
        name = d.name
        if d.driver is None:
            return f"The device at {d.addr} is {name} and no driver matches it.", [name]
        return f"The device at {d.addr} is {name}, driven by {d.driver}.", [name, d.driver]
    if i == "driver":
        target = a[0]
        if target in DEVICE_CLASSES:
            found = machine.of_kind(target)
            if not found:
                return f"No {target} devices were found.", ["No"]
            drivers = sorted({d.driver for d in found if d.driver})
            if not drivers:
                return f"No driver matches the {target} devices.", ["No"]
            return f"The {target} devices use {_join(drivers)}.", drivers
        d = machine.device(target)
        assert d is not None, "the decoder only completes present addresses"
        if d.driver is None:
            return f"No driver matches {d.addr}.", ["No"]
        return f"{d.addr} uses the {d.driver} driver.", [d.driver]
    if i == "cpu":
        c = machine.cpu
        if machine.arch.value == "riscv64":
            return f"This machine has {c.count} CPUs with ISA {c.isa}.", [str(c.count)]
        return f"This machine has {c.count} CPUs, model {c.model}.", [str(c.count), c.model]
    if i == "memory":
        m = machine.memory
        total, free = mib(m.total), mib(m.free)
        return f"The machine has {total} MiB of memory and {free} MiB free.", [total, free]
    if i == "uptime":
        up = uptime_text(machine.uptime_us)
        return f"The system has been {up}.", [up]
    if i == "model":
        m = machine.model
        return f"The model is {m.name} with {m.params} parameters in {m.quant}.", [m.name, str(m.params)]
    if i == "provides":
        pkgs = index.commands.get(a[0], [])
        if not pkgs:
            return f"No package ships {a[0]}.", ["No"]
        return f"The {a[0]} command is in the {_join(pkgs)} package.", pkgs
    if i == "whatis":
        entries = index.whatis.get(a[0], [])
        if not entries:
            return f"There is no manual entry for {a[0]}.", ["no"]
        desc = entries[0].description
        return f"{a[0]}: {desc}.", [desc]
    if i == "pkg_show":
        desc = index.packages.get(a[0])
        if desc is None:
            return f"There is no package {a[0]}.", ["no"]
        return f"Package {a[0]}: {desc}.", [desc]
    hits = index.search(list(a))
    if not hits:
        return f"No package matches {' '.join(a)}.", ["No"]
    return f"{len(hits)} packages match, for example {_join(hits[:2])}.", [str(len(hits)), hits[0]]
