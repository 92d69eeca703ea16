"""Typed boundary of the training tool: what to train (TrainRequest) and what came of it (TrainResult)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.config import ModelConfig

DeviceChoice = Literal["auto", "cpu", "cuda"]


class TrainRequest(BaseModel):
    config: ModelConfig | Path = Field(description="a ModelConfig or the path of its YAML file")
    data: Path = Field(description="prepared dataset directory (tools.dataset)")
    out: Path = Field(description="run directory, e.g. SLM/models/checkpoints/<run>")
    resume: bool = Field(False, description="continue from the run directory's `latest` checkpoint")
    max_steps: int | None = Field(None, gt=0, description="override training.max_steps (the schedule length)")
    device: DeviceChoice = "auto"
    lr_scale: float | None = Field(
        None,
        gt=0,
        description="the LR scale to run at (tools.train.divergence), e.g. 0.5 to resume at half the "
        "LR; None keeps the checkpoint's own scale (1.0 for a new run)",
    )
    max_rollbacks: int = Field(3, ge=0, description="NaN/Inf rollbacks allowed before the run fails")
    time_budget_s: float | None = Field(
        None,
        gt=0,
        description="a new run sizes its schedule to end within this wall time, from the step time "
        "it measures over its first steps, re-fitted early on (tools.train.loop.SIZE_AFTER_STEPS)",
    )
    compile: bool | None = Field(None, description="torch.compile the model (default: on CUDA only)")
    log_interval: int = Field(10, gt=0, description="steps between train records in metrics.jsonl")
    inject_nan_at_steps: list[int] = Field(
        default_factory=list,
        description="fault injection for tests: the loss of each listed step becomes NaN, once",
    )

    def load_config(self) -> ModelConfig:
        cfg = self.config if isinstance(self.config, ModelConfig) else ModelConfig.load(self.config)
        if self.max_steps is not None:
            cfg = cfg.model_copy(
                update={"training": cfg.training.model_copy(update={"max_steps": self.max_steps})}
            )
        return cfg


class NanEvent(BaseModel):
    step: int
    to_step: int
    lr_scale: float


class TrainResult(BaseModel):
    run_dir: Path
    status: Literal["completed", "interrupted"]
    steps: int
    max_steps: int
    tokens_seen: int
    params: int
    final_loss: float | None = Field(description="mean train loss of the last logged interval")
    last_step_loss: float | None = Field(description="train loss of the last step this process took")
    best_val_loss: float | None
    best_val_ppl: float | None
    best_step: int | None
    latest: Path | None
    best: Path | None
    nan_events: list[NanEvent] = Field(default_factory=list)
    tokens_per_s: float
    mfu: float
    wall_s: float
    device: str
    precision: str
    world_size: int
