"""QA pairs: budget allocation, held-out templates, facts of test pairs trained with other phrasings."""

from __future__ import annotations

from tools.data.qa import TEMPLATES, allocate, make_qa
from tools.data.sources import Fact
from tools.dataset import qa_text


def _facts() -> list[Fact]:
    out = [Fact("pci_device", {"id": f"8086:{i:04x}"}, f"Device {i}", "pci.ids") for i in range(400)]
    out += [Fact("command", {"command": f"cmd{i}"}, f"does thing {i}", "man") for i in range(300)]
    out += [Fact("constant", {"name": f"CSR_{i}", "header": "csr.h"}, hex(i), "csr.h") for i in range(20)]
    out.append(Fact("command", {"command": "cmd1"}, "does thing 1", "man"))  # a repeated fact counts once
    return out


def test_allocate_water_fills() -> None:
    assert allocate({"a": 100, "b": 10_000, "c": 10_000}, {"a": 2, "b": 1, "c": 1}, 1000) == {
        "a": 100,
        "b": 450,
        "c": 450,
    }
    assert allocate({"a": 100, "b": 50}, {"a": 1, "b": 1}, 1000) == {"a": 100, "b": 50}
    assert allocate({"a": 100, "b": 50}, {"a": 1, "b": 0}, 1000) == {"a": 100, "b": 0}


def test_templates_split_into_train_and_heldout() -> None:
    for kind, templates in TEMPLATES.items():
        train = [t for t in templates if not t.heldout]
        held = [t for t in templates if t.heldout]
        assert len(train) >= 3 and len(held) >= 2, kind
        assert not {t.text for t in train} & {t.text for t in held}
        assert len({t.id for t in templates}) == len(templates)


def test_make_qa_budget_and_held_out_phrasing() -> None:
    budget = 60_000
    qa = make_qa(_facts(), arch="riscv64", budget_bytes=budget, eval_per_kind=20, seed=0)
    spent = sum(len(qa_text(p.question, p.answer)) for p in qa.train)
    assert 0.9 * budget <= spent <= budget
    assert qa.facts["constant"] == 20  # small kinds are taken whole, the rest share what is left
    train_templates = {p.template for p in qa.train}
    assert all(t.endswith((".t1", ".t2", ".t3")) for t in train_templates)
    for split in (qa.val, qa.test):
        assert split and all(p.template.split(".")[1].startswith("h") for p in split)
    trained = {(p.kind, p.answer) for p in qa.train}
    assert all((p.kind, p.answer) in trained for p in qa.test + qa.val)
    assert not {(p.kind, p.answer) for p in qa.test} & {(p.kind, p.answer) for p in qa.val}
    per_kind = {k: sum(p.kind == k for p in qa.test) for k in qa.facts}
    assert per_kind == {k: min(20, n // 5) for k, n in qa.facts.items()}
    assert per_kind["constant"] == 4
    assert len({p.question for p in qa.train if p.kind == "command"}) == 3 * qa.facts["command"]
    design = qa.design()
    assert design["facts_in_train"] is True and design["heldout_disjoint"] is True


def test_make_qa_is_deterministic_and_seeded() -> None:
    a = make_qa(_facts(), arch="x86_64", budget_bytes=30_000, eval_per_kind=10, seed=0)
    b = make_qa(_facts(), arch="x86_64", budget_bytes=30_000, eval_per_kind=10, seed=0)
    c = make_qa(_facts(), arch="x86_64", budget_bytes=30_000, eval_per_kind=10, seed=1)
    assert a == b
    assert {p.question for p in a.test} != {p.question for p in c.test}
    assert a.facts["pci_device"] > a.facts.get("command", 0)  # x86_64 weights PCI devices up
