"""The valid completions of a model's command line on one machine, as a character automaton.

The constrained decoder (tools/tune/constrain.py, and the kernel's C decoder after it) walks
this automaton: from the start, a character is allowed only if some valid command continues
with it, and the command may end only at a terminal state. What is valid: the intents of
tools/task/grammar.py; addresses of devices present on the machine; the device classes; command
names and package names from the knowledge index; and for ``pkg search`` lowercase words
separated by single spaces. Each state knows ``dist``, the fewest characters to a terminal
state, so a decoder with a token budget can refuse a step it could not finish.

The arguments a person names are copied, never recalled: ``device`` and ``driver`` take an
address of the machine that the request types (:func:`tools.task.grammar.named_addresses`), or
``driver`` a class; ``provides`` and ``whatis`` take one of the request's words
(:func:`tools.task.grammar.request_words`) that are command names of the index, ``pkg show`` one
that is a package name, and ``pkg search`` its words lowercased. Words the request phrasings are
made of (``the``, ``please``, ``show``: the index's ``phrasing``) are passed over while the
request has other candidates, so "show the package vim" names ``vim``; when it has none, only
the phrasing words that are also well-known names (``phrasing_names``) remain, so "what does
find do" still names ``find`` while "give me the peripherals" offers no ``whatis the``. A
request that names no address offers no ``device`` (and ``driver`` only its classes), one that
names no command no ``provides`` or ``whatis``, one that names no package no ``pkg show`` (the
model must choose another intent, or ``none``); one with no word that fits a search word
searches free words.

:func:`export` writes the automaton as plain data (states with their edges) for the kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from tools.task.grammar import (
    DEVICE_CLASSES,
    NO_ARGS,
    PACKAGE_NAME,
    SEARCH_WORD,
    SEARCH_WORD_CHARS,
    SEARCH_WORDS,
    named_addresses,
    request_words,
)
from tools.task.index import KnowledgeIndex
from tools.task.machines import Machine

_ids = itertools.count()


class State:
    __slots__ = ("dist", "edges", "fixed", "terminal", "uid")

    def __init__(self, terminal: bool = False):
        self.edges: dict[str, State] = {}
        self.terminal = terminal
        self.dist = 0 if terminal else -1
        self.fixed = False  # dist final (set_distances ran over it): shared sub-automata are not revisited
        self.uid = next(_ids)

    def walk(self, text: str) -> State | None:
        s: State | None = self
        for ch in text:
            s = s.edges.get(ch) if s is not None else None
        return s


def trie(words: Iterable[str], root: State | None = None) -> State:
    """A trie of ``words`` (each ends at a terminal state), added to ``root`` if given."""
    root = root or State()
    for w in words:
        s = root
        for ch in w:
            s = s.edges.setdefault(ch, State())
        s.terminal = True
    return root


def free_words() -> State:
    """1 to SEARCH_WORDS words separated by single spaces; a word starts with a letter or digit
    and goes on with SEARCH_WORD_CHARS (tools.task.grammar.SEARCH_WORD)."""
    start = State()
    before = start
    for k in range(SEARCH_WORDS):
        word = State(terminal=True)
        for ch in SEARCH_WORD_CHARS:
            word.edges[ch] = word
            if ch.isalnum():
                before.edges[ch] = word
        if k + 1 < SEARCH_WORDS:
            before = word.edges[" "] = State()
    return start


def chosen_words(words: Iterable[str]) -> State:
    """1 to SEARCH_WORDS of ``words`` (repeats allowed) separated by single spaces."""
    words = list(words)
    start = before = trie(words)
    for _ in range(SEARCH_WORDS - 1):
        after = trie(words)  # the next word
        for w in words:
            before.walk(w).edges[" "] = after  # type: ignore[union-attr]
        before = after
    return start


def attach(root: State, prefix: str, sub: State) -> None:
    """Make ``prefix`` (a path from ``root``, created as needed) lead into ``sub``."""
    s = root
    for ch in prefix[:-1]:
        s = s.edges.setdefault(ch, State())
    s.edges[prefix[-1]] = sub


def set_distances(root: State) -> None:
    """``dist`` of every state reachable from ``root``: fewest characters to a terminal state
    (a fixed point, since free words loop)."""
    seen, stack, order = set(), [root], []
    while stack:
        s = stack.pop()
        if s.uid in seen or s.fixed:
            continue
        seen.add(s.uid)
        order.append(s)
        stack.extend(s.edges.values())
    changed = True
    while changed:
        changed = False
        for s in reversed(order):
            best = 0 if s.terminal else min((t.dist + 1 for t in s.edges.values() if t.dist >= 0), default=-1)
            if best >= 0 and (s.dist < 0 or best < s.dist):
                s.dist, changed = best, True
    for s in order:
        s.fixed = True


class IndexStates:
    """The machine-independent parts (names, phrasing words, sub-automata), built once per index."""

    def __init__(self, index: KnowledgeIndex):
        self.command_names = frozenset(index.command_names)
        self.package_names = frozenset(p for p in index.packages if PACKAGE_NAME.match(p))
        self.phrasing = frozenset(index.phrasing)
        self.phrasing_names = frozenset(index.phrasing_names)
        self.words = free_words()
        self.classes = trie(DEVICE_CLASSES)
        for s in (self.words, self.classes):
            set_distances(s)

    def named(self, words: list[str]) -> list[str]:
        """``words`` that are not phrasing words; when every one is, those that are also
        well-known names (``find``, ``free``): never ``the`` or ``please``."""
        return [w for w in words if w.lower() not in self.phrasing] or [
            w for w in words if w.lower() in self.phrasing_names
        ]


def completions(machine: Machine, shared: IndexStates, request: str) -> State:
    """The start state of every valid command line on ``machine`` in answer to ``request``."""
    words = request_words(request)
    commands = shared.named([w for w in words if w in shared.command_names])
    packages = shared.named([w for w in words if w in shared.package_names])
    search = shared.named([w.lower() for w in words if SEARCH_WORD.match(w.lower())])
    root = trie(("devices", *NO_ARGS))
    addrs = named_addresses(request, [d.addr for d in machine.devices])
    attach(root, "devices ", shared.classes)
    if addrs:
        attach(root, "device ", trie(addrs))
    attach(root, "driver ", trie([*addrs, *DEVICE_CLASSES]))
    if commands:
        attach(root, "provides ", trie(commands))
        attach(root, "whatis ", trie(commands))
    if packages:
        attach(root, "pkg show ", trie(packages))
    attach(root, "pkg search ", chosen_words(search) if search else shared.words)
    set_distances(root)
    return root


def export(root: State) -> dict[str, Any]:
    """The automaton as data: ``states[i] = {"terminal": bool, "dist": n, "edges": {char: j}}``,
    state 0 the start."""
    index: dict[int, int] = {}
    order: list[State] = []
    stack = [root]
    while stack:
        s = stack.pop()
        if s.uid in index:
            continue
        index[s.uid] = len(order)
        order.append(s)
        stack.extend(reversed(list(s.edges.values())))
    return {
        "states": [
            {"terminal": s.terminal, "dist": s.dist, "edges": {ch: index[t.uid] for ch, t in s.edges.items()}}
            for s in order
        ]
    }
