"""Integrator: embeds the exported GGUF and the knowledge tables of the data stage (the plan's
arch and tier, tools.kb) into the AUTON kernel, boots it under QEMU with the arch's default
device set, types the demo request (a held-out request of the task data) and the console's
``devices`` and ``memory`` commands, then scores the console task end to end
(tools.kernel_task): held-out requests typed on the booted kernel, their commands and answers
checked against the inventory the kernel itself discovered. That score is success criterion 7.

The kernel image goes to SLM/runs/<thread>/kernel/<arch>/ (per run, so concurrent runs and replays
never share a build directory), with boot.json (the BootResult) beside boot.log and the task
score in console/ (result.json, transcript.txt, the boot logs).
"""

from __future__ import annotations

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
from agents.tune import TuneArtifacts, budget
from tools.artifacts import atomic_write_json
from tools.kb.build import kb_tier, tier_kb
from tools.kernel import BootResult, KernelBootRequest, KernelBuildRequest, boot, build
from tools.kernel_console import MemoryFacts
from tools.kernel_task import CONSOLE_SMP, ConsoleTaskRequest, score_console
from tools.review.boot import CONSOLE
from tools.task.build import TaskData
from tools.verdict import Stage

CANDIDATES = 5
MAX_ANSWER_TOKENS = 48
COMMANDS = ["devices", "memory"]  # typed after the request: what the demo machine has and holds
BOOT_JSON = "boot.json"
MB = 1 << 20


class IntegrateArtifacts(Artifacts):
    stage: ClassVar[Stage] = "integrate"
    image: Path = Field(description="the kernel image with the model linked in")
    boot: Path = Field(description="boot.json: the BootResult of the QEMU run")
    boot_log: Path = Field(description="the serial console transcript")
    console: Path = Field(description="console/result.json: the end-to-end task score (tools.kernel_task)")


class IntegrateDecision(BaseModel):
    ram_mb: int = Field(description="RAM QEMU gives the kernel, MiB")
    prompt: str = Field(description="the demo request typed on the serial console")
    requests: int = Field(description="held-out requests typed for the end-to-end score")


def candidates(task: Path) -> list[str]:
    """The first held-out requests of the task data that run a command (not refusals)."""
    return [e.request for e in TaskData(task).examples("test") if e.intent != "none"][:CANDIDATES]


def min_ram_mb(inp: StageInput) -> int:
    """The runtime's estimate, plus room for the kernel image and the tier's knowledge tables."""
    need = inp.upstream["export"].metrics.get("ram_estimate") or 0
    tables = tier_kb(kb_tier(inp.plan.tier)).budget_bytes
    return max(16, -(-int(need) // MB) + 8 + tables // MB)


def offline_decision(inp: StageInput, questions: list[str]) -> IntegrateDecision:
    base = IntegrateDecision(
        ram_mb=max(inp.plan.ram_mb, min_ram_mb(inp)), prompt=questions[0], requests=inp.plan.console_requests
    )
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def guard(answer: IntegrateDecision, inp: StageInput, questions: list[str]) -> str | None:
    return first_objection(
        in_range("ram_mb", answer.ram_mb, min_ram_mb(inp), max(inp.plan.ram_mb, min_ram_mb(inp))),
        None
        if answer.prompt in questions
        else f"prompt {answer.prompt[:60]!r} is not one of the candidate requests",
        in_range(
            "requests", answer.requests, min(50, inp.plan.console_requests), 4 * inp.plan.console_requests
        ),
    )


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    data = inp.artifacts(DataArtifacts)
    questions = candidates(data.task)
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
            "candidate_requests": questions,
            "console_requests": inp.plan.console_requests,
        },
        offline=lambda: want,
        guard=lambda a: guard(a, inp, questions),
        llm=ctx.llm,
    )
    d = decided.value
    out = ctx.workspace.runs / inp.thread_id / "kernel" / inp.plan.arch.value
    built = build(
        KernelBuildRequest(
            arch=inp.plan.arch, model=inp.artifacts(ExportArtifacts).gguf, kb=data.kb, out=out
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
            smp=CONSOLE_SMP,
        ),
        ctx.progress,
    )
    atomic_write_json(out / BOOT_JSON, result)
    answer = result.answers[0] if result.answers else None
    memory = next((c.result for c in result.commands if isinstance(c.result, MemoryFacts)), None)
    console = score_console(
        ConsoleTaskRequest(
            arch=inp.plan.arch, image=built.image, task=data.task, n=d.requests, seed=inp.plan.seed,
            ram_mb=d.ram_mb, out=out / CONSOLE,
        ),
        ctx.progress,
    )  # fmt: skip
    t, f = console.template, console.freeform
    record = StageRecord(
        stage="integrate",
        attempt=inp.attempt,
        status="ok",
        outputs=IntegrateArtifacts(
            image=built.image, boot=out / BOOT_JSON, boot_log=result.log, console=console.result
        ).outputs(),
        metrics={
            "ok": result.ok,
            "booted": result.boot is not None,
            "model_loaded": result.model is not None,
            "exit_code": result.exit_code,
            "error": result.error,
            "banner": result.model.model_dump() if result.model else None,
            "image_bytes": built.image_bytes,
            "kb_bytes": built.kb.bytes if built.kb else None,
            "devices_found": result.inventory.devices if result.inventory else None,
            "ram_total_bytes": memory.total if memory else None,
            "ram_used_bytes": memory.total - memory.free if memory else None,
            "prompt": d.prompt,
            "command": answer.command if answer else None,
            "answer": answer.answer if answer else None,
            "console_ok": console.boots_ok,
            "console_error": console.error,
            "requests": t.examples,
            "command_exact": t.command_exact,
            "intent_accuracy": t.intent_accuracy,
            "argument_accuracy": t.argument_accuracy,
            "refusal_precision": t.refusal_precision,
            "refusal_recall": t.refusal_recall,
            "grounded_accuracy": t.grounded_accuracy,
            "freeform_requests": f.examples,
            "freeform_command_exact": f.command_exact,
            "freeform_grounded_accuracy": f.grounded_accuracy,
            "latency_median_s": console.latency_median_s,
            "latency_p90_s": console.latency_p90_s,
            "tokens_per_s": answer.tokens_per_s if answer else None,
            "ram_mb": result.ram_mb,
            "boot_s": result.seconds,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)


def review_context(inp: StageInput) -> dict[str, object]:
    """The end-to-end task score's remedies are the tuned run's (tools.review.tuned)."""
    return {"tuned": inp.artifacts(TuneArtifacts).run, "budget": budget(inp)}
