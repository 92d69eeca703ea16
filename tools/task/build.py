"""``auton-slm data task``: request -> command -> output -> answer examples, split for held-out tests.

Writes into ``out``: ``train.jsonl``, ``val.jsonl``, ``test.jsonl`` (one TaskExample a line),
``machines.jsonl`` (the simulated machines the examples ran on), ``index.json`` (the package
and command knowledge the outputs were rendered from) and ``manifest.json`` (counts per split
and intent, and how the held-out splits were made). The directory is built in a staging
directory and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from pydantic import BaseModel, Field

from tools.artifacts import atomic_write_text, staging_dir, write_manifest
from tools.errors import InputError
from tools.progress import ProgressFn, null_progress
from tools.task.answers import answer
from tools.task.filler import filler_words, pad
from tools.task.grammar import INTENTS, PACKAGE_NAME, Command
from tools.task.hardware import hardware_tables
from tools.task.index import KnowledgeIndex, load_index
from tools.task.machines import Machine, pool_split, random_machine
from tools.task.render import render
from tools.task.requests import CLASS_PHRASES, TOPICS, Template, draw, fill, phrases
from tools.tiers import Arch

SPLITS = ("train", "val", "test")
PACKAGE = Path(__file__).parent
INTENT_WEIGHTS = {
    "devices": 14, "device": 9, "driver": 9, "cpu": 5, "memory": 5, "uptime": 4, "model": 4,
    "provides": 10, "whatis": 9, "pkg_show": 9, "pkg_search": 8, "none": 14,
}  # fmt: skip
TYPO_RATE = 0.1
_STOP = frozenset(
    "this that with from into for and the are was use used using based data support files file".split()
)


class TaskExample(BaseModel):
    id: str
    split: str
    intent: str
    template: str = Field(description="id of the phrasing template")
    machine: str = Field(description="id of the machine in machines.jsonl")
    request: str
    command: str = Field(description="the console line the model must produce ('none': no command)")
    output: str = Field(description="the console's output for the command ('' for none)")
    answer: str
    facts: list[str] = Field(description="values the answer must hold (tools.task.answers.correct)")


class TaskRequest(BaseModel):
    arch: Arch
    out: Path
    seed: int = 0
    counts: dict[str, int] = Field(default_factory=lambda: {"train": 20000, "val": 1000, "test": 1000})
    intents: list[str] = Field(default_factory=lambda: list(INTENTS), description="intents to draw from")
    machines_per_split: dict[str, int] | None = Field(
        None, description="machines per split (default: one per 10 examples, 4 to 300)"
    )
    kb: Path | None = Field(
        None,
        description="a built knowledge blob (auton-slm kb build): its tables make the outputs the kernel's own",
    )
    max_packages: int = Field(
        6000, gt=0, description="without kb: packages of this machine's archive index used"
    )
    overwrite: bool = False


class TaskResult(BaseModel):
    path: Path
    counts: dict[str, dict[str, int]] = Field(description="split -> intent -> examples")
    held_out: dict[str, str]


class _Slots:
    """Slot values of one split: commands and packages by stable hash, phrases by position."""

    def __init__(self, index: KnowledgeIndex, split: str):
        unnamed = set(index.phrasing) - set(index.phrasing_names)  # the decoder never copies these

        def pool(names: Iterable[str]) -> list[str]:
            return sorted(n for n in names if pool_split(n) == split and n.lower() not in unnamed)

        names = pool(index.command_names)
        self.provides = [c for c in names if c in index.commands]
        self.whatis = [c for c in names if c in index.whatis]
        self.packages = pool(p for p in index.packages if PACKAGE_NAME.match(p))
        if not (self.provides and self.whatis and self.packages):
            raise InputError(f"the knowledge index is too small to hold out {split} commands and packages")
        self.index = index
        self.split = split
        self.not_searched = _STOP | set(index.phrasing)  # the decoder passes phrasing words over

    def search_words(self, rng: random.Random) -> str:
        """One or two words of a held-out package's description (so the search finds it), none
        of them a stop word or a phrasing word."""
        for _ in range(1000):
            pkg = rng.choice(self.packages)
            desc = self.index.packages[pkg].lower()
            cands = [w for w in re.findall(r"[a-z]{4,}", desc) if w not in self.not_searched]
            if cands:
                return " ".join(rng.sample(cands, min(len(cands), rng.choice((1, 1, 2)))))
        raise InputError(f"no {self.split} package description has a word to search for")


def _command(t: Template, machine: Machine, slots: _Slots, rng: random.Random) -> tuple[Command, str]:
    """The command a template asks for on ``machine``, and the slot value to write into it."""
    intent, slot = t.intent, t.slot
    if t.fixed is not None:
        args = () if intent == "devices" and t.fixed == "all" else (t.fixed,)
        return Command(intent=intent, args=args), ""
    if slot == "cls":
        present = machine.kinds
        cls = rng.choice(present + ["all"]) if rng.random() < 0.75 else rng.choice(list(CLASS_PHRASES))
        value = rng.choice(phrases(CLASS_PHRASES[cls], slots.split))
        args = () if intent == "devices" and cls == "all" else (cls,)
        return Command(intent=intent, args=args), value
    if slot == "addr":
        addr = rng.choice(machine.devices).addr
        return Command(intent=intent, args=(addr,)), addr
    if slot == "cmd":
        pool = slots.provides if intent == "provides" and rng.random() < 0.9 else slots.whatis
        name = rng.choice(pool)
        return Command(intent=intent, args=(name,)), name
    if slot == "pkg":
        name = rng.choice(slots.packages)
        return Command(intent=intent, args=(name,)), name
    if slot == "words":
        words = slots.search_words(rng)
        return Command(intent=intent, args=tuple(words.split())), words
    if slot in TOPICS:
        return Command(intent="none"), rng.choice(phrases(TOPICS[slot], slots.split))
    return Command(intent=intent), ""


def examples(
    req: TaskRequest, split: str, machines: list[Machine], index: KnowledgeIndex
) -> list[TaskExample]:
    slots = _Slots(index, split)
    weights = {i: INTENT_WEIGHTS[i] for i in req.intents}
    fillers = filler_words([*index.command_names, *index.packages]) if split == "train" else []
    out = []
    for k in range(req.counts[split]):
        rng = random.Random(f"{req.seed}/{split}/{k}")
        intent = rng.choices(list(weights), list(weights.values()))[0]
        t = draw(intent, split, rng)
        machine = rng.choice(machines)
        cmd, value = _command(t, machine, slots, rng)
        text, facts = answer(cmd, machine, index)
        out.append(
            TaskExample(
                id=f"{split}-{k}",
                split=split,
                intent=cmd.intent,
                template=t.id,
                machine=machine.id,
                request=fill(t, value, rng, TYPO_RATE, partial(pad, words=fillers, rng=rng) if fillers else None),
                command=cmd.text,
                output=render(cmd, machine, index),
                answer=text,
                facts=facts,
            )
        )
    return out


def generator_sha256(package: Path = PACKAGE) -> str:
    """A digest of the task generator's source, every module of ``package`` (phrasings, machines,
    outputs, answers): task data that other code drew is stale."""
    h = hashlib.sha256()
    for f in sorted(package.glob("*.py")):
        code = f.read_bytes()
        h.update(f"{f.name}\0{len(code)}\0".encode() + code)
    return h.hexdigest()


def jsonl(items: list[BaseModel]) -> str:
    return "".join(i.model_dump_json() + "\n" for i in items)


HELD_OUT = {
    "templates": "whole templates, intent-neutral frames and per-intent content phrases cut by position: 4 of 6 train, 1 val, 1 test; a held-out composition pairs a held-out frame with held-out content (tools.task.requests)",
    "habits": "Linux habits (lspci, free -m, dpkg -S CMD) are vocabulary, not phrasing: all train, none in val or test",
    "phrases": "device-class phrases and refusal topics cut the same way; openers, closers and case styles are noise every split shares",
    "fillers": "train requests (a share tools.task.filler.FILLER_RATE) carry one or two dictionary words that no phrasing of any split uses; held-out requests none",
    "commands_packages": "command and package names cut by sha256 of the name: 10% test, 10% val",
    "machines": "each split has its own machines; their extra PCI devices come from disjoint id pools",
}


def build_task(
    req: TaskRequest, progress: ProgressFn | None = None, index: KnowledgeIndex | None = None
) -> TaskResult:
    """Build the task dataset of ``req`` (``index``: the knowledge index, default this machine's)."""
    progress = progress or null_progress
    unknown = set(req.intents) - set(INTENTS)
    if unknown or not req.intents:
        raise InputError(f"unknown intents {sorted(unknown)} (expected some of {', '.join(INTENTS)})")
    if req.kb is not None and not req.kb.is_file():
        raise InputError(f"{req.kb}: no such knowledge blob (build one with auton-slm kb build)")
    tables = hardware_tables(req.kb)
    index = index or (KnowledgeIndex.from_kb(req.kb) if req.kb else load_index(req.seed, req.max_packages))
    counts: dict[str, dict[str, int]] = {}
    with staging_dir(req.out, overwrite=req.overwrite) as tmp:
        all_machines: list[Machine] = []
        for n, split in enumerate(SPLITS):
            count = (req.machines_per_split or {}).get(split) or max(4, min(300, req.counts[split] // 10))
            machines = [random_machine(req.arch, split, i, req.seed, tables) for i in range(count)]
            all_machines += machines
            rows = examples(req, split, machines, index)
            atomic_write_text(tmp / f"{split}.jsonl", jsonl(rows))
            counts[split] = {i: sum(r.intent == i for r in rows) for i in req.intents}
            progress("task", n + 1, len(SPLITS), split=split, examples=len(rows))
        atomic_write_text(tmp / "machines.jsonl", jsonl(all_machines))
        atomic_write_text(tmp / "index.json", index.model_dump_json())
        write_manifest(
            tmp,
            "task_dataset",
            parameters=req.model_dump(mode="json", exclude={"out", "overwrite"}),
            metrics={"counts": counts, "held_out": HELD_OUT},
        )
    return TaskResult(path=req.out, counts=counts, held_out=HELD_OUT)


class TaskData:
    """Read side of a task dataset directory."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / "index.json").is_file() or not (self.path / "machines.jsonl").is_file():
            raise InputError(f"{self.path}: not a task dataset (no index.json / machines.jsonl)")

    def examples(self, split: str) -> list[TaskExample]:
        f = self.path / f"{split}.jsonl"
        if not f.is_file():
            raise InputError(f"{f}: missing split file")
        return [
            TaskExample.model_validate_json(line)
            for line in f.read_text(encoding="utf-8").splitlines()
            if line
        ]

    def machines(self) -> dict[str, Machine]:
        lines = (self.path / "machines.jsonl").read_text(encoding="utf-8").splitlines()
        return {m.id: m for m in (Machine.model_validate_json(line) for line in lines if line)}

    def index(self) -> KnowledgeIndex:
        return KnowledgeIndex.model_validate(
            json.loads((self.path / "index.json").read_text(encoding="utf-8"))
        )
