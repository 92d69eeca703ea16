"""Review of a quantized directory (tools.quant.layout: weights-<TYPE>.safetensors in GGUF block
layout, dequantized HF weights, report.json).

Checks:
- ``loads``: report.json is a QuantReport and its typed weights file is there;
- ``blocks_readable``: the typed weights load as GGUF blocks with the tensor types the report lists;
- ``tensors_finite``: the dequantized weights are finite;
- ``smaller``: the tensor data is at most ``MAX_SIZE_RATIO`` of the same tensors at F32;
- ``evaluated``: before/after metrics exist (the degradation rule was measured);
- ``degradation``: success criterion 3 as the report defines it (relative perplexity change < 2%);
- ``command_degradation``: for a tuned model (``commands.json``, written by the quantize stage),
  the same rule on held-out command exact match: (float - quantized) / float < 2%.

A missed rule asks for a stronger setting (``stronger``): RTN -> GPTQ -> AWQ at the same type, then
GPTQ at Q8_0.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from tools.errors import InputError
from tools.gguf.blocks import QTensor
from tools.gguf.store import load_typed
from tools.quant.layout import REPORT, RULE_THRESHOLD, QuantReport, read_report, weights_file
from tools.review.checkpoint import non_finite
from tools.review.findings import passed, read_artifact, rejected, remedy, rerun, short_of_target
from tools.verdict import Finding, Remedy, Verdict

MAX_SIZE_RATIO = 0.5
METHOD_LADDER = ("rtn", "gptq", "awq")


def stronger(method: str, qtype: str) -> tuple[str, str] | None:
    """The next setting to try when quantization lost too much: a better method, then a wider type."""
    if method in METHOD_LADDER[:-1]:
        return METHOD_LADDER[METHOD_LADDER.index(method) + 1], qtype
    if qtype != "Q8_0":
        return "gptq", "Q8_0"
    return None


def requantize(method: str, qtype: str, why: str) -> Remedy:
    return remedy(
        "quantize",
        "requantize",
        f"{why}: quantize again with {method} at {qtype}",
        method=method,
        qtype=qtype,
    )


def check_blocks(path: Path, report: QuantReport) -> Finding:
    try:
        typed = load_typed(path)
    except InputError as e:
        return rejected("blocks_readable", "quantize", str(e), rerun("quantize", str(e)))
    types: dict[str, int] = {}
    for t in typed.values():
        kind = t.qtype if isinstance(t, QTensor) else "F16" if t.dtype.itemsize == 2 else "F32"
        types[kind] = types.get(kind, 0) + 1
    if types != report.tensor_types:
        why = f"{path.name} holds tensor types {types}, the report says {report.tensor_types}"
        return rejected("blocks_readable", "quantize", why, rerun("quantize", why))
    return passed("blocks_readable", "quantize", f"{path.name}: {len(typed)} tensors", tensor_types=types)


def check_finite(directory: Path) -> Finding:
    try:
        bad = non_finite(directory)
    except InputError as e:
        return rejected(
            "tensors_finite", "quantize", str(e), rerun("quantize", "the dequantized weights are unreadable")
        )
    if bad:
        why = f"non-finite dequantized weights: {bad[:5]}"
        return rejected("tensors_finite", "quantize", why, rerun("quantize", why))
    return passed("tensors_finite", "quantize", "dequantized weights are finite")


def check_size(report: QuantReport) -> Finding:
    ratio = report.weight_bytes / report.float_weight_bytes
    evidence = {
        "weight_bytes": report.weight_bytes,
        "float_weight_bytes": report.float_weight_bytes,
        "ratio": ratio,
    }
    if ratio <= MAX_SIZE_RATIO:
        return passed("smaller", "quantize", f"tensor data is {ratio:.1%} of F32", **evidence)
    why = f"tensor data is {ratio:.1%} of F32 (at most {MAX_SIZE_RATIO:.0%} expected for {report.qtype})"
    return rejected("smaller", "quantize", why, rerun("quantize", why), **evidence)


def check_degradation(report: QuantReport) -> list[Finding]:
    if report.rule is None or report.before is None or report.after is None:
        why = "the quantized model was not evaluated, so the < 2% rule is unmeasured"
        return [rejected("evaluated", "quantize", why, rerun("quantize", "quantize with evaluation on"))]
    rule = report.rule
    evidence = {
        "before": report.before.perplexity,
        "after": report.after.perplexity,
        "value": rule.value,
        "threshold": rule.threshold,
        "formula": rule.formula,
    }
    found = [passed("evaluated", "quantize", f"evaluated on {report.after.tokens:,} test tokens")]
    if rule.passed:
        said = f"{rule.metric} changed by {rule.value:+.2%} (< {rule.threshold:.0%})"
        return found + [passed("degradation", "quantize", said, **evidence)]
    why = f"{rule.metric} changed by {rule.value:+.2%}, not below {rule.threshold:.0%}"
    nxt = stronger(report.method, report.qtype)
    fix = requantize(*nxt, why) if nxt else rerun("quantize", f"{why}, with no stronger setting left")
    return found + [short_of_target("degradation", "quantize", why, fix, **evidence)]


COMMANDS_JSON = "commands.json"


class CommandRule(BaseModel):
    """Command exact match of the float and the quantized model on the same held-out requests."""

    examples: int
    float_exact: float
    quantized_exact: float

    @property
    def value(self) -> float:
        return (self.float_exact - self.quantized_exact) / self.float_exact if self.float_exact else 0.0


def check_commands(path: Path, report: QuantReport) -> list[Finding]:
    if not (path / COMMANDS_JSON).is_file():
        return []
    rule = read_artifact(path, COMMANDS_JSON, CommandRule)
    if isinstance(rule, str):
        return [rejected("command_degradation", "quantize", rule, rerun("quantize", rule))]
    said = (
        f"command exact match {rule.float_exact:.1%} -> {rule.quantized_exact:.1%} on {rule.examples} "
        f"requests ({rule.value:+.2%} relative loss)"
    )
    evidence = rule.model_dump() | {"value": rule.value, "threshold": RULE_THRESHOLD}
    if rule.value < RULE_THRESHOLD:
        return [passed("command_degradation", "quantize", said, **evidence)]
    nxt = stronger(report.method, report.qtype)
    fix = requantize(*nxt, said) if nxt else rerun("quantize", f"{said}, with no stronger setting left")
    return [short_of_target("command_degradation", "quantize", said, fix, **evidence)]


def review_quantized(path: str | Path) -> Verdict:
    """Review a quantized directory."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such quantized directory")
    try:
        report = read_report(path)
    except InputError as e:
        fix = rerun("quantize", f"no readable {REPORT}")
        return Verdict.from_findings("quantized", str(path), [rejected("loads", "quantize", str(e), fix)])
    weights = path / weights_file(report.qtype)
    if not weights.is_file():
        why = f"{weights.name} is missing"
        return Verdict.from_findings(
            "quantized", str(path), [rejected("loads", "quantize", why, rerun("quantize", why))]
        )
    findings = [
        passed("loads", "quantize", f"{report.method} {report.qtype} of {report.source}"),
        check_blocks(weights, report),
        check_finite(path),
        check_size(report),
        *check_degradation(report),
        *check_commands(path, report),
    ]
    return Verdict.from_findings("quantized", str(path), findings)
