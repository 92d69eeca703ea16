"""The export stage (Trainer): writes the quantized weights as the GGUF file the kernel embeds
(tools.export.export, checked against llama.cpp), and hands on the export directory and the GGUF."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from agents.context import AgentContext, request_key
from agents.data import DataArtifacts
from agents.models import Artifacts, StageInput, StageOutcome, StageRecord
from agents.quantize import QuantizeArtifacts
from tools.artifacts import MANIFEST, read_json
from tools.export.deploy import DEPLOY, DeployInfo
from tools.export.export import ExportRequest
from tools.export.export import export as export_model
from tools.verdict import Stage


class ExportArtifacts(Artifacts):
    stage: ClassVar[Stage] = "export"
    export: Path = Field(description="the export directory (deploy.json, manifest.json)")
    gguf: Path = Field(description="the GGUF file in it")


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    source = inp.artifacts(QuantizeArtifacts).quantized
    out = ctx.workspace.exports / f"{inp.thread_id}-{request_key(str(source))}"
    if not (out / MANIFEST).is_file():
        export_model(
            ExportRequest(model=source, out=out, data=inp.artifacts(DataArtifacts).dataset), ctx.progress
        )
    info = DeployInfo.model_validate(read_json(out / DEPLOY))
    record = StageRecord(
        stage="export",
        attempt=inp.attempt,
        status="ok",
        outputs=ExportArtifacts(export=out, gguf=out / info.file).outputs(),
        metrics={
            "valid": info.passed,
            "validation": {
                k: v.get("passed") if isinstance(v, dict) else v for k, v in info.validation.items()
            },
            "gguf_bytes": info.bytes,
            "quant_type": info.quant_type,
            "ram_estimate": info.ram_estimate.total if info.ram_estimate else None,
        },
    )
    return StageOutcome(record=record)
