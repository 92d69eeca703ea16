"""The pipeline's stages, in order: the one table the graph, the Reviewer and the report read.

Each row names the stage, the agent function that runs it, the artifacts it hands on (a typed
``Artifacts`` model of its module), the ``tools.review`` kind that gates it and which artifact that
review reads, what else the review needs (``context``) and the remedy when the stage's tool
failed outright (``on_failure``, default: run it again). A new stage is one agent module, one row
here and its name in ``tools.verdict.Stage``, where the order is fixed (docs/pipeline.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import architect, data, evaluate, export, integrate, quantize, train, tune
from agents.context import AgentContext
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.policy import rerun
from tools.verdict import STAGES, Remedy, Stage


def _no_context(inp: StageInput) -> dict[str, object]:
    return {}


def _rerun(record: StageRecord, inp: StageInput) -> Remedy:
    return rerun(record)


@dataclass(frozen=True)
class StageSpec:
    name: Stage
    run: Callable[[StageInput, AgentContext], StageOutcome]
    artifacts: type[Artifacts]
    review: str  # the tools.review kind that gates the stage
    reviewed: Callable[[Any], Path]  # which of the artifacts that review reads
    context: Callable[[StageInput], dict[str, object]] = _no_context
    on_failure: Callable[[StageRecord, StageInput], Remedy] = _rerun


PIPELINE: tuple[StageSpec, ...] = (
    StageSpec(
        "data",
        data.run,
        data.DataArtifacts,
        review="dataset",
        reviewed=lambda a: a.dataset,
        on_failure=data.on_failure,
    ),
    StageSpec(
        "architect",
        architect.run,
        architect.ArchitectArtifacts,
        review="config",
        reviewed=lambda a: a.config,
        context=architect.review_context,
    ),
    StageSpec(
        "train",
        train.run,
        train.TrainArtifacts,
        review="checkpoint",
        reviewed=lambda a: a.run,
        context=train.review_context,
        on_failure=train.on_failure,
    ),
    StageSpec(
        "tune",
        tune.run,
        tune.TuneArtifacts,
        review="tuned",
        reviewed=lambda a: a.run,
        context=tune.review_context,
    ),
    StageSpec(
        "evaluate", evaluate.run, evaluate.EvaluateArtifacts, review="evaluation", reviewed=lambda a: a.report
    ),
    StageSpec(
        "quantize",
        quantize.run,
        quantize.QuantizeArtifacts,
        review="quantized",
        reviewed=lambda a: a.quantized,
    ),
    StageSpec("export", export.run, export.ExportArtifacts, review="export", reviewed=lambda a: a.export),
    StageSpec(
        "integrate",
        integrate.run,
        integrate.IntegrateArtifacts,
        review="boot",
        reviewed=lambda a: a.boot,
        context=integrate.review_context,
    ),
)
SPECS: dict[str, StageSpec] = {s.name: s for s in PIPELINE}
assert tuple(SPECS) == STAGES, "tools.verdict.Stage and the pipeline table must name the same stages"
assert all(s.artifacts.stage == s.name for s in PIPELINE), "each stage hands on its own artifacts"
