"""``launch.sh``: the command that started a run, as a script a reviewer can read and a user can re-run.

The script is derived from the TrainRequest (not from argv), so a run started from the graph
gets the same script as one started from the shell. It points at the run's own config.yaml
(the config as trained, overrides applied), and under torchrun it keeps the launcher's layout.
Extra arguments are passed through, e.g. ``./launch.sh --resume`` to continue the run.
"""

from __future__ import annotations

import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from tools.artifacts import REPO_ROOT, atomic_write_text
from tools.train.request import TrainRequest

LAUNCH = "launch.sh"


def train_argv(req: TrainRequest, config_path: Path) -> list[str]:
    argv = ["train", "--config", str(config_path.resolve()), "--data", str(req.data.resolve())]
    argv += ["--out", str(req.out.resolve()), "--device", req.device]
    if req.lr_scale is not None:
        argv += ["--lr-scale", repr(req.lr_scale)]
    if req.compile is not None:
        argv.append("--compile" if req.compile else "--no-compile")
    for step in req.inject_nan_at_steps:
        argv += ["--inject-nan-at-step", str(step)]
    return argv


def launcher_prefix() -> list[str]:
    """torchrun with the current layout when running under it, else the plain interpreter."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return [sys.executable, "-m", "graph.cli"]
    local = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
    prefix = ["torchrun", f"--nnodes={max(1, world // local)}", f"--nproc_per_node={local}"]
    if world > local:
        addr, port = os.environ.get("MASTER_ADDR", "localhost"), os.environ.get("MASTER_PORT", "29500")
        prefix += ["--rdzv-backend=c10d", f"--rdzv-endpoint={addr}:{port}"]
    return prefix + ["-m", "graph.cli"]


def write_launch_script(run_dir: Path, req: TrainRequest, config_path: Path) -> Path:
    cmd = " ".join(shlex.quote(a) for a in launcher_prefix() + train_argv(req, config_path))
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    text = (
        "#!/usr/bin/env bash\n"
        f"# Written by `auton-slm train` at {stamp}: the command that started this run.\n"
        "# Pass --resume to continue it from its latest checkpoint.\n"
        "set -euo pipefail\n"
        f"cd {shlex.quote(str(REPO_ROOT))}\n"
        f'exec {cmd} "$@"\n'
    )
    path = atomic_write_text(run_dir / LAUNCH, text)
    path.chmod(0o755)
    return path
