"""The console task on the booted kernel (tools/kernel_task.py): the live machine read off a real
riscv64 QEMU probe boot renders and answers as the kernel printed, the scorer
(tools/task/score.py) scores a known row set right, the freeform set is no template fill, and an
end-to-end run with the micro tuned model (tests/test_tune.py) types valid commands whose
references are commands of the live machine."""

from __future__ import annotations

import re

import pytest

from tests.cli_run import run_cli
from tests.test_tune import micro_tuned, tiny_task  # noqa: F401  (the tuned micro model's fixtures)
from tools.kernel_console import is_command
from tools.task import TaskRequest, build_task
from tools.task.answers import REFUSAL, answer, grounded, words
from tools.task.build import SPLITS, TaskData
from tools.task.completions import IndexStates, completions
from tools.task.freeform import freeform_requests, freeform_templates
from tools.task.grammar import INTENTS, parse_command
from tools.task.hardware import hardware_tables
from tools.task.live import machine_from_console
from tools.task.machines import random_machine
from tools.task.render import render
from tools.task.requests import CLASS_PHRASES, CLOSERS, OPENERS, TOPICS, Template, templates
from tools.task.score import ScoreRow, score


@pytest.fixture(scope="module")
def live_setup(micro_tuned, kb_blob, kernel_image, tmp_path_factory):  # noqa: F811
    """(the riscv64 image with the micro tuned model and the kb, a task dataset built from that
    kb, the probe boot, its boot log's text)."""
    from tools.export.export import ExportRequest, export
    from tools.kernel import KernelBootRequest, boot

    run, _ = micro_tuned
    root = tmp_path_factory.mktemp("kernel_task")
    blob = kb_blob("riscv64").blob
    gguf = export(ExportRequest(model=run, out=root / "gguf", type="F32", validate=False)).file
    image = kernel_image("riscv64", gguf, blob).image
    task = root / "task"
    build_task(TaskRequest(arch="riscv64", out=task, kb=blob, counts={"train": 1, "val": 1, "test": 1}))
    first = boot(KernelBootRequest(arch="riscv64", image=image, prompts=["devices"], log=root / "first.log"))
    assert first.ok, first.error
    addrs = [row.address for row in first.commands[0].result.rows]
    prompts = ["devices", *(f"device {a}" for a in addrs), "cpu", "memory", "model", "uptime", "driver all"]
    probe = boot(KernelBootRequest(arch="riscv64", image=image, prompts=prompts, log=root / "probe.log"))
    assert probe.ok, probe.error
    return image, task, probe, (root / "probe.log").read_text()


def printed(log: str, line: str) -> str:
    """What the kernel printed for a typed command: its header line to its end line."""
    start = log.index(f"> {line}\n") + len(line) + 3
    end = log.index("\n", log.index("auton: end command=", start)) + 1
    return log[start:end]


def test_live_machine_renders_and_answers_as_the_kernel_printed(live_setup):
    _, task, probe, log = live_setup
    machine = machine_from_console("riscv64", probe.commands)
    index = TaskData(task).index()
    rows = probe.commands[0].result.rows
    assert len(rows) == probe.inventory.devices >= 10
    assert [(d.addr, d.bus, d.kind, d.driver, d.name) for d in machine.devices] == [
        (r.address, r.bus, r.kind, r.driver, r.name) for r in rows
    ]
    checked = set()
    for c in probe.commands:
        cmd = parse_command(c.prompt)
        if cmd is None:  # device-tree nodes without a unit address (pmu, poweroff): no grammar address
            assert c.prompt.startswith("device ") and "@" not in c.prompt
            continue
        kernel = printed(log, c.prompt)
        assert render(cmd, machine, index) == kernel, c.prompt
        sentence, facts = answer(cmd, machine, index)
        printed_words = set(words(kernel))  # a device's name is on two lines (vendor, device)
        assert grounded(sentence, kernel) and all(set(words(f)) <= printed_words for f in facts), sentence
        checked.add(cmd.intent)
    assert checked == {"devices", "device", "driver", "cpu", "memory", "model", "uptime"}
    assert sum(c.prompt.startswith("device ") for c in probe.commands) == len(rows)
    # the simulated machines' cpu lines are the ones the booted kernel prints, its count of the
    # harts it started included: the tuned model reads on a boot what it was tuned on
    tables = hardware_tables()

    def labels(text: str) -> list[str]:
        return [line.split()[0] for line in text.splitlines()]

    cpu = parse_command("cpu")
    assert cpu is not None
    for i in range(8):
        simulated = random_machine("riscv64", "test", i, 0, tables)
        assert labels(render(cpu, simulated, index)) == labels(printed(log, "cpu"))


