"""Task tuning: ``tune(TuneRequest, progress) -> TuneResult`` (tools/tune/loop.py) and the
held-out evaluation ``evaluate_task(TaskEvalRequest, progress) -> TaskEvalResult``
(tools/tune/evaluate.py); the chat format and its llama.cpp template are in tools/tune/chat.py."""

from tools.tune.chat import CHAT_TEMPLATE, CHAT_TOKENS
from tools.tune.evaluate import evaluate_task
from tools.tune.loop import tune
from tools.tune.request import TaskEvalRequest, TaskEvalResult, TuneRequest, TuneResult

__all__ = [
    "CHAT_TEMPLATE", "CHAT_TOKENS", "TaskEvalRequest", "TaskEvalResult", "TuneRequest", "TuneResult",
    "evaluate_task", "tune",
]  # fmt: skip
