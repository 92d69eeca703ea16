"""The data stage (DataScientist): decides the corpus budget and tokenizer, then runs
tools.data.prepare. Hands on the dataset directory; a run that found too little text prepares
again with twice the corpus budget."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord, TokenizerChoice
from agents.policy import apply_remedy, rerun
from tools.artifacts import MANIFEST
from tools.data.prepare import PrepareRequest, prepare
from tools.dataset import Dataset
from tools.verdict import Remedy, Stage

MIN_BYTES = 256 << 10
MAX_BYTES = 1 << 30


class DataArtifacts(Artifacts):
    stage: ClassVar[Stage] = "data"
    dataset: Path = Field(description="the prepared dataset directory (tools.dataset)")


class DataDecision(BaseModel):
    tokenizer: TokenizerChoice
    vocab_size: int = Field(description="tokenizer vocabulary size, special tokens included")
    max_bytes: int | None = Field(description="cap on cleaned corpus bytes; null for the whole corpus")


def offline_decision(inp: StageInput) -> DataDecision:
    plan = inp.plan
    base = DataDecision(tokenizer=plan.tokenizer, vocab_size=plan.vocab_size, max_bytes=plan.data_max_bytes)
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: DataDecision, want: DataDecision) -> str | None:
    return first_objection(
        None
        if answer.tokenizer == want.tokenizer
        else f"tokenizer {answer.tokenizer} is not the plan's {want.tokenizer}",
        None
        if answer.vocab_size == want.vocab_size
        else f"vocab_size {answer.vocab_size} is not the plan's {want.vocab_size}",
        in_range("max_bytes", answer.max_bytes, MIN_BYTES, MAX_BYTES),
    )


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    want = offline_decision(inp)
    decided = decide(
        "data_scientist",
        stage="data",
        attempt=inp.attempt,
        schema=DataDecision,
        context={"plan": inp.plan.model_dump(mode="json"), "remedy": inp.remedy and inp.remedy.model_dump()},
        offline=lambda: want,
        guard=lambda a: guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    params = {
        "arch": inp.plan.arch.value,
        "tokenizer": d.tokenizer,
        "vocab_size": d.vocab_size,
        "max_bytes": d.max_bytes,
        "seed": inp.plan.seed,
    }
    # named by its request only: every run that asks for the same corpus shares it (a second
    # run preparing it at the same moment fails its attempt, and the retry finds it ready)
    out = ctx.workspace.datasets / f"{inp.plan.arch.value}-{d.tokenizer}{d.vocab_size}-{request_key(params)}"
    reused = (out / MANIFEST).is_file()
    if not reused:
        prepare(PrepareRequest.build(out=Path(out), **params), ctx.progress)
    meta = Dataset(out).meta
    metrics = {
        "train_tokens": meta.splits["train"].tokens,
        "val_tokens": meta.splits["val"].tokens,
        "test_tokens": meta.splits["test"].tokens,
        "vocab_size": meta.vocab_size,
        "qa_pairs": meta.qa,
        "reused": reused,
    }
    record = StageRecord(
        stage="data",
        attempt=inp.attempt,
        status="ok",
        outputs=DataArtifacts(dataset=out).outputs(),
        metrics=metrics,
        params=params,
    )
    return outcome(record, decided)


def on_failure(record: StageRecord, inp: StageInput) -> Remedy:
    """A prepare that failed (too little text after cleaning) tries twice the corpus budget."""
    max_bytes = record.params.get("max_bytes", inp.plan.data_max_bytes)
    if max_bytes is None:
        return rerun(record)
    return Remedy(
        stage="data",
        action="more_data",
        params={"max_bytes": 2 * max_bytes},
        text=f"prepare again with twice the corpus budget ({2 * max_bytes} bytes)",
    )
