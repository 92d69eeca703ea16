"""The console task: requests a person types, the one command the model turns each into, the
command's output and a grounded one-sentence answer (``build_task(TaskRequest) -> TaskResult``).

Modules: grammar (the commands and their parser), completions (valid continuations as an
automaton, for constrained decoding), hardware + machines (simulated inventories), index
(package and command knowledge), render (console output, byte for byte), requests (phrasings),
answers (answers and the grounded check), build (the dataset).
"""

from tools.task.build import TaskData, TaskExample, TaskRequest, TaskResult, build_task

__all__ = ["TaskData", "TaskExample", "TaskRequest", "TaskResult", "build_task"]
