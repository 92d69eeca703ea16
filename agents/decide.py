"""One decision of one agent: ask the LLM (if any), validate and guard its answer, else fall back.

The trust rule (docs/pipeline.md, Decisions): LLM output is parsed into a pydantic model and checked by a
deterministic guard; when the call fails, the text is not valid JSON, the model rejects it, or
the guard objects, the offline policy decides and the decision record says ``fallback`` with the
reason. LLM output is data, never code. With ``strict`` an endpoint failure stops the run instead
(invalid output still falls back: that is the model's mistake, not the endpoint's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from agents.models import CostEntry, DecisionRecord, StageOutcome, StageRecord
from agents.prompts import render
from agents.providers import Provider, ProviderError, ProviderName, cost_usd, make_provider
from tools.errors import InputError

T = TypeVar("T", bound=BaseModel)
FENCE_RX = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class LLM:
    """The run's LLM: a provider and whether its failures stop the run."""

    provider: Provider
    strict: bool = False


def connect(name: ProviderName, strict: bool = False) -> tuple[LLM | None, list[str]]:
    """The run's LLM for ``--llm NAME``, checked once: an unusable endpoint falls back to the
    offline policy with a warning, or with ``strict`` stops with a one-line InputError."""
    provider = make_provider(name)
    if provider is None:
        return None, []
    try:
        provider.check()
    except ProviderError as e:
        if strict:
            raise InputError(f"--llm {name}: {e}") from None
        return None, [f"--llm {name}: {e}; falling back to the offline policy"]
    return LLM(provider, strict=strict), []


@dataclass(frozen=True)
class Decided(Generic[T]):
    value: T
    record: DecisionRecord
    cost: CostEntry | None


def parse_answer(text: str, schema: type[T]) -> T:
    """Parse the model's text into ``schema``; raises ValueError with a short reason."""
    m = FENCE_RX.match(text)
    body = m.group(1) if m else text.strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg} at char {e.pos})") from None
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "answer"
        raise ValueError(f"{where}: {err['msg']}") from None


def decide(
    agent: str,
    stage: str,
    attempt: int,
    schema: type[T],
    context: dict[str, Any],
    offline: Callable[[], T],
    guard: Callable[[T], str | None],
    llm: LLM | None,
) -> Decided[T]:
    """Make one decision; see the module docstring for who decides when."""

    def record(
        source: str, value: BaseModel, reason: str, proposed: BaseModel | None = None
    ) -> DecisionRecord:
        return DecisionRecord(
            agent=agent,
            stage=stage,
            attempt=attempt,
            source=source,  # type: ignore[arg-type]
            choice=value.model_dump(mode="json"),
            reason=reason,
            proposed=proposed.model_dump(mode="json") if proposed is not None else None,
        )

    if llm is None:
        value = offline()
        return Decided(value, record("offline", value, "offline policy"), None)

    system, user = render(agent, context, schema)
    provider = llm.provider
    try:
        reply = provider.complete_json(system, user, schema.model_json_schema())
    except ProviderError as e:
        if llm.strict:
            raise InputError(f"{agent}: LLM call failed: {e}") from None
        value = offline()
        return Decided(value, record("fallback", value, f"LLM call failed: {e}"), None)

    cost = CostEntry(
        agent=agent,
        provider=provider.name,
        model=provider.model,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        usd=cost_usd(provider.model, reply.prompt_tokens, reply.completion_tokens),
    )
    try:
        proposed = parse_answer(reply.text, schema)
    except ValueError as e:
        value = offline()
        return Decided(value, record("fallback", value, f"invalid LLM output: {e}"), cost)
    objection = guard(proposed)
    if objection:
        value = offline()
        return Decided(
            value, record("fallback", value, f"guard rejected LLM answer: {objection}", proposed), cost
        )
    return Decided(proposed, record("llm", proposed, "LLM answer passed the guards"), cost)


def outcome(record: StageRecord, *decided: Decided, warnings: list[str] | None = None) -> StageOutcome:
    """A stage's outcome: its record with the decisions that shaped it, their LLM costs, and any
    warnings for the user."""
    return StageOutcome(
        record=record,
        decisions=[d.record for d in decided],
        costs=[d.cost for d in decided if d.cost is not None],
        warnings=warnings or [],
    )
