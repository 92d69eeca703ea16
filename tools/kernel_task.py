"""The console task scored end to end on a booted AUTON kernel, against the inventory the kernel
itself discovered: ``score_console(ConsoleTaskRequest, progress) -> ConsoleTaskResult``.

QEMU runs of the same image: the first lists the devices; the probe types ``devices``,
``device <addr>`` for each of them, ``cpu``, ``memory``, ``model`` and ``uptime`` and becomes the
live Machine (tools.task.live); the last types the requests: ``n`` drawn from the task dataset's
*test* templates and test slot values for that machine (tools.task.build.examples) and the
freeform set (tools.task.freeform), dealt round-robin to ``parallel`` kernels booted side by
side. Every boot has ``smp`` harts (one host thread each) and the kernel runs the model on all of
them, so a request's latency is what one user of a machine with that many cores sees; the
default, one kernel of 2 harts, is the 2-core host's. The two sets are scored apart (tools.task.score) against
references made for the live machine, with the answers' facts from its real inventory.
Latency is measured on the host, from sending a request line to the end of its reply.

Writes into ``out``: ``result.json``, ``transcript.txt`` (the first exchanges: request,
command, output, answer, reference) and the boot logs.
"""

from __future__ import annotations

import contextvars
import math
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from tools.artifacts import atomic_write_text
from tools.errors import InputError
from tools.kernel import BootResult, KernelBootRequest, boot, boot_command
from tools.kernel_console import Answer, DevicesResult, KbFacts, is_command
from tools.progress import ProgressFn, null_progress
from tools.task.build import TaskData, TaskRequest, examples
from tools.task.freeform import freeform_requests
from tools.task.grammar import parse_command
from tools.task.index import KnowledgeIndex
from tools.task.live import facts, machine_from_console
from tools.task.machines import Machine
from tools.task.score import ScoreRow, TaskScore, score
from tools.tiers import Arch

TRANSCRIPT_EXCHANGES = 10
PROBE = ("cpu", "memory", "model", "uptime")


CONSOLE_SMP = 2  # the harts of a console boot: the default 2-core host's cores


class ConsoleTaskRequest(BaseModel):
    arch: Arch
    image: Path = Field(description="kernel image with a chat-tuned model and the knowledge tables linked in")
    task: Path = Field(description="task dataset (auton-slm data task --kb): its test split and index.json")
    n: int = Field(
        60, ge=1, description="requests drawn from the test templates (the freeform set comes on top)"
    )
    freeform: bool = Field(True, description="also ask the freeform set")
    seed: int = 0
    ram_mb: int | None = Field(None, ge=4, description="-m; default the image's tier RAM")
    timeout_s: float = Field(900, gt=0, description="for each boot, all its lines included")
    parallel: int = Field(1, ge=1, le=16, description="kernels booted at once to type the requests")
    smp: int = Field(CONSOLE_SMP, ge=1, le=8, description="-smp of every boot: the harts the model runs on")
    out: Path = Field(description="directory for result.json, transcript.txt and the boot logs")


class Exchange(BaseModel):
    """One request typed at the booted kernel."""

    set: str = Field(description="template or freeform")
    row: ScoreRow
    text: str = Field(description="what the kernel printed for it: command, output, answer")
    seconds: float = Field(description="host seconds from sending the line to the end of its reply")


class ConsoleTaskResult(BaseModel):
    arch: Arch
    image: Path
    boots_ok: bool = Field(description="every boot ran to poweroff and every line got its reply")
    error: str | None = Field(None, description="why boots_ok is False, one line")
    machine: int = Field(0, description="devices the kernel found")
    requests: int = Field(0, description="requests typed (template and freeform)")
    template: TaskScore
    freeform: TaskScore
    latency_median_s: float | None = None
    latency_p90_s: float | None = None
    exchanges: list[Exchange] = Field(default_factory=list)
    transcript: Path
    result: Path
    logs: list[Path] = Field(default_factory=list, description="the boot logs, in order")


def _check_kb(kb: KbFacts | None, index: KnowledgeIndex) -> None:
    """The task dataset's index must be the image's own tables, or its references name commands
    and packages the kernel cannot write."""
    entries = sum(len(v) for v in index.whatis.values())
    have = (len(index.packages), len(index.commands), entries)
    want = (kb.packages, kb.commands, kb.whatis) if kb else (0, 0, 0)
    if have != want:
        raise InputError(
            f"the task dataset's index ({have[0]} packages, {have[1]} commands, {have[2]} whatis lines) is not "
            f"the image's knowledge tables ({want[0]}, {want[1]}, {want[2]}): build it with data task --kb"
        )


def _draws(req: ConsoleTaskRequest, live: Machine, index: KnowledgeIndex) -> list[tuple[str, str, str]]:
    """(set, request, reference command) for the live machine: the test templates' draws, then
    the freeform set; lines the kernel would run as commands are left out."""
    tr = TaskRequest(arch=req.arch, out=req.out, seed=req.seed, counts={"test": 4 * req.n})
    drawn = [e for e in examples(tr, "test", [live], index) if not is_command(e.request)][: req.n]
    if len(drawn) < req.n:
        raise InputError(f"only {len(drawn)} of the {req.n} test requests are not console commands")
    out = [("template", e.request, e.command) for e in drawn]
    if req.freeform:
        out += [
            ("freeform", text, cmd.text)
            for text, cmd in freeform_requests(live, index, req.seed)
            if not is_command(text)
        ]
    return out


