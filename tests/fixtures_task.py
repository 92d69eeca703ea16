"""Shared pytest fixtures of the task stage.

- ``task_index``: the knowledge index from this machine's Debian data (the default 6,000 packages).
- ``task_dataset``: a small riscv64 task dataset (600/150/150 examples on 20/8/8 machines) built
  with ``task_index``: train/val/test JSONL, machines.jsonl, index.json, manifest.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.task import TaskRequest, build_task
from tools.task.index import KnowledgeIndex, load_index


@pytest.fixture(scope="session")
def task_index() -> KnowledgeIndex:
    return load_index(0, 6000)  # as build_task calls it with the defaults: read once per session


@pytest.fixture(scope="session")
def task_dataset(task_index: KnowledgeIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("task") / "riscv64"
    req = TaskRequest(
        arch="riscv64",
        out=out,
        counts={"train": 600, "val": 150, "test": 150},
        machines_per_split={"train": 20, "val": 8, "test": 8},
    )
    build_task(req, index=task_index)
    return out
