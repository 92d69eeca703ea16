"""Integrator: embeds the exported GGUF and the knowledge tables of the plan's arch and tier
(tools.kb) into the AUTON kernel, boots it under QEMU with the arch's default device set, asks it
the demo question (a held-out QA question of the dataset, so there is a reference answer to
compare) and runs the console's ``devices`` and ``memory`` commands.

The kernel image goes to SLM/runs/<thread>/kernel/<arch>/ (per run, so concurrent runs and replays
never share a build directory), with boot.json (the BootResult) beside boot.log; the tables go
to SLM/runs/<thread>/kb/<arch>/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.export import ExportArtifacts
from agents.guards import first_objection, in_range
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy
from tools.artifacts import atomic_write_json
from tools.dataset import Dataset
from tools.kb.build import KbBuildRequest, kb_tier, tier_kb
from tools.kb.build import build as build_kb
from tools.kernel import BootResult, KernelBootRequest, KernelBuildRequest, boot, build
from tools.kernel_console import MemoryFacts
from tools.verdict import Stage

CANDIDATES = 5
MAX_ANSWER_TOKENS = 48
COMMANDS = ["devices", "memory"]  # typed after the question: what the demo machine has and holds
BOOT_JSON = "boot.json"
MB = 1 << 20
WORD_RX = re.compile(r"[a-z0-9]{3,}")


class IntegrateArtifacts(Artifacts):
    stage: ClassVar[Stage] = "integrate"
    image: Path = Field(description="the kernel image with the model linked in")
    boot: Path = Field(description="boot.json: the BootResult of the QEMU run")
    boot_log: Path = Field(description="the serial console transcript")


class IntegrateDecision(BaseModel):
    ram_mb: int = Field(description="RAM QEMU gives the kernel, MiB")
    prompt: str = Field(description="the question asked on the serial console")


def candidates(dataset: str) -> list[tuple[str, str]]:
    """(question, reference answer) of the first held-out QA pairs."""
    return [(p.question, p.answer) for p in Dataset(dataset).qa("test")[:CANDIDATES]]


def min_ram_mb(inp: StageInput) -> int:
    """The runtime's estimate, plus room for the kernel image and the tier's knowledge tables."""
    need = inp.upstream["export"].metrics.get("ram_estimate") or 0
    tables = tier_kb(kb_tier(inp.plan.tier)).budget_bytes
    return max(16, -(-int(need) // MB) + 8 + tables // MB)


def offline_decision(inp: StageInput, questions: list[str]) -> IntegrateDecision:
    base = IntegrateDecision(ram_mb=max(inp.plan.ram_mb, min_ram_mb(inp)), prompt=questions[0])
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: IntegrateDecision, inp: StageInput, questions: list[str]) -> str | None:
    return first_objection(
        in_range("ram_mb", answer.ram_mb, min_ram_mb(inp), max(inp.plan.ram_mb, min_ram_mb(inp))),
        None
        if answer.prompt in questions
        else f"prompt {answer.prompt[:60]!r} is not one of the candidate questions",
    )


def relevance(answer: str, reference: str) -> tuple[bool, str]:
    """Criterion 7 made checkable: the answer is printable text with words, and shares a word
    (3+ letters) with the held-out reference answer."""
    words = set(WORD_RX.findall(answer.lower()))
    shared = words & set(WORD_RX.findall(reference.lower()))
    printable = bool(answer.strip()) and answer.isprintable()
    ok = printable and bool(words) and bool(shared)
    return ok, f"reference {reference!r}; shared words: {', '.join(sorted(shared)) or 'none'}"


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    dataset = str(inp.artifacts(DataArtifacts).dataset)
    pairs = candidates(dataset)
    questions = [q for q, _ in pairs]
    want = offline_decision(inp, questions)
    decided = decide(
        "integrator",
        stage="integrate",
        attempt=inp.attempt,
        schema=IntegrateDecision,
        context={
            "arch": inp.plan.arch.value,
            "tier": inp.plan.tier,
            "tier_ram_mb": inp.plan.ram_mb,
            "model_ram_mb": min_ram_mb(inp),
            "candidate_questions": questions,
        },
        offline=lambda: want,
        guard=lambda a: guard(a, inp, questions),
        llm=ctx.llm,
    )
    d = decided.value
    out = ctx.workspace.runs / inp.thread_id / "kernel" / inp.plan.arch.value
    kb = build_kb(
        KbBuildRequest(
            arch=inp.plan.arch, tier=kb_tier(inp.plan.tier), out=out.parent.parent / "kb" / out.name
        ),
        ctx.progress,
    )
    built = build(
        KernelBuildRequest(
            arch=inp.plan.arch, model=inp.artifacts(ExportArtifacts).gguf, kb=kb.blob, out=out
        ),
        ctx.progress,
    )
    result: BootResult = boot(
        KernelBootRequest(
            arch=inp.plan.arch,
            image=built.image,
            prompts=[d.prompt, *COMMANDS],
            ram_mb=d.ram_mb,
            max_tokens=MAX_ANSWER_TOKENS,
        ),
        ctx.progress,
    )
    atomic_write_json(out / BOOT_JSON, result)
    answer = result.answers[0] if result.answers else None
    memory = next((c.result for c in result.commands if isinstance(c.result, MemoryFacts)), None)
    reference = dict(pairs)[d.prompt]
    ok, check = relevance(answer.text, reference) if answer else (False, "no answer")
    record = StageRecord(
        stage="integrate",
        attempt=inp.attempt,
        status="ok",
        outputs=IntegrateArtifacts(image=built.image, boot=out / BOOT_JSON, boot_log=result.log).outputs(),
        metrics={
            "ok": result.ok,
            "booted": result.boot is not None,
            "model_loaded": result.model is not None,
            "exit_code": result.exit_code,
            "error": result.error,
            "banner": result.model.model_dump() if result.model else None,
            "image_bytes": built.image_bytes,
            "kb_bytes": kb.bytes,
            "kb_tier": kb.tier.value,
            "kb_tables": {t.name: t.lines for t in kb.tables},
            "devices_found": result.inventory.devices if result.inventory else None,
            "ram_total_bytes": memory.total if memory else None,
            "ram_used_bytes": memory.total - memory.free if memory else None,
            "prompt": d.prompt,
            "answer": answer.text if answer else None,
            "answer_ok": ok,
            "answer_check": check,
            "tokens_per_s": answer.tokens_per_s if answer else None,
            "ram_mb": result.ram_mb,
            "boot_s": result.seconds,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)
