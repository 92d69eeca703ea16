"""Scores of the console task over exchanges, wherever they ran (PyTorch on simulated machines,
the booted kernel on its own): ``score(rows) -> TaskScore``.

A row is one request with its reference command, the command the model chose, and (when the
answer was generated) the chosen command's output, the answer and the facts the reference asks
for. Scores: command exact match, intent accuracy, argument accuracy among right intents,
refusal precision and recall, grounded answers (tools.task.answers.correct: the asked facts
present, nothing absent from the output named) and per-intent exact match with confusions.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from tools.task.answers import correct, grounded
from tools.task.grammar import parse_command

SAMPLES = 10


class ScoreRow(BaseModel):
    request: str
    reference: str = Field(description="the command the request asks for")
    command: str = Field(description="the command the model chose")
    output: str | None = Field(None, description="the chosen command's output (None: no answer scored)")
    answer: str | None = None
    facts: list[str] = Field(default_factory=list, description="values the reference's answer must hold")


class IntentScore(BaseModel):
    n: int
    exact: float
    confusions: dict[str, int] = Field(description="predicted intent -> count, for the wrong ones")


class TaskScore(BaseModel):
    examples: int
    command_exact: float = Field(description="predicted command == reference, whole line")
    intent_accuracy: float
    argument_accuracy: float = Field(description="arguments right, among examples whose intent is right")
    refusal_precision: float | None
    refusal_recall: float | None
    grounded_accuracy: float | None = Field(
        description="answer holds the asked facts and names nothing absent"
    )
    grounded_rate: float | None = Field(description="answer names nothing absent from the output")
    answers_scored: int = Field(
        0, description="examples whose exchange fit the context, so their answer was scored"
    )
    per_intent: dict[str, IntentScore]
    samples: list[dict[str, str]] = Field(description="a few exchanges, for the report")


def intent(text: str) -> str:
    """The intent of a console line: a grammar intent, or ``invalid``."""
    cmd = parse_command(text)
    return cmd.intent if cmd else "invalid"


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def score(rows: list[ScoreRow], answers: bool = True) -> TaskScore:
    """The task scores of ``rows``; without ``answers`` the grounded scores are None."""
    exact = [r for r in rows if r.command == r.reference]
    intents_ok = [r for r in rows if intent(r.command) == intent(r.reference)]
    pred_none = [r for r in rows if intent(r.command) == "none"]
    gold_none = [r for r in rows if intent(r.reference) == "none"]
    scored = [r for r in rows if r.answer is not None and r.output is not None]
    per: dict[str, IntentScore] = {}
    for name in sorted({intent(r.reference) for r in rows}):
        mine = [r for r in rows if intent(r.reference) == name]
        per[name] = IntentScore(
            n=len(mine),
            exact=sum(r.command == r.reference for r in mine) / len(mine),
            confusions=dict(Counter(intent(r.command) for r in mine if intent(r.command) != name)),
        )
    return TaskScore(
        examples=len(rows),
        command_exact=len(exact) / max(len(rows), 1),
        intent_accuracy=len(intents_ok) / max(len(rows), 1),
        argument_accuracy=sum(r.command == r.reference for r in intents_ok) / max(len(intents_ok), 1),
        refusal_precision=_ratio(sum(intent(r.reference) == "none" for r in pred_none), len(pred_none)),
        refusal_recall=_ratio(sum(intent(r.command) == "none" for r in gold_none), len(gold_none)),
        grounded_accuracy=_ratio(sum(correct(r.answer, r.output, r.facts) for r in scored), len(scored))
        if answers
        else None,
        grounded_rate=_ratio(sum(grounded(r.answer, r.output) for r in scored), len(scored))
        if answers
        else None,
        answers_scored=len(scored),
        per_intent=per,
        samples=[r.model_dump(exclude={"facts"}, exclude_none=True) for r in rows[:SAMPLES]],
    )
