"""The console task data (tools/task/): grammar, machines, the renderer against docs/console.md,
held-out splits, grounded answers, and the ``data task`` command."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tests.cli_run import run_cli
from tools.task import TaskData
from tools.task.answers import AnswerWords, correct, grounded
from tools.task.completions import IndexStates, completions, export
from tools.task.filler import FILLER_RATE, filler_words, pad
from tools.task.grammar import INTENTS, Command, named_addresses, parse_command, request_words
from tools.task.hardware import hardware_tables
from tools.task.index import KnowledgeIndex, WhatisEntry
from tools.task.machines import Machine, dt_device, extra_pool, pci_device, random_machine, virtio_device
from tools.task.render import render
from tools.task.requests import CONTENT, FRAMES, HABITS, phrases, pool_texts, templates

DOC = Path(__file__).resolve().parents[1] / "docs" / "console.md"


def _doc_block(after: str) -> list[str]:
    """The first fenced block after the line ``after`` in docs/console.md."""
    text = DOC.read_text()
    m = re.search(re.escape(after) + r".*?```\n(.*?)```", text, re.S)
    assert m, f"docs/console.md has no block after {after!r}"
    return m.group(1).splitlines()


def _doc_machine() -> Machine:
    """The four devices of docs/console.md's device table, built the way the task data builds them."""
    t = hardware_tables()
    rng = random.Random(0)
    e1000 = pci_device("00:02.0", "8086:100e", 0x020000, 0xFEBC0000, rng, t)
    e1000 = e1000.model_copy(update={"subvendor": 0x1AF4, "subdevice": 0x1100})
    e1000.bars[0].size = 0x20000
    e1000.modalias = "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00"
    devices = [
        pci_device("00:00.0", "8086:1237", 0x060000, 0, rng, t),
        e1000,
        virtio_device(0x10008000, 1, t),
        dt_device("serial@10000000", ("ns16550a",), "serial", t),
    ]
    m = random_machine("x86_64", "train", 0, 0, t)
    return m.model_copy(update={"devices": devices, "uptime_us": 83_500_000})


INDEX = KnowledgeIndex(
    packages={
        "bind9-dnsutils": "Clients provided with BIND 9",
        "nginx": "small, powerful, scalable web/proxy server",
    },
    commands={"dig": ["bind9-dnsutils"]},
    whatis={"gzip": [WhatisEntry(section="1", description="compress or expand files")]},
)


def test_parse_command_accepts_the_console_commands_and_nothing_else():
    assert parse_command("devices") == Command(intent="devices")
    assert parse_command("devices  network") == Command(intent="devices", args=("network",))
    assert parse_command("device 00:02.0").args == ("00:02.0",)
    assert parse_command("driver virtio@10008000").intent == "driver"
    assert parse_command("driver usb").args == ("usb",)
    assert parse_command("pkg show nginx") == Command(intent="pkg_show", args=("nginx",))
    assert parse_command("pkg search web server").args == ("web", "server")
    assert parse_command("none").intent == "none"
    for bad in ("", "poweroff", "set seed=1", "help", "devices gpu", "devices network storage", "cpu now",
                "device", "device 0:2.0", "provides", "provides [", "pkg", "pkg show", "pkg show A B",
                "pkg search", "pkg search -x", "recipe for pasta", "whatis gzip\x00"):  # fmt: skip
        assert parse_command(bad) is None, bad
    for text in ("devices usb", "pkg search dns tools", "provides dig", "uptime"):
        assert parse_command(text).text == text


def test_device_table_matches_docs_console_md():
    out = render(parse_command("devices"), _doc_machine(), INDEX).splitlines()
    assert out[0] == "auton: devices class=all count=4"
    assert out[1:-1] == _doc_block("### The device table")
    assert out[-1] == "auton: end command=devices rc=0"


def test_device_detail_holds_docs_console_md_lines():
    out = render(parse_command("device 00:02.0"), _doc_machine(), INDEX).splitlines()
    doc = _doc_block("### `device ADDRESS`")
    assert out == doc  # line for line, in the kernel's order (kernel/console/cmd_hw.c)


