"""The training tool: ``train(TrainRequest, progress) -> TrainResult`` (see tools/train/loop.py);
metrics.jsonl record shapes are documented in tools/train/metrics.py."""

from tools.train.loop import TrainingDiverged, train
from tools.train.request import NanEvent, TrainRequest, TrainResult

__all__ = ["NanEvent", "TrainRequest", "TrainResult", "TrainingDiverged", "train"]
