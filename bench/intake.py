"""Intake accuracy: how well goal sentences written the way users write them become plans.

tests/goals/goals.jsonl holds the goal set: terse and chatty goals, hardware and use-case words,
budgets in time, money and tokens, typos and mixed case, GPU cards, non-goals and contradictions,
each with the plan it should get (or ``"question"``: intake must ask back). A fixed third of it
(``"split": "heldout"``) is held out of any tuning of the rules. For each ``--llm`` the bench reads
every goal through agents.intake (the LLM under the guards for ``local``/``openai``) and reports,
on the held-out third and on all goals: accuracy per plan field (tier, arch, quantization,
tokenizer, budget = run minutes, training minutes, dollars and fixed steps together, device), the
share of non-goals and contradictions that got a question back, the goals that should have got a
plan but were refused, and how often the LLM's reading was used or overruled ("fallback").

    .venv/bin/python bench/intake.py --llm offline --llm local
    .venv/bin/python bench/intake.py --llm offline --misses --split tune   # tuning: never the held-out third

Prints a table and writes bench/results/intake.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402

from agents.decide import LLM  # noqa: E402

GOALS = REPO / "tests" / "goals" / "goals.jsonl"
RESULTS = REPO / "bench" / "results"
FIELDS = ("tier", "arch", "quant_type", "tokenizer", "budget", "device")
BUDGET_KEYS = ("budget_minutes", "train_minutes", "budget_usd", "max_steps")
Split = Literal["tune", "heldout"]


class GoalCase(BaseModel):
    id: int
    split: Split
    # terse, chatty, hardware, use-case, budget, gpu, typo, non-goal, contradiction
    kind: str
    goal: str
    expect: dict[str, Any] | Literal["question"]

    @property
    def asks(self) -> bool:
        return self.expect == "question"


class Outcome(BaseModel):
    id: int
    goal: str
    got: dict[str, Any] | None = None  # the plan's fields, None when intake asked back
    question: str | None = None
    right: dict[str, bool]  # per field (plan goals), or {"refused": ...} (question goals)
    source: str | None = None  # the decision's source: offline, llm or fallback


def load_goals(path: Path = GOALS) -> list[GoalCase]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [GoalCase.model_validate({**r, "kind": r.pop("class")}) for r in rows]


def plan_fields(plan: BaseModel) -> dict[str, Any]:
    p = plan.model_dump(mode="json")
    return {
        **{k: p[k] for k in FIELDS if k != "budget"},
        "budget": {k: p[k] for k in BUDGET_KEYS},
    }


def score(case: GoalCase, llm: LLM | None) -> Outcome:
    from agents.goal import Question
    from agents.intake import intake

    try:
        got = intake(case.goal, llm)
    except Question as q:
        right = {"refused": True} if case.asks else {f: False for f in FIELDS}
        return Outcome(id=case.id, goal=case.goal, question=str(q), right=right)
    fields = plan_fields(got.plan)
    if case.asks:
        right = {"refused": False}
    else:
        assert isinstance(case.expect, dict)
        right = {f: fields[f] == case.expect[f] for f in FIELDS}
    return Outcome(id=case.id, goal=case.goal, got=fields, right=right, source=got.decision.source)


def summarize(cases: list[GoalCase], outcomes: list[Outcome]) -> dict[str, Any]:
    """Accuracy per field over the plan goals, refusal rates over the question goals."""
    by_id = {c.id: c for c in cases}
    plans = [o for o in outcomes if not by_id[o.id].asks]
    asks = [o for o in outcomes if by_id[o.id].asks]

    def share(xs: Iterable[bool]) -> float | None:
        xs = list(xs)
        return round(sum(xs) / len(xs), 4) if xs else None

    def refused(kind: str) -> float | None:
        return share(o.right["refused"] for o in asks if by_id[o.id].kind == kind)

    sources = [o.source for o in outcomes if o.source]
    return {
        "goals": len(outcomes),
        "plan_goals": len(plans),
        **{f: share(o.right[f] for o in plans) for f in FIELDS},
        "tier_and_arch": share(o.right["tier"] and o.right["arch"] for o in plans),
        "all_fields": share(all(o.right.values()) for o in plans),
        "non_goals_refused": refused("non-goal"),
        "contradictions_refused": refused("contradiction"),
        "plan_goals_refused": sum(1 for o in plans if o.question is not None),
        "decisions": {s: sources.count(s) for s in sorted(set(sources))},
    }


def run_bench(name: str, cases: list[GoalCase]) -> tuple[list[Outcome], float]:
    from agents.decide import connect
    from tools.progress import rich_progress

    llm, warnings = connect(name, strict=True)  # type: ignore[arg-type]
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    t0 = time.perf_counter()
    outcomes = []
    with rich_progress(transient=True) as progress:
        for i, case in enumerate(cases):
            outcomes.append(score(case, llm))
            progress(f"intake --llm {name}", i + 1, len(cases))
    return outcomes, time.perf_counter() - t0


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    cols = (*FIELDS, "tier_and_arch", "all_fields", "non_goals_refused", "contradictions_refused")
    heads = ("tier", "arch", "quant", "tok", "budget", "device", "tier+arch", "all", "non-goal", "contra")
    lines = [
        f"{'llm':<9}{'split':<9}{'n':>5}" + "".join(f"{h:>10}" for h in heads) + f"{'refused':>9}  decisions"
    ]
    for name, splits in results.items():
        for split, s in splits.items():
            cells = "".join(f"{s[c]:>10.1%}" if s[c] is not None else f"{'-':>10}" for c in cols)
            dec = ", ".join(f"{k} {v}" for k, v in s["decisions"].items())
            lines.append(f"{name:<9}{split:<9}{s['goals']:>5}{cells}{s['plan_goals_refused']:>9}  {dec}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llm", action="append", choices=["offline", "local", "openai"], help="repeatable")
    ap.add_argument("--goals", type=Path, default=GOALS)
    ap.add_argument("--split", choices=["all", "heldout", "tune"], default="all", help="goals to run")
    ap.add_argument("--misses", action="store_true", help="print every goal read wrong")
    ap.add_argument("--out", type=Path, default=RESULTS / "intake.json")
    args = ap.parse_args()
    cases = [c for c in load_goals(args.goals) if args.split == "all" or c.split == args.split]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    doc: dict[str, Any] = {"goals": str(args.goals.relative_to(REPO)), "llm": {}}
    for name in args.llm or ["offline"]:
        outcomes, wall = run_bench(name, cases)
        heldout = {c.id for c in cases if c.split == "heldout"}
        results[name] = {"heldout": summarize(cases, [o for o in outcomes if o.id in heldout])}
        if args.split != "heldout":
            results[name]["all" if args.split == "all" else "tune"] = summarize(cases, outcomes)
        if args.split == "tune":
            del results[name]["heldout"]
        doc["llm"][name] = {
            "wall_s": round(wall, 1),
            "summary": results[name],
            "outcomes": [o.model_dump() for o in outcomes],
        }
        if args.misses:
            for o in outcomes:
                if not all(o.right.values()):
                    print(f"miss {o.id}: {o.goal!r} -> {o.question or o.got}", file=sys.stderr)
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")


if __name__ == "__main__":
    main()
