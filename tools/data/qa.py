"""Question/answer pairs for the kernel's interface, from the facts of structured sources.

Every kind of fact has phrasing templates in two disjoint groups: *train* templates, whose
pairs go into train.bin, and *held-out* templates, used only for qa/val.jsonl and qa/test.jsonl.
Every selected fact gets one training pair per train template; the val/test pairs ask about
facts that were selected for training, with a held-out phrasing. So the facts asked at test
time were all seen in training (also, mostly, in the raw source text), and task accuracy
measures whether the model generalises to a new phrasing rather than whether it memorised an
unseen fact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel

from tools.data.sources import Fact
from tools.data.splits import unit_hash
from tools.dataset import QAPair, qa_text


@dataclass(frozen=True)
class Template:
    id: str
    text: str
    heldout: bool


def _templates(kind: str, train: list[str], heldout: list[str]) -> list[Template]:
    return [Template(f"{kind}.t{i}", t, False) for i, t in enumerate(train, 1)] + [
        Template(f"{kind}.h{i}", t, True) for i, t in enumerate(heldout, 1)
    ]


def _id_templates(bus: str) -> dict[str, list[Template]]:
    k = bus.lower()
    return {
        f"{k}_device": _templates(
            f"{k}_device",
            [
                f"What is {bus} device {{id}}?",
                f"Which device has the {bus} ID {{id}}?",
                f"Name the {bus} device {{id}}.",
            ],
            [
                f"Identify the {bus} device with vendor:device ID {{id}}.",
                f"What hardware is {bus} ID {{id}}?",
            ],
        ),
        f"{k}_vendor": _templates(
            f"{k}_vendor",
            [
                f"Which vendor has {bus} vendor ID {{id}}?",
                f"Who is {bus} vendor {{id}}?",
                f"Name the {bus} vendor {{id}}.",
            ],
            [
                f"What company does {bus} vendor ID {{id}} belong to?",
                f"{bus} vendor {{id}} is which manufacturer?",
            ],
        ),
        f"{k}_class": _templates(
            f"{k}_class",
            [
                f"What is {bus} device class {{id}}?",
                f"Name the {bus} class {{id}}.",
                f"What does {bus} class code {{id}} mean?",
            ],
            [f"Which kind of device has {bus} class {{id}}?", f"{bus} class {{id}} stands for what?"],
        ),
    }


TEMPLATES: dict[str, list[Template]] = {
    **_id_templates("PCI"),
    **_id_templates("USB"),
    "package": _templates(
        "package",
        [
            "What is the Debian package {package}?",
            "Describe the package {package}.",
            "What does the {package} package contain?",
        ],
        [
            "Give the one-line description of the Debian package {package}.",
            "What is {package} (Debian package)?",
        ],
    ),
    "command_package": _templates(
        "command_package",
        [
            "Which package provides the command {command}?",
            "Which Debian package ships {command}?",
            "What package do I install to get {command}?",
        ],
        [
            "The command {command} comes from which package?",
            "Install which package for the {command} command?",
        ],
    ),
    "command": _templates(
        "command",
        [
            "What does the command {command} do?",
            "What is {command} used for?",
            "Describe the {command} command.",
        ],
        ["Explain briefly what {command} does.", "What is the purpose of the {command} command?"],
    ),
    "constant": _templates(
        "constant",
        [
            "What is the value of {name}?",
            "What is {name} defined as in {header}?",
            "Give the value of the constant {name}.",
        ],
        ["Which value does {name} have?", "In {header}, what does {name} expand to?"],
    ),
}

# share of the QA byte budget per kind of fact, by target arch (the arch's focus, docs/pipeline.md)
KIND_WEIGHTS: dict[str, dict[str, float]] = {
    "riscv64": {
        "constant": 4,
        "command": 3,
        "package": 2,
        "command_package": 2,
        "pci_device": 1,
        "usb_device": 1,
    },
    "aarch64": {
        "constant": 3,
        "command": 3,
        "package": 2,
        "command_package": 2,
        "usb_device": 1,
        "pci_device": 1,
    },
    "x86_64": {
        "pci_device": 4,
        "pci_vendor": 2,
        "constant": 2,
        "command": 2,
        "package": 2,
        "command_package": 2,
    },
}
_DEFAULT_KIND_WEIGHT = 0.5


class QASet(BaseModel):
    train: list[QAPair]
    val: list[QAPair]
    test: list[QAPair]
    facts: dict[str, int]  # facts selected for training, per kind

    def design(self) -> dict[str, object]:
        """What meta.json records about how the pairs were made."""
        used = {s: sorted({p.template for p in getattr(self, s)}) for s in ("train", "val", "test")}
        return {
            "facts_in_train": True,
            "train_pairs_per_fact": "one per train template",
            "templates": used,
            "heldout_disjoint": not (set(used["train"]) & (set(used["val"]) | set(used["test"]))),
            "facts_per_kind": self.facts,
            "note": "val/test ask about facts trained with other phrasings; held-out templates never occur in train.bin",
        }


def allocate(sizes: dict[str, int], weights: dict[str, float], budget: int) -> dict[str, int]:
    """Split ``budget`` by weight, giving what a small item cannot use to the others (water filling)."""
    share = {k: 0 for k in sizes}
    active = {k for k, n in sizes.items() if n > 0 and weights.get(k, 0) > 0}
    left = budget
    while active and left > 0:
        total = sum(weights[k] for k in active)
        full = {k for k in active if sizes[k] - share[k] <= left * weights[k] / total}
        if not full:
            for k in active:
                share[k] += int(left * weights[k] / total)
            break
        for k in full:
            left -= sizes[k] - share[k]
            share[k] = sizes[k]
        active -= full
    return share


def _pair(fact: Fact, template: Template) -> QAPair:
    return QAPair(
        question=template.text.format(**fact.fields),
        answer=fact.answer,
        kind=fact.kind,
        template=template.id,
        source=fact.origin,
    )


def _fact_key(fact: Fact) -> str:
    return fact.kind + "|" + "|".join(f"{k}={v}" for k, v in sorted(fact.fields.items()))


def make_qa(facts: list[Fact], *, arch: str, budget_bytes: int, eval_per_kind: int, seed: int) -> QASet:
    """Select facts within ``budget_bytes`` of training pairs and phrase them into the three splits."""
    by_kind: dict[str, dict[str, Fact]] = defaultdict(dict)
    for f in facts:
        if f.kind in TEMPLATES and f.answer.strip():
            by_kind[f.kind].setdefault(_fact_key(f), f)
    ordered = {
        k: sorted(v.values(), key=lambda f: unit_hash(_fact_key(f), seed, "qa")) for k, v in by_kind.items()
    }
    train_templates = {k: [t for t in TEMPLATES[k] if not t.heldout] for k in ordered}
    costs = {
        k: [
            sum(len(qa_text(p.question, p.answer)) for p in (_pair(f, t) for t in train_templates[k]))
            for f in fs
        ]
        for k, fs in ordered.items()
    }
    weights = {k: KIND_WEIGHTS.get(arch, {}).get(k, _DEFAULT_KIND_WEIGHT) for k in ordered}
    shares = allocate({k: sum(c) for k, c in costs.items()}, weights, budget_bytes)
    out = QASet(train=[], val=[], test=[], facts={})
    for kind, fs in sorted(ordered.items()):
        chosen: list[Fact] = []
        spent = 0
        for f, cost in zip(fs, costs[kind], strict=True):
            if spent + cost > shares[kind]:
                break
            chosen.append(f)
            spent += cost
        if not chosen:
            continue
        out.facts[kind] = len(chosen)
        out.train += [_pair(f, t) for f in chosen for t in train_templates[kind]]
        heldout = [t for t in TEMPLATES[kind] if t.heldout]
        n_eval = min(eval_per_kind, len(chosen) // 5)
        evaluated = sorted(chosen, key=lambda f: unit_hash(_fact_key(f), seed, "qa-eval"))
        for split, group in (("test", evaluated[:n_eval]), ("val", evaluated[n_eval : n_eval + n_eval // 2])):
            for f in group:
                template = heldout[int(unit_hash(_fact_key(f), seed, "qa-template") * len(heldout))]
                getattr(out, split).append(_pair(f, template))
    return out
