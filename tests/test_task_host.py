"""The task data's package outputs are the kernel's, byte for byte: every provides, whatis, pkg
show and pkg search command of a task dataset built on a knowledge blob is typed on the host
build of the kernel console (slm-run --console --kb) and its output compared with the example's."""

from __future__ import annotations

import re
import subprocess

from tests.fixtures_kernel import random_gguf
from tools.kernel_console import console_text
from tools.task import TaskData, TaskRequest, build_task

PACKAGE_INTENTS = ["provides", "whatis", "pkg_show", "pkg_search"]


def test_package_outputs_match_the_kernel_console(
    kb_blob, host_runtime, micro_config, micro_dataset, tmp_path
):
    blob = kb_blob("riscv64").blob
    out = tmp_path / "task"
    build_task(
        TaskRequest(
            arch="riscv64",
            out=out,
            kb=blob,
            intents=PACKAGE_INTENTS,
            counts={"train": 1, "val": 1, "test": 80},
        )
    )
    examples = TaskData(out).examples("test")
    gguf = random_gguf(tmp_path, micro_dataset / "tokenizer.json", micro_config.model, "Q8_0")
    typed = "".join(f"{e.command.replace('pkg_', 'pkg ')}\n" for e in examples) + "poweroff\n"
    r = subprocess.run(
        [str(host_runtime), str(gguf), "--console", "-n", "1", "--kb", str(blob)],
        input=typed.encode(),
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-500:]
    printed = re.findall(
        r"^> ([^\n]*)\n(.*?auton: end command=\S+ rc=\d\n)", console_text(r.stdout), re.S | re.M
    )
    assert [cmd for cmd, _ in printed] == [e.command for e in examples]
    for e, (_, text) in zip(examples, printed, strict=True):
        assert text == e.output, e.command
    assert {e.intent for e in examples} == set(PACKAGE_INTENTS)
