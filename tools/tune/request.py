"""Typed boundary of the tuning tool: TuneRequest -> TuneResult, TaskEvalRequest -> TaskEvalResult."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from tools.task.score import TaskScore
from tools.train.request import DeviceChoice


class TuneRequest(BaseModel):
    model: Path = Field(description="pretrained run or step directory (tools.checkpoint)")
    task: Path = Field(description="task dataset directory (auton-slm data task)")
    data: Path = Field(description="the pretraining dataset, for the mixed-in language batches")
    out: Path = Field(description="run directory of the tuned model")
    minutes: float | None = Field(
        None, gt=0, description="wall-clock budget; the steps are sized from throughput"
    )
    max_steps: int | None = Field(None, gt=0, description="schedule length in steps")
    resume: bool = Field(False, description="continue from the run directory's latest checkpoint")
    device: DeviceChoice = "auto"
    batch_size: int = Field(16, gt=0)
    lr: float = Field(1e-3, gt=0, description="peak LR of the warmup-stable-decay schedule")
    warmup_steps: int = Field(20, ge=0)
    decay_fraction: float = Field(0.2, gt=0, le=1, description="share of the steps the LR decays over, to 0")
    pretrain_fraction: float = Field(
        0.5, ge=0, lt=1, description="share of steps that train on pretraining text"
    )
    answers: bool = Field(True, description="train the answer turn too (else request -> command only)")
    command_share: float = Field(
        0.75, ge=0, lt=1, description="share of task batches that are request -> command only, 4x as many"
    )
    eval_interval: int = Field(100, gt=0, description="steps between validation (and checkpoints)")
    val_examples: int = Field(200, gt=0)
    keep_last: int = Field(2, gt=0)
    seed: int = 1234
    log_interval: int = Field(10, gt=0)

    @model_validator(mode="after")
    def _budget(self) -> TuneRequest:
        if self.minutes is None and self.max_steps is None:
            raise ValueError("give minutes or max_steps (or both)")
        return self


class TuneResult(BaseModel):
    run_dir: Path
    status: Literal["completed", "interrupted"]
    steps: int
    total_steps: int = Field(description="the schedule's length (sized from throughput under a clock budget)")
    task_examples: int
    best_val_loss: float | None
    best_step: int | None
    latest: Path | None
    best: Path | None
    tokens_per_s: float
    wall_s: float
    device: str


class TaskEvalRequest(BaseModel):
    model: Path = Field(description="tuned run or step directory")
    task: Path = Field(description="task dataset directory")
    split: Literal["val", "test"] = "test"
    limit: int | None = Field(None, gt=0, description="evaluate the first N examples")
    answers: bool = Field(True, description="also generate and score answers")
    max_command_tokens: int = Field(48, gt=0)
    max_answer_tokens: int = Field(64, gt=0)


class TaskEvalResult(TaskScore):
    """The task scores (tools.task.score) of a tuned model on one split of a task dataset."""

    model: Path
    split: str
    wall_s: float
