"""What an export starts from: a float checkpoint (run or step directory) or a quantized directory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tools.checkpoint import resolve_checkpoint
from tools.config import ModelConfig
from tools.errors import InputError
from tools.quant.layout import MODEL_CONFIG, QuantReport, gguf_file, is_quantized_dir, read_report

TOKENIZER = "tokenizer.json"


class ModelSource(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: Literal["checkpoint", "quantized"]
    path: Path  # the directory holding model.safetensors + config.json
    tokenizer: Path
    config: ModelConfig
    report: QuantReport | None = None
    gguf: Path | None = None  # the quantized directory's GGUF file

    @property
    def qtype(self) -> str | None:
        return self.report.qtype if self.report else None


def _model_config(step: Path) -> ModelConfig:
    for d in (step, step.parent):
        if (d / MODEL_CONFIG).is_file():
            return ModelConfig.load(d / MODEL_CONFIG)
    raise InputError(f"{step}: no {MODEL_CONFIG} beside the checkpoint (its tier and arch are unknown)")


def resolve_source(path: str | Path) -> ModelSource:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such model")
    if is_quantized_dir(p):
        report = read_report(p)
        gguf = p / gguf_file(report.qtype)
        if not gguf.is_file():
            raise InputError(f"{p}: quantized directory without its {gguf.name}")
        kind: Literal["checkpoint", "quantized"] = "quantized"
        step = resolve_checkpoint(p)
    else:
        report, gguf, kind = None, None, "checkpoint"
        step = resolve_checkpoint(p)
    tok = step / TOKENIZER
    if not tok.is_file():
        raise InputError(f"{step}: no {TOKENIZER} in the checkpoint")
    return ModelSource(
        kind=kind, path=step, tokenizer=tok, config=_model_config(step), report=report, gguf=gguf
    )