def _row(request: str, reference: str, a: Answer, live: Machine, index: KnowledgeIndex) -> ScoreRow:
    """A scored row from the kernel's reply: the output is what it printed between the command
    line and the answer line."""
    command = a.command or ""
    output: str | None = None
    if a.answer is not None:
        output = "" if command == "none" else a.text.partition("\n")[2].split("\nauton: answer ", 1)[0] + "\n"
    ref = parse_command(reference)
    assert ref is not None, f"the reference {reference!r} is not a command"  # drawn from the grammar
    return ScoreRow(
        request=request,
        reference=reference,
        command=command,
        output=output,
        answer=a.answer,
        facts=facts(ref, live, index, output or ""),
    )


def _transcript(exchanges: list[Exchange]) -> str:
    return "\n".join(
        f"> {x.row.request}\n{x.text}\n(reference: {x.row.reference}; {x.seconds:.2f} s)\n"
        for x in exchanges[:TRANSCRIPT_EXCHANGES]
    )


def _p90(values: list[float]) -> float | None:
    """The 90th percentile, nearest rank."""
    ranked = sorted(values)
    return ranked[math.ceil(0.9 * len(ranked)) - 1] if ranked else None


def _serialized(progress: ProgressFn) -> ProgressFn:
    lock = threading.Lock()

    def report(task: str, done: float, total: float | None = None, **fields: object) -> None:
        with lock:
            progress(task, done, total, **fields)

    return report


def score_console(req: ConsoleTaskRequest, progress: ProgressFn | None = None) -> ConsoleTaskResult:
    progress = _serialized(progress or null_progress)  # the parallel boots report from their threads
    boot_command(KernelBootRequest(arch=req.arch, image=req.image))  # bad input fails before any boot
    data = TaskData(req.task)
    index = data.index()
    req.out.mkdir(parents=True, exist_ok=True)
    asking = [f"requests-{k + 1}" for k in range(req.parallel)] if req.parallel > 1 else ["requests"]
    logs = [req.out / f"{name}.log" for name in ("discover", "probe", *asking)]
    result = ConsoleTaskResult(
        arch=req.arch, image=req.image, boots_ok=False, template=score([]), freeform=score([]),
        transcript=req.out / "transcript.txt", result=req.out / "result.json", logs=logs,
    )  # fmt: skip

    def run(prompts: list[str], log: Path) -> BootResult:
        r = boot(
            KernelBootRequest(
                arch=req.arch,
                image=req.image,
                prompts=prompts,
                ram_mb=req.ram_mb,
                timeout_s=req.timeout_s,
                log=log,
                smp=req.smp,
            ),
            progress,
        )
        if not r.ok:
            result.error = f"{log.stem} boot: {r.error} (log: {log})"
        return r

    def finish(transcript: str = "") -> ConsoleTaskResult:
        atomic_write_text(result.transcript, transcript)
        atomic_write_text(result.result, result.model_dump_json(indent=2) + "\n")
        return result

    progress("console task", 0, 3, stage="discover")
    first = run(["devices"], logs[0])
    table = first.commands[0].result if first.ok and first.commands else None
    if not isinstance(table, DevicesResult):
        result.error = result.error or "the first boot printed no device table"
        return finish()
    progress("console task", 1, 3, stage="probe")
    addrs = [row.address for row in table.rows]
    probe = run(["devices", *(f"device {a}" for a in addrs), *PROBE], logs[1])
    if not probe.ok:
        return finish()
    _check_kb(probe.kb, index)
    live = machine_from_console(req.arch, probe.commands)
    if [d.addr for d in live.devices] != addrs:
        result.error = "the probe boot found other devices than the first boot"
        return finish()
    result.machine = len(live.devices)
    draws = _draws(req, live, index)
    progress("console task", 2, 3, stage="requests", requests=len(draws))
    shares = [draws[k :: len(asking)] for k in range(len(asking))]
    # each boot's thread runs in a copy of this context: a caller's progress may read context
    # variables (LangGraph's stream writer does)
    contexts = [contextvars.copy_context() for _ in shares]
    with ThreadPoolExecutor(len(asking)) as pool:
        asked = list(
            pool.map(
                lambda c, share, log: c.run(run, [t for _, t, _ in share], log), contexts, shares, logs[2:]
            )
        )
    replies: list[tuple[int, tuple[str, str, str], Answer]] = []
    for k, (share, boot_result) in enumerate(zip(shares, asked, strict=True)):
        for j, (draw, a) in enumerate(zip(share, boot_result.replies(), strict=False)):
            if isinstance(a, Answer):
                replies.append((j * len(asking) + k, draw, a))  # its place among the draws
    result.exchanges = [
        Exchange(set=kind, row=_row(text, ref, a, live, index), text=a.text, seconds=a.seconds)
        for _, (kind, text, ref), a in sorted(replies, key=lambda r: r[0])
    ]
    result.requests = len(draws)
    result.template = score([x.row for x in result.exchanges if x.set == "template"])
    result.freeform = score([x.row for x in result.exchanges if x.set == "freeform"])
    latencies = [x.seconds for x in result.exchanges]
    result.latency_median_s = statistics.median(latencies) if latencies else None
    result.latency_p90_s = _p90(latencies)
    result.boots_ok = all(r.ok for r in asked)
    progress("console task", 3, 3, stage="scored")
    return finish(_transcript(result.exchanges))