def test_other_outputs_match_the_contract():
    m = _doc_machine()
    assert render(parse_command("provides dig"), m, INDEX).splitlines()[:2] == [
        "auton: provides command=dig count=1 packages=bind9-dnsutils",
        "dig: bind9-dnsutils",
    ]
    assert "gzip (1) - compress or expand files" in render(parse_command("whatis gzip"), m, INDEX)
    assert (
        render(parse_command("uptime"), m, INDEX)
        == "auton: uptime us=83500000\nup 0:01:23\nauton: end command=uptime rc=0\n"
    )
    show = render(parse_command("pkg show nginx"), m, INDEX).splitlines()
    assert show[0] == "auton: pkg show name=nginx found=1" and show[-1] == "auton: end command=pkg rc=0"
    assert render(parse_command("provides foo"), m, INDEX).endswith("auton: end command=provides rc=1\n")
    search = render(parse_command("pkg search web server"), m, INDEX).splitlines()
    assert search[:2] == [
        'auton: pkg search words="web server" count=1 shown=1',
        "nginx - " + INDEX.packages["nginx"],
    ]
    assert render(Command(intent="none"), m, INDEX) == ""


def test_grounded_catches_a_name_absent_from_the_output():
    out = render(parse_command("devices network"), _doc_machine(), INDEX)
    assert grounded("There are 2 network devices, at 00:02.0 and virtio@10008000.", out)
    assert not grounded("There are 2 network devices, at 00:02.0 and virtio@10009000.", out)  # absent address
    assert not grounded("The network device uses the igb driver.", out)  # a driver the output does not hold
    assert not grounded("There are 3 network devices.", out)  # a number the output does not hold
    assert not correct("This machine has devices.", out, ["2"])  # grounded but misses the asked fact


def test_answer_words_let_a_value_be_copied_only_whole():
    out = render(parse_command("uptime"), _doc_machine(), INDEX)
    up = out.splitlines()[1]  # "up H:MM:SS"
    w = AnswerWords(out)
    assert w.could_start("The system has been " + up[:-1]) and w.complete(f"The system has been {up}.")
    assert not w.could_start("The system has been " + up[:-1] + "x")  # a digit the output lacks
    assert not w.complete("The system has been " + up[:-2])  # a number cut short
    assert not w.could_start("The system,, has")  # a separator neither the frames nor the output use
    assert not w.could_start("THE system") and w.could_start("the system")  # frame words as written
    desc = render(parse_command("pkg show nginx"), _doc_machine(), INDEX)
    w = AnswerWords(desc)
    assert w.complete("Package nginx: " + INDEX.packages["nginx"] + ".")
    assert w.could_start("nginx nginx ") and not w.could_start("nginx nginx nginx ")  # a copying loop


def test_every_reference_is_valid_grounded_and_in_the_completions(task_dataset):
    data = TaskData(task_dataset)
    machines, shared = data.machines(), IndexStates(data.index())
    for split in ("train", "val", "test"):
        for e in data.examples(split):
            state = completions(machines[e.machine], shared, e.request).walk(e.command)
            assert parse_command(e.command) is not None and state is not None and state.terminal, e.command
            assert correct(e.answer, e.output, e.facts), (e.answer, e.output)
    m = next(iter(machines.values()))
    absent = next(f"00:{i:02x}.0" for i in range(32) if m.device(f"00:{i:02x}.0") is None)
    root = completions(m, shared, "")
    assert root.walk(f"device {absent}") is None and root.walk("poweroff") is None
    states = export(root)["states"]  # the data the kernel's decoder can mirror
    s = 0
    for ch in "devices usb":
        s = states[s]["edges"][ch]
    assert states[s]["terminal"] and json.dumps(states)


