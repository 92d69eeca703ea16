"""What an export starts from: a float checkpoint (run or step directory) or a quantized directory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tools.checkpoint import TOKENIZER, model_config_of, resolve_checkpoint
from tools.config import ModelConfig
from tools.errors import InputError
from tools.quant.layout import QuantReport, is_quantized_dir, read_report, weights_file


class ModelSource(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    kind: Literal["checkpoint", "quantized"]
    path: Path  # the directory holding model.safetensors + config.json
    tokenizer: Path
    config: ModelConfig
    report: QuantReport | None = None
    weights: Path | None = None  # the quantized directory's typed weights (GGUF block layout)

    @property
    def qtype(self) -> str | None:
        return self.report.qtype if self.report else None


def resolve_source(path: str | Path) -> ModelSource:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such model")
    report, weights = None, None
    if is_quantized_dir(p):
        report = read_report(p)
        weights = p / weights_file(report.qtype)
        if not weights.is_file():
            raise InputError(f"{p}: quantized directory without its {weights.name}")
    step = resolve_checkpoint(p)
    tok = step / TOKENIZER
    if not tok.is_file():
        raise InputError(f"{step}: no {TOKENIZER} in the checkpoint")
    return ModelSource(
        kind="quantized" if report else "checkpoint",
        path=step,
        tokenizer=tok,
        config=model_config_of(step),
        report=report,
        weights=weights,
    )
