"""Review of a training launch script (``launch.sh``, tools.train.launch).

Checks:
- ``parses``: ``bash -n`` accepts it;
- ``config_exists`` / ``data_exists``: its ``--config`` and ``--data`` arguments name a loadable
  config YAML and dataset directory;
- ``dry_run``: training that config on that data for ``DRY_RUN_STEPS`` steps on the CPU, into a
  temporary directory, completes with a finite loss (the script's own output directory is never
  touched).
"""

from __future__ import annotations

import math
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.errors import AutonError, InputError
from tools.review.findings import passed, rejected, rerun
from tools.verdict import Finding, Stage, Verdict

DRY_RUN_STEPS = 2


def script_argument(tokens: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` among the script's shell words."""
    for i, tok in enumerate(tokens):
        if tok == name and i + 1 < len(tokens):
            return tokens[i + 1]
        if tok.startswith(name + "="):
            return tok.split("=", 1)[1]
    return None


def check_argument(
    words: list[str], flag: str, check: str, owner: Stage, load: Callable[[str], str]
) -> tuple[Finding, Path | None]:
    """Whether the script's ``flag`` names an artifact that ``load`` reads (it says what it found)."""
    value = script_argument(words, flag)
    if value is None:
        return rejected(
            check, "train", f"no {flag} argument", rerun("train", f"the script has no {flag}")
        ), None
    try:
        found = load(value)
    except InputError as e:
        return rejected(
            check, owner, str(e), rerun(owner, f"the script's {flag} is missing or invalid")
        ), None
    return passed(check, owner, f"{flag} {value} is {found}"), Path(value)


def check_parses(path: Path) -> Finding:
    res = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    if res.returncode == 0:
        return passed("parses", "train", "bash -n accepts the script")
    first = (res.stderr.strip().splitlines() or ["syntax error"])[0]
    return rejected(
        "parses", "train", f"bash -n: {first}", rerun("train", "the trainer writes a fresh launch.sh")
    )


def dry_run(config: Path, data: Path) -> Finding:
    from tools.train import TrainRequest, train

    with tempfile.TemporaryDirectory(prefix="auton-dry-run-") as tmp:
        req = TrainRequest(
            config=config, data=data, out=Path(tmp) / "run", max_steps=DRY_RUN_STEPS, device="cpu"
        )
        try:
            result = train(req)
        except AutonError as e:
            why = str(e).splitlines()[0]
            return rejected(
                "dry_run", "train", f"{DRY_RUN_STEPS}-step dry run failed: {why}", rerun("train", why)
            )
    loss = result.final_loss
    evidence = {"steps": result.steps, "final_loss": loss, "wall_s": round(result.wall_s, 2)}
    if (
        result.status != "completed"
        or result.steps != DRY_RUN_STEPS
        or loss is None
        or not math.isfinite(loss)
    ):
        message = (
            f"{DRY_RUN_STEPS}-step dry run ended {result.status} after {result.steps} steps, loss {loss}"
        )
        return rejected(
            "dry_run", "train", message, rerun("train", "the dry run did not train cleanly"), **evidence
        )
    return passed("dry_run", "train", f"{DRY_RUN_STEPS}-step dry run completed, loss {loss:.3f}", **evidence)


def review_launch(path: str | Path, dry: bool = True) -> Verdict:
    """Review a launch script; ``dry=False`` skips the dry run."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such launch script")
    parse = check_parses(path)
    findings = [parse]
    if not parse.passed:
        return Verdict.from_findings("launch", str(path), findings)
    try:
        words = shlex.split(path.read_text(encoding="utf-8"), comments=True)
    except (ValueError, UnicodeDecodeError) as e:
        findings.append(
            rejected(
                "arguments",
                "train",
                f"cannot split the script into words ({e})",
                rerun("train", "unreadable script"),
            )
        )
        return Verdict.from_findings("launch", str(path), findings)

    config_found, config = check_argument(
        words,
        "--config",
        "config_exists",
        "architect",
        lambda v: f"a {ModelConfig.load(v).model.tier}-tier config",
    )
    data_found, data = check_argument(
        words, "--data", "data_exists", "data", lambda v: f"a dataset of vocab {Dataset(v).meta.vocab_size}"
    )
    findings += [config_found, data_found]
    if dry and config is not None and data is not None:
        findings.append(dry_run(config, data))
    return Verdict.from_findings("launch", str(path), findings)
