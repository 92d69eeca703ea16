"""Review of a kernel boot (tools.kernel.BootResult, saved as boot.json beside boot.log).

Checks:
- ``booted``: the kernel printed its boot line (QEMU started it and the firmware handed over);
- ``model_loaded``: the runtime loaded the embedded GGUF (its model line, no exit code 1);
- ``answered``: every prompt got an answer without a runtime error, with at least one generated
  token and mostly printable text (at least ``MIN_PRINTABLE`` of its characters);
- ``clean_exit``: the kernel powered off with exit code 0, QEMU agreed, no timeout;
- ``console_task`` (when the Integrator scored the console task: ``console/result.json`` beside
  boot.json): its boots ran through, and held-out command exact match on the booted kernel
  reaches the target (success criterion 7); a miss takes the tuned run's remedies
  (tools.review.tuned.task_remedy: tune longer, more task data, a larger model).

A runtime that ran out of arena memory asks for a lighter model file: requantize to Q4_0 when
the embedded model (``model.gguf`` beside the image) is wider, else a smaller model from the
architect. A model the runtime rejects otherwise goes back to export; the rest re-runs the boot.
"""

from __future__ import annotations

from pathlib import Path

from tools.kernel import BootResult
from tools.kernel_task import ConsoleTaskResult
from tools.review.findings import passed, read_artifact, rejected, rerun, short_of_target, unreadable
from tools.review.quantized import requantize
from tools.review.tuned import TuneBudget, task_remedy
from tools.tiers import TASK_TARGET
from tools.verdict import Finding, Remedy, Verdict

BOOT_JSON = "boot.json"
CONSOLE = "console"  # the Integrator's end-to-end task score, beside boot.json
MIN_PRINTABLE = 0.9
OOM = "out of memory"


def embedded_type(image: Path) -> str | None:
    """The dominant tensor type of the model linked into ``image`` (its workspace copy)."""
    f = image.parent / "model.gguf"
    if not f.is_file():
        return None
    from gguf import GGUFReader

    try:
        tensors = GGUFReader(f).tensors
    except Exception:  # a file the reader cannot parse has no type to report
        return None
    weights: dict[str, int] = {}
    for t in tensors:
        weights[t.tensor_type.name] = weights.get(t.tensor_type.name, 0) + int(t.n_elements)
    return max(weights, key=weights.__getitem__) if weights else None


def memory_remedy(result: BootResult, why: str) -> Remedy:
    if embedded_type(result.image) in (None, "Q4_0"):
        return rerun("architect", f"{why}, even at Q4_0: a smaller model is needed")
    return requantize("gptq", "Q4_0", why)


def printable_share(text: str) -> float:
    return sum(c.isprintable() or c in "\n\t" for c in text) / len(text) if text else 0.0


def check_answers(result: BootResult) -> Finding:
    problems = []
    for a in result.answers:
        if a.error:
            problems.append(f"{a.prompt!r}: runtime error: {a.error}")
        elif a.tokens == 0 or not a.text.strip():
            problems.append(f"{a.prompt!r}: empty answer")
        elif printable_share(a.text) < MIN_PRINTABLE:
            problems.append(f"{a.prompt!r}: {printable_share(a.text):.0%} printable characters")
    if not result.answers:
        problems.append("no answers")
    evidence = {
        "answers": [{"prompt": a.prompt, "text": a.text[:200], "tokens": a.tokens} for a in result.answers]
    }
    if not problems:
        return passed("answered", "integrate", f"{len(result.answers)} prompts answered", **evidence)
    why = "; ".join(problems)
    fix = memory_remedy(result, why) if OOM in why else rerun("integrate", why)
    return rejected("answered", "integrate", why, fix, **evidence)


def check_console(directory: Path, tuned: Path | None, budget: TuneBudget | None) -> list[Finding]:
    f = directory / CONSOLE / "result.json"
    if not f.is_file():
        return []
    res = read_artifact(f.parent, f.name, ConsoleTaskResult)
    if isinstance(res, str):
        return [rejected("console_task", "integrate", res, rerun("integrate", res))]
    if not res.boots_ok:
        why = f"the console task did not run through: {res.error or 'no detail'}"
        return [rejected("console_task", "integrate", why, rerun("integrate", why))]
    t, target = res.template, budget.target if budget else TASK_TARGET
    evidence = {"requests": t.examples, "command_exact": t.command_exact, "grounded": t.grounded_accuracy}
    said = f"end-to-end command exact match {t.command_exact:.1%} on {t.examples} held-out requests"
    if t.command_exact >= target:
        return [passed("console_task", "integrate", f"{said} >= {target:.0%}", **evidence)]
    why = f"{said} < {target:.0%}"
    fix = task_remedy(tuned, why, budget) if tuned is not None else rerun("tune", why)
    return [short_of_target("console_task", "integrate", why, fix, **evidence)]


def review_boot(path: str | Path, tuned: Path | None = None, budget: TuneBudget | None = None) -> Verdict:
    """Review a boot result: boot.json, or the directory holding it (``tuned``, ``budget``: the
    tuned run and the plan's budget, for the console task's remedies)."""
    path = Path(path)
    result = read_artifact(path, BOOT_JSON, BootResult)
    if isinstance(result, str):
        return unreadable("boot", path, "integrate", result)
    error = result.error or "no detail"
    if result.boot is None:
        why = f"the kernel did not boot on {result.arch.value}: {error}"
        return Verdict.from_findings(
            "boot", str(path), [rejected("booted", "integrate", why, rerun("integrate", why))]
        )
    findings = [passed("booted", "integrate", f"booted on {result.boot.machine} with {result.ram_mb} MiB")]
    if result.model is None or result.exit_code == 1:
        why = f"the runtime did not load the model: {error}"
        fix = memory_remedy(result, why) if OOM in error else rerun("export", why)
        findings.append(rejected("model_loaded", "integrate", why, fix, exit_code=result.exit_code))
        return Verdict.from_findings("boot", str(path), findings)
    m = result.model
    findings.append(passed("model_loaded", "integrate", f"loaded {m.params:,} parameters at {m.quant}"))
    findings.append(check_answers(result))
    if result.exit_code == 0 and not result.timed_out and result.ok:
        findings.append(
            passed("clean_exit", "integrate", f"powered off cleanly after {result.seconds:.1f} s")
        )
    else:
        why = f"exit code {result.exit_code}, QEMU status {result.qemu_status}, timed out {result.timed_out}: {error}"
        findings.append(rejected("clean_exit", "integrate", why, rerun("integrate", why)))
    findings += check_console(path if path.is_dir() else path.parent, tuned, budget)
    return Verdict.from_findings("boot", str(path), findings)
