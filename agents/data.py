"""The data stage (DataScientist): decides the corpus budget, the tokenizer and the task data's
size, then runs tools.data.prepare (the pretraining corpus), tools.kb.build (the knowledge tables
the kernel will carry) and tools.task.build (request -> command -> answer examples whose outputs
are those tables' and whose machines are the plan's arch). Hands on the three directories; a run
that found too little text prepares again with twice the corpus budget."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord, TokenizerChoice
from agents.policy import apply_remedy, rerun
from tools.artifacts import MANIFEST, read_manifest
from tools.data.prepare import PrepareRequest, prepare
from tools.dataset import Dataset
from tools.kb.build import BLOB, KbBuildRequest, kb_tier
from tools.kb.build import build as build_kb
from tools.kb.build import is_current as kb_is_current
from tools.task.build import TaskRequest, build_task, generator_sha256
from tools.task.filler import filler_sha256
from tools.task.requests import phrasing_words
from tools.verdict import Remedy, Stage

MIN_BYTES = 256 << 10
MAX_BYTES = 1 << 30
MIN_TASK = 500
HELD_OUT_SHARE = 20  # val and test get a twentieth of the train examples each (at least 40)


class DataArtifacts(Artifacts):
    stage: ClassVar[Stage] = "data"
    dataset: Path = Field(description="the prepared dataset directory (tools.dataset)")
    kb: Path = Field(description="the knowledge blob of the plan's arch and tier (tools.kb)")
    task: Path = Field(description="the task dataset directory (tools.task.build)")


class DataDecision(BaseModel):
    tokenizer: TokenizerChoice
    vocab_size: int = Field(description="tokenizer vocabulary size, special tokens included")
    max_bytes: int | None = Field(description="cap on cleaned corpus bytes; null for the whole corpus")
    task_examples: int | None = Field(
        None, description="train examples of the task dataset; null: the plan's"
    )


def offline_decision(inp: StageInput) -> DataDecision:
    plan = inp.plan
    base = DataDecision(
        tokenizer=plan.tokenizer,
        vocab_size=plan.vocab_size,
        max_bytes=plan.data_max_bytes,
        task_examples=plan.task_examples,
    )
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
        in_range(
            "task_examples",
            answer.task_examples or want.task_examples,
            MIN_TASK,
            4 * (want.task_examples or 1),
        ),
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
    task_examples = d.task_examples or want.task_examples or inp.plan.task_examples
    kb, task = knowledge_and_task(inp, ctx, task_examples)
    metrics = {
        "train_tokens": meta.splits["train"].tokens,
        "val_tokens": meta.splits["val"].tokens,
        "test_tokens": meta.splits["test"].tokens,
        "vocab_size": meta.vocab_size,
        "qa_pairs": meta.qa,
        "reused": reused,
        "task_examples": task_examples,
    }
    record = StageRecord(
        stage="data",
        attempt=inp.attempt,
        status="ok",
        outputs=DataArtifacts(dataset=out, kb=kb, task=task).outputs(),
        metrics=metrics,
        params=params,
    )
    return outcome(record, decided)


def knowledge_and_task(inp: StageInput, ctx: AgentContext, train_examples: int) -> tuple[Path, Path]:
    """The knowledge blob of the plan's arch and tier, and the task dataset built on its tables:
    (blob, task directory). Both are shared by every run that asks for the same and built once;
    a kb missing a section the builder now writes, or built from other phrasings, is built
    again, and a new kb or other generator code (tools.task: phrasings, machines, outputs,
    answers) makes new task data."""
    arch, tier = inp.plan.arch, kb_tier(inp.plan.tier)
    kb_dir = ctx.workspace.datasets / "kb" / f"{arch.value}-{tier.value}"
    phrasing = phrasing_words()
    if not kb_is_current(kb_dir, phrasing):
        build_kb(KbBuildRequest(arch=arch, tier=tier, out=kb_dir, phrasing=phrasing), ctx.progress)
    held_out = max(40, train_examples // HELD_OUT_SHARE)
    counts = {"train": train_examples, "val": held_out, "test": held_out}
    blob_sha = read_manifest(kb_dir).outputs[0].sha256  # a rebuilt kb makes new task data
    key = request_key(
        {
            "arch": arch.value,
            "kb": blob_sha,
            "counts": counts,
            "seed": inp.plan.seed,
            "generator": generator_sha256(),
            "fillers": filler_sha256(),
        }
    )
    task = ctx.workspace.datasets / "task" / f"{arch.value}-{tier.value}-{key}"
    if not (task / MANIFEST).is_file():
        request = TaskRequest(
            arch=arch, out=task, seed=inp.plan.seed, counts=counts, kb=kb_dir / BLOB, overwrite=True
        )
        build_task(request, ctx.progress)
    return kb_dir / BLOB, task


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