def test_arguments_a_request_names_are_copied(task_dataset):
    """device/driver take an address of the machine the request types, in any case;
    provides/whatis/pkg show take a name the request holds, passing over phrasing words while
    there are others and taking only well-known names among them when there are none; pkg search takes only the request's words; a request that names no
    command or package offers none."""
    data = TaskData(task_dataset)
    index, shared = data.index(), IndexStates(data.index())
    m = next(iter(data.machines().values()))
    cmd_a, cmd_b = sorted(index.command_names)[:2]
    pkg = sorted(shared.package_names)[0]
    assert request_words(f"what does {cmd_a} do?.. (see {pkg}.)") == ["what", "does", cmd_a, "do", "see", pkg]

    def ok(request: str, command: str) -> bool:
        state = completions(m, shared, request).walk(command)
        return state is not None and state.terminal

    addr, other = m.devices[0].addr, m.devices[1].addr
    assert ok(f"what is at {addr}?", f"device {addr}") and ok(f"DRIVER OF {addr.upper()}.", f"driver {addr}")
    assert not ok(f"what is at {addr}?", f"device {other}") and not ok(f"what is at {addr}x", f"device {addr}")
    assert not ok("show me the hardware", f"device {addr}") and ok("the disk driver", "driver storage")
    assert named_addresses(f"{other}, then {addr}: thanks", [addr, other, "pmu"]) == [addr, other]
    assert ok(f"what is {cmd_a}?", f"whatis {cmd_a}") and not ok(f"what is {cmd_a}?", f"whatis {cmd_b}")
    assert ok(f"which package ships {cmd_a}", f"provides {cmd_a}") and not ok("how do I get it", f"provides {cmd_b}")
    assert not ok("what's the meaning of life", f"whatis {cmd_b}")  # names no command: no whatis at all
    phrased = sorted(shared.phrasing_names & shared.command_names)[0]  # a phrasing word, a well-known command
    assert ok(f"what does {phrased} do", f"whatis {phrased}")  # the only name it holds
    assert not ok(f"please show {phrased} {cmd_a}", f"whatis {phrased}") and ok(f"show {cmd_a} please", f"whatis {cmd_a}")
    only = sorted((shared.phrasing - shared.phrasing_names) & shared.command_names)[0]  # a phrasing word alone
    assert not ok(f"give me {only} please", f"whatis {only}") and not ok(f"give me {only}", f"provides {only}")
    assert "find" in shared.phrasing_names and "the" in shared.phrasing - shared.phrasing_names
    assert ok(f"apt show {pkg}", f"pkg show {pkg}") and not ok(f"apt show {pkg}", f"pkg show {pkg}x")
    assert ok("Find packages for PDF viewer", "pkg search pdf viewer") and ok("pdf viewer", "pkg search viewer pdf pdf")
    assert not ok("find packages for pdf viewer", "pkg search pdf reader")
    assert ok("??", "pkg search anything")  # no word to copy: free words


def test_held_out_splits_are_disjoint(task_dataset):
    data = TaskData(task_dataset)
    ex = {s: data.examples(s) for s in ("train", "val", "test")}
    templates = {s: {e.template for e in rows} for s, rows in ex.items()}
    machines = {s: {e.machine for e in rows} for s, rows in ex.items()}
    names = {
        s: {e.command for e in rows if e.intent in ("provides", "whatis", "pkg_show")}
        for s, rows in ex.items()
    }
    for held in ("val", "test"):
        assert templates[held] and not templates[held] & templates["train"]
        assert not machines[held] & machines["train"]
        assert names[held] and not {c.split(" ")[-1] for c in names[held]} & {
            c.split(" ")[-1] for c in names["train"]
        }
    pools = {s: set(p) for s, p in extra_pool(hardware_tables()).items()}
    assert pools["test"] and not pools["test"] & pools["train"] and not pools["val"] & pools["train"]
    manifest = json.loads((task_dataset / "manifest.json").read_text())
    assert manifest["metrics"]["counts"]["test"] == {
        i: sum(e.intent == i for e in ex["test"]) for i in manifest["metrics"]["counts"]["test"]
    }
    assert {"templates", "machines"} <= set(manifest["metrics"]["held_out"])



def test_train_requests_carry_fillers_and_held_out_ones_none(task_dataset):
    """A filler is a dictionary word that no phrasing pool uses and no command or package is
    named: it lands between a train request's words, never in a held-out one's."""
    data = TaskData(task_dataset)
    index = data.index()
    fillers = set(filler_words([*index.command_names, *index.packages]))
    pooled = {w.lower() for text in pool_texts() for w in request_words(text)}
    assert len(fillers) > 10_000 and not fillers & pooled and not fillers & set(index.command_names)

    def padded(e) -> bool:  # a request word that is a filler and not the command's own argument
        args = set(e.command.split(" ")[1:])
        return any(w.lower() in fillers and w not in args for w in request_words(e.request))

    share = {s: sum(map(padded, data.examples(s))) / len(data.examples(s)) for s in ("train", "val", "test")}
    # a held-out request holds one only where a typo made a dictionary word ("about" -> "bout")
    # (Linux habits, a sixth of the train draws, get none)
    assert 0.7 * FILLER_RATE < share["train"] < FILLER_RATE and share["val"] < 0.04 and share["test"] < 0.04, share
    rng = random.Random(7)
    outs = {pad("show me \x00 please", ["zebra"], rng) for _ in range(200)}
    assert "show me \x00 please" in outs and all("\x00" in o.split(" ") for o in outs)
    assert {o.count("zebra") for o in outs} == {0, 1, 2}


def _phrasing(text: str) -> str:
    """A phrasing's words, lowercased, without punctuation: what makes two phrasings the same."""
    return " ".join(re.findall(r"[a-z0-9{}]+", text.lower()))


