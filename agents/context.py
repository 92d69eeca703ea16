"""What every agent gets besides its inputs: the LLM (or None), where artifacts go, progress."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.decide import LLM
from tools.artifacts import REPO_ROOT
from tools.progress import ProgressFn, null_progress


@dataclass(frozen=True)
class Workspace:
    """The SLM/ tree (docs/artifacts.md): $AUTON_SLM_DIR, else SLM/ in the repository."""

    root: Path

    @classmethod
    def default(cls) -> Workspace:
        env = os.environ.get("AUTON_SLM_DIR")
        return cls(Path(env) if env else REPO_ROOT / "SLM")

    @property
    def datasets(self) -> Path:
        return self.root / "datasets" / "processed"

    @property
    def configs(self) -> Path:
        return self.root / "configs"

    @property
    def checkpoints(self) -> Path:
        return self.root / "models" / "checkpoints"

    @property
    def quantized(self) -> Path:
        return self.root / "models" / "quantized"

    @property
    def exports(self) -> Path:
        return self.root / "models" / "exports"

    @property
    def runs(self) -> Path:
        return self.root / "runs"


def request_key(request: Any) -> str:
    """A short digest of a stage request: same request, same artifact directory.

    Re-running a stage with an identical request (a resume after a crash, a replay) finds the
    artifact that request already produced; a changed request (a remedy, a fork) gets a new one.
    """
    blob = json.dumps(request, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:10]


@dataclass(frozen=True)
class AgentContext:
    llm: LLM | None
    workspace: Workspace
    progress: ProgressFn = field(default=null_progress)