OUT_NET = (
    "auton: devices class=network count=1\nADDRESS           BUS     ID         CLASS    DRIVER      NAME\n"
    "00:02.0           pci     8086:100e  network  e1000       Intel Corporation 82540EM\n"
    "auton: end command=devices rc=0\n"
)
OUT_DEV = "auton: device addr=00:03.0 bus=pci id=1af4:1001 kind=storage driver=virtio_blk\nauton: end command=device rc=0\n"
OUT_MEM = "auton: memory total=134217728\ntotal:      128.0 MiB\nfree:       123.4 MiB\nauton: end command=memory rc=0\n"


def test_scorer_scores_a_known_row_set():
    rows = [
        ScoreRow(request="nics?", reference="devices network", command="devices network", output=OUT_NET,
                 answer="The network device is Intel Corporation 82540EM at 00:02.0.",
                 facts=["Intel Corporation 82540EM", "00:02.0"]),
        ScoreRow(request="what is 00:02.0", reference="device 00:02.0", command="device 00:03.0", output=OUT_DEV,
                 answer="The device at 00:03.0 is virtio_blk.", facts=["Intel Corporation 82540EM"]),
        ScoreRow(request="a joke", reference="none", command="none", output="", answer=REFUSAL),
        ScoreRow(request="cores", reference="cpu", command="none", output="", answer=REFUSAL, facts=["2"]),
        ScoreRow(request="a poem", reference="none", command="memory", output=OUT_MEM,
                 answer="The machine has 999.0 MiB of memory and 123.4 MiB free.", facts=[]),
        ScoreRow(request="up?", reference="uptime", command="uptime now"),
    ]  # fmt: skip
    s = score(rows)
    assert s.examples == 6 and s.answers_scored == 5
    assert (s.command_exact, s.intent_accuracy, s.argument_accuracy) == (2 / 6, 3 / 6, 2 / 3)
    assert (s.refusal_precision, s.refusal_recall) == (1 / 2, 1 / 2)
    assert (s.grounded_accuracy, s.grounded_rate) == (2 / 5, 4 / 5)
    assert {k: (v.n, v.exact, v.confusions) for k, v in s.per_intent.items()} == {
        "devices": (1, 1.0, {}),
        "device": (1, 0.0, {}),
        "none": (2, 0.5, {"memory": 1}),
        "cpu": (1, 0.0, {"none": 1}),
        "uptime": (1, 0.0, {"invalid": 1}),
    }
    assert s.samples[5] == {"request": "up?", "reference": "uptime", "command": "uptime now"}
    assert score(rows, answers=False).grounded_accuracy is None


def _alternatives(values) -> str:
    return "(?:" + "|".join(re.escape(v) for v in values) + ")"


SLOT_PATTERNS = {
    "cls": _alternatives(p for pool in CLASS_PHRASES.values() for p in pool),
    "addr": r"\S+",
    "cmd": r"\S+",
    "pkg": r"\S+",
    "words": r"\S+(?: \S+)?",
    **{topic: _alternatives(pool) for topic, pool in TOPICS.items()},
}


def _fill_pattern(t: Template) -> re.Pattern[str]:
    """A template as a regex of its fills: a slot value of its kind, an opener or closer allowed."""
    body = re.sub(r"\\\{(\w+)\\\}", lambda m: SLOT_PATTERNS[m.group(1)], re.escape(t.text))
    return re.compile(rf"{_alternatives(OPENERS)}?{body}{_alternatives(CLOSERS)}?\??", re.I)