def test_held_out_requests_share_no_phrasing_with_train():
    train = {_phrasing(t.text) for i in INTENTS for t in templates(i, "train")}
    habits = {h.partition(" => ")[0] for pool in HABITS.values() for h in pool}
    for split in ("val", "test"):
        held_frames, held_content = set(phrases(FRAMES, split)), {i: set(phrases(CONTENT[i], split)) for i in INTENTS}
        for intent in INTENTS:
            held = templates(intent, split)
            assert {t.kind for t in held} == {"whole", "frame"}, intent
            for t in held:
                assert _phrasing(t.text) not in train and t.text not in habits, (split, t.text)
                if t.kind == "frame":  # a held-out frame around held-out content, both unseen in train
                    parts = [(f, c) for f in FRAMES for c in CONTENT[intent] if f.replace("{x}", c) == t.text]
                    assert parts and all(f in held_frames and c in held_content[intent] for f, c in parts), t.text
    assert all(t.kind == "habit" for i in INTENTS for t in templates(i, "train") if t.text in habits)

def test_machines_follow_the_arch():
    t = hardware_tables()
    riscv = random_machine("riscv64", "test", 3, 0, t)
    x86 = random_machine("x86_64", "test", 3, 0, t)
    assert {d.bus for d in riscv.devices} >= {"dt", "virtio", "pci"} and riscv.device("serial@10000000")
    assert {d.bus for d in x86.devices} == {"pci"} and x86.device("00:00.0")
    assert random_machine("riscv64", "test", 3, 0, t) == riscv  # a pure function of its arguments
    virtio_net = next(d for d in riscv.devices if d.bus == "virtio" and d.virtio_id == 1)
    assert virtio_net.driver == "virtio_net" and virtio_net.name == "Virtio network device"


def test_simulated_models_are_named_as_the_pipeline_names_its_exports():
    """A pipeline's GGUF is named after its export directory, the thread id and a request key
    (agents/export.py): most simulated models carry a name of that shape, the rest a user's."""
    from agents.context import request_key
    from graph.runner import new_thread_id

    run_name = re.compile(r"run-\d{8}-\d{6}-[0-9a-f]{4}-[0-9a-f]{10}")
    assert run_name.fullmatch(f"{new_thread_id()}-{request_key('model')}")
    t = hardware_tables()
    names = [random_machine("riscv64", "train", i, 0, t).model.name for i in range(40)]
    runs = [n for n in names if run_name.fullmatch(n)]
    assert len(runs) >= 12 and len(set(runs)) == len(runs)
    assert all(re.fullmatch(r"(micro|tiny|small|medium)-(riscv64|aarch64|x86_64)[-\w]*", n) for n in names if n not in runs)


def test_data_task_cli(tmp_path, capsys):
    out = tmp_path / "task"
    r = run_cli(capsys, "data", "task", "--arch", "aarch64", "--out", str(out), "--train", "40", "--val", "10",
                "--test", "10", "--intent", "cpu", "--intent", "none", "--json")  # fmt: skip
    assert r.code == 0, r.err
    counts = json.loads(r.out)["counts"]
    assert sum(counts["train"].values()) == 40 and set(counts["train"]) == {"cpu", "none"}
    assert (out / "manifest.json").is_file() and (out / "index.json").is_file()
    bad = run_cli(
        capsys, "data", "task", "--arch", "aarch64", "--out", str(tmp_path / "x"), "--intent", "recipes"
    )
    assert bad.code == 2 and bad.err.startswith("error: unknown intents") and "Traceback" not in bad.err
    again = run_cli(capsys, "data", "task", "--arch", "aarch64", "--out", str(out), "--train", "4")
    assert again.code == 2 and "already exists" in again.err


def test_generator_digest_covers_every_module(tmp_path):
    """Task data is keyed by the code that drew it (agents/data.py): an edit to any module of the
    generator shows (the machines and outputs as much as the phrasings); the same code, the same key."""
    from tools.task.build import PACKAGE, generator_sha256

    assert generator_sha256() == generator_sha256()
    copy = tmp_path / "task"
    copy.mkdir()
    for f in PACKAGE.glob("*.py"):
        (copy / f.name).write_bytes(f.read_bytes())
    before = generator_sha256(copy)
    assert before == generator_sha256()
    for name in ("machines.py", "requests.py", "render.py"):
        f = copy / name
        code = f.read_bytes()
        f.write_bytes(code + b"# an edit\n")
        assert generator_sha256(copy) != before, name
        f.write_bytes(code)
    assert generator_sha256(copy) == before
