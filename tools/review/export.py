"""Review of an export directory (tools.export: the model file(s) and deploy.json).

Checks:
- ``loads``: deploy.json is a DeployInfo;
- ``files_intact``: every model file it lists is there with its sha256 and size;
- ``format_valid``: a GGUF file parses with gguf's reader as a llama model (an ONNX file passes
  ``onnx.checker``);
- ``validation``: every gating validation the exporter ran passed (read-back, tokenization,
  logit and greedy parity with stated tolerances);
- ``ram_fits`` (GGUF, tiers with a RAM budget): the runtime RAM estimate fits the tier's RAM;
  otherwise requantize to the widest type whose estimate fits (``fitting_type``).
"""

from __future__ import annotations

from pathlib import Path

from tools.artifacts import sha256_file
from tools.export.deploy import DEPLOY, DeployInfo
from tools.review.findings import passed, read_artifact, rejected, rerun, unreadable
from tools.review.quantized import requantize
from tools.tiers import MB, tier
from tools.verdict import Finding, Verdict

# bytes per weight of each GGUF type (blocks of 32: f16 scale + 32 int8 or 32 packed int4)
BYTES_PER_WEIGHT = {"F32": 4.0, "F16": 2.0, "Q8_0": 34 / 32, "Q4_0": 18 / 32}
DEPLOY_TYPES = ("Q8_0", "Q4_0")  # what the quantize stage can be asked for, widest first


def check_files(directory: Path, info: DeployInfo) -> Finding:
    problems = []
    for ref in info.files:
        f = directory / ref.path
        if not f.is_file():
            problems.append(f"{ref.path} is missing")
        elif f.stat().st_size != ref.bytes or sha256_file(f) != ref.sha256:
            problems.append(f"{ref.path} differs from deploy.json (size or sha256)")
    if problems:
        why = "; ".join(problems)
        return rejected("files_intact", "export", why, rerun("export", why))
    return passed("files_intact", "export", f"{len(info.files)} model files match deploy.json")


def check_format(path: Path, fmt: str) -> Finding:
    try:
        if fmt == "gguf":
            from gguf import GGUFReader

            field = GGUFReader(path).get_field("general.architecture")
            arch = bytes(field.parts[field.data[0]]).decode() if field is not None else ""
            if arch != "llama":
                raise ValueError(f"general.architecture is {arch!r}, not 'llama'")
        else:
            import onnx

            onnx.checker.check_model(str(path))
    except Exception as e:  # readers and the checker raise many types on malformed files
        why = f"{path.name} is not a valid {fmt} file ({str(e).splitlines()[0] if str(e) else e.__class__.__name__})"
        return rejected("format_valid", "export", why, rerun("export", why))
    return passed("format_valid", "export", f"{path.name} is a valid {fmt} file")


def check_validation(info: DeployInfo) -> Finding:
    failed = sorted(k for k, v in info.validation.items() if isinstance(v, dict) and v.get("passed") is False)
    if info.passed and not failed:
        return passed(
            "validation", "export", f"export validations passed: {', '.join(sorted(info.validation))}"
        )
    if info.validation.get("skipped"):
        why = "the export was not validated (it was made with validation off)"
    else:
        why = f"export validation failed: {', '.join(failed) or 'deploy.json says passed=false'}"
    return rejected("validation", "export", why, rerun("export", why), failed=failed)


def fitting_type(info: DeployInfo, budget: int) -> str | None:
    """The widest deployable type whose RAM estimate (model file rescaled) fits ``budget``."""
    ram = info.ram_estimate
    if ram is None or info.quant_type not in BYTES_PER_WEIGHT:
        return None
    for t in DEPLOY_TYPES:
        model_file = ram.model_file * BYTES_PER_WEIGHT[t] / BYTES_PER_WEIGHT[info.quant_type]
        if (
            ram.total - ram.model_file + model_file <= budget
            and BYTES_PER_WEIGHT[t] < BYTES_PER_WEIGHT[info.quant_type]
        ):
            return t
    return None


def check_ram(info: DeployInfo) -> Finding:
    ram = info.ram_estimate
    if ram is None or info.tier == "micro":
        return passed("ram_fits", "export", "no RAM budget applies (micro tier or no estimate)")
    budget = tier(info.tier).ram_max_mb * MB
    evidence = {"ram_total": ram.total, "budget": budget, "quant_type": info.quant_type}
    if ram.total <= budget:
        said = f"runtime needs {ram.total / MB:.1f} MB of the {info.tier} tier's {budget // MB} MB"
        return passed("ram_fits", "export", said, **evidence)
    why = f"runtime needs {ram.total / MB:.1f} MB at {info.quant_type}, over the {info.tier} tier's {budget // MB} MB"
    qtype = fitting_type(info, budget)
    method = info.source.get("method") or "gptq"
    fix = (
        requantize(method, qtype, why)
        if qtype
        else rerun("architect", f"{why}, even at Q4_0: a smaller model is needed")
    )
    return rejected("ram_fits", "export", why, fix, **evidence)


def review_export(path: str | Path) -> Verdict:
    """Review an export directory (or its deploy.json)."""
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    info = read_artifact(path, DEPLOY, DeployInfo)
    if isinstance(info, str):
        return unreadable("export", path, "export", info)
    findings = [
        passed(
            "loads",
            "export",
            f"{info.format} {info.quant_type} export of a {info.tier}-tier {info.arch} model",
        )
    ]
    files = check_files(directory, info)
    findings.append(files)
    if files.passed:
        findings.append(check_format(directory / info.file, info.format))
    findings += [check_validation(info), check_ram(info)]
    return Verdict.from_findings("export", str(path), findings)