def test_freeform_requests_are_no_template_fills(task_dataset):
    mine = freeform_templates()
    assert 30 <= len(mine) <= 40 and {t.intent for t in mine} == set(INTENTS)
    patterns = [_fill_pattern(t) for i in INTENTS for split in SPLITS for t in templates(i, split)]
    data = TaskData(task_dataset)
    machine = next(iter(data.machines().values()))
    pairs = freeform_requests(machine, data.index())
    shared = IndexStates(data.index())
    assert len(pairs) == len(mine)
    for t, (text, cmd) in zip(mine, pairs, strict=True):
        assert not is_command(text), text
        assert not [p.pattern for p in patterns if p.fullmatch(text)], text
        root = completions(machine, shared, text)
        assert cmd.intent == t.intent and parse_command(cmd.text) == cmd and root.walk(cmd.text).terminal, (
            text
        )
        assert t.slot is None or " ".join(cmd.args) in text, (text, cmd)


def test_score_console_end_to_end(live_setup, tmp_path):
    from tools.kernel_task import ConsoleTaskRequest, ConsoleTaskResult, score_console

    image, task, probe, _ = live_setup
    r = score_console(ConsoleTaskRequest(arch="riscv64", image=image, task=task, n=12, out=tmp_path / "out"))
    assert r.boots_ok and r.error is None, r.error
    print(
        f"kernel task (micro): template exact {r.template.command_exact:.1%} intent {r.template.intent_accuracy:.1%}, "
        f"freeform exact {r.freeform.command_exact:.1%}; latency median {r.latency_median_s:.3f} s p90 {r.latency_p90_s:.3f} s"
    )
    assert r.template.examples == 12 and r.freeform.examples >= 30
    assert r.requests == len(r.exchanges) == r.template.examples + r.freeform.examples
    assert r.machine == probe.inventory.devices
    machine = machine_from_console("riscv64", probe.commands)
    shared = IndexStates(TaskData(task).index())
    for x in r.exchanges:
        assert parse_command(x.row.command) is not None, x
        assert completions(machine, shared, x.row.request).walk(x.row.reference).terminal, x.row.reference
        assert f"auton: command {x.row.command}" in x.text and x.seconds > 0
    assert 0 < r.latency_median_s <= r.latency_p90_s
    assert ConsoleTaskResult.model_validate_json(r.result.read_text()) == r
    assert r.transcript.read_text().count("(reference: ") == 10
    assert all(log.is_file() for log in r.logs) and len(r.logs) == 2 + 1  # discover, probe, the requests
    assert re.search(r"harts:\s+2 online of 2", r.logs[1].read_text())  # every boot has the default 2 harts
    serial = score_console(
        ConsoleTaskRequest(
            arch="riscv64", image=image, task=task, n=12, parallel=2, smp=1, freeform=False, out=tmp_path / "one"
        )
    )
    # one kernel of 2 harts or two of one side by side: the same exchanges, in the same order (greedy)
    def chosen(xs):  # (uptime outputs differ between boots; the choices may not)
        return [(x.row.request, x.row.reference, x.row.command, x.row.answer is None) for x in xs]

    assert chosen(serial.exchanges) == chosen(x for x in r.exchanges if x.set == "template")


def test_kernel_task_cli(live_setup, tiny_task, tmp_path, capsys):  # noqa: F811
    image, task, _, _ = live_setup
    args = ["kernel", "task", "--arch", "riscv64", "--image", str(image), "-n", "12"]
    r = run_cli(capsys, *args, "--task", str(task), "--out", str(tmp_path / "ok"))
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[1].startswith("template  n=12 ") and lines[2].startswith("freeform ") and "p90" in lines[3]
    other = run_cli(capsys, *args, "--task", str(tiny_task), "--out", str(tmp_path / "other"))
    assert (
        other.code == 2 and "not the image's knowledge tables" in other.err and "Traceback" not in other.err
    )
    r = run_cli(capsys, *args[:5], str(tmp_path / "x.img"), "--task", str(task), "--out", str(tmp_path / "x"))
    assert r.code == 2 and r.err.startswith("error: ") and "no such kernel image" in r.err


def test_probe_without_a_reply_is_a_check_failure(live_setup):
    from tools.errors import CheckFailed

    probe = live_setup[2]
    with pytest.raises(CheckFailed, match="no parsed `memory` reply"):
        machine_from_console("riscv64", [c for c in probe.commands if c.command != "memory"])
