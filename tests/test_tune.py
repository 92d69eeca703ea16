"""Task tuning (tools/tune/): the chat format, constrained decoding, the WSD clock schedule, a real
micro tuning run to >= 90% held-out command exact match, resume, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer

from tests.cli_run import run_cli
from tests.fixtures_train import torch_threads
from tools import checkpoint as ckpt
from tools.task import TaskData, TaskRequest, build_task
from tools.task.answers import AnswerWords, grounded
from tools.task.build import TaskExample, jsonl
from tools.task.completions import IndexStates, completions
from tools.task.grammar import parse_command
from tools.tune import CHAT_TEMPLATE, TaskEvalRequest, TuneRequest, evaluate_task, tune
from tools.tune.chat import command_prompt, encode_exchange, extend_tokenizer, read_output
from tools.tune.constrain import TokenMask, decode_answer, decode_command, token_texts
from tools.tune.schedule import Schedule

# The tiny command set: a frame and a keyword make a request; held-out requests are
# frame x keyword combinations that training never saw (each frame and keyword it did see).
KEYWORDS = {
    "cpu": ["cpu", "processor", "cores"],
    "memory": ["memory", "ram", "free memory"],
    "uptime": ["uptime", "time since boot"],
    "devices network": ["network cards", "nics"],
    "devices storage": ["disks", "drives", "storage"],
    "none": ["a joke", "the weather", "a recipe"],
}
FRAMES = [
    "show {}",
    "tell me about {}",
    "what about {}?",
    "list {} please",
    "i want {}",
    "{}",
    "give me {}",
    "check the {}",
]
MICRO_TUNE_STEPS = 150


def write_tiny_command_set(out: Path, task_index) -> Path:
    """A task dataset (machines and index from build_task) whose examples are the tiny command set."""
    build_task(
        TaskRequest(arch="riscv64", out=out, counts={"train": 1, "val": 1, "test": 1}, intents=["cpu"]),
        index=task_index,
    )
    rows: dict[str, list[TaskExample]] = {"train": [], "val": [], "test": []}
    for c, (command, keys) in enumerate(KEYWORDS.items()):
        for k, key in enumerate(keys):
            for f, frame in enumerate(FRAMES):
                split = "test" if (f + k + c) % 4 == 0 else "train"
                for s in [split, "val"] if split == "test" else [split]:
                    rows[s].append(
                        TaskExample(
                            id=f"{s}-{len(rows[s])}",
                            split=s,
                            intent=command.split()[0],
                            template=frame,
                            machine=f"riscv64-{s}-0",
                            request=frame.format(key),
                            command=command,
                            output="",
                            answer="",
                            facts=[],
                        )  # fmt: skip
                    )
    for s, r in rows.items():
        (out / f"{s}.jsonl").write_text(jsonl(r))
    return out


@pytest.fixture(scope="module")
def tiny_task(task_index, tmp_path_factory) -> Path:
    return write_tiny_command_set(tmp_path_factory.mktemp("tune") / "task", task_index)


def _tune_req(model: Path, task: Path, data: Path, out: Path, **kw) -> TuneRequest:
    args = dict(model=model, task=task, data=data, out=out, max_steps=MICRO_TUNE_STEPS, lr=3e-3, device="cpu",
                answers=False, warmup_steps=10, eval_interval=1000)  # fmt: skip
    return TuneRequest(**(args | kw))


@pytest.fixture(scope="module")
def micro_tuned(micro_run, micro_dataset, tiny_task, tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("tune") / "run"
    t0 = time.perf_counter()
    with torch_threads(1):
        result = tune(_tune_req(micro_run, tiny_task, micro_dataset, out))
    assert result.status == "completed" and result.steps == MICRO_TUNE_STEPS
    return out, time.perf_counter() - t0


def test_micro_model_learns_the_tiny_command_set(micro_tuned, tiny_task):
    run, seconds = micro_tuned
    with torch_threads(1):
        r = evaluate_task(TaskEvalRequest(model=run, task=tiny_task, answers=False))
    print(
        f"micro tune: {seconds:.1f} s, held-out command exact {r.command_exact:.1%}, intent {r.intent_accuracy:.1%}"
    )
    assert r.examples == len(TaskData(tiny_task).examples("test")) > 20
    assert r.command_exact >= 0.9, r.per_intent
    assert r.refusal_recall is not None and r.refusal_recall >= 0.8
    step = ckpt.resolve_checkpoint(run)
    tok = Tokenizer.from_file(str(step / ckpt.TOKENIZER))
    model = ckpt.load_model(step)
    assert tok.token_to_id("<|end|>") is not None and model.config.vocab_size == tok.get_vocab_size()


# requests that name nothing, a command, a package, search words, or junk
REQUESTS = [
    "",
    "what does ls do",
    "apt show vim please",
    "find packages for pdf viewer",
    "?? x.. -- ++",
    "DIG. dig",
]


def test_constrained_decoder_never_emits_an_invalid_command(micro_dataset, task_dataset):
    """10k random logit vectors, scaled from flat to peaked: every decode is a valid, complete
    command of its machine, within the token budget."""
    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    data = TaskData(task_dataset)
    machines = list(data.machines().values())
    shared = IndexStates(data.index())
    mask = TokenMask(tok, ids.end)
    gen = torch.Generator().manual_seed(0)
    vectors = decodes = 0
    while vectors < 10_000:
        m = machines[decodes % len(machines)]
        root = completions(m, shared, REQUESTS[decodes % len(REQUESTS)])
        scale = float(torch.rand(1, generator=gen)) * 20
        budget = 8 + decodes % 40

        def next_logits(_token, scale=scale):
            nonlocal vectors
            vectors += 1
            return torch.randn(tok.get_vocab_size(), generator=gen) * scale

        out = decode_command(next_logits, root, mask, budget)
        text = tok.decode(out)
        state = root.walk(text)
        assert len(out) < budget and state is not None and state.terminal, text
        assert parse_command(text) is not None, text
        decodes += 1
    assert decodes > 500


def test_constrained_answers_are_always_grounded(micro_dataset, task_dataset):
    """Random logit vectors after real outputs: every answer names only words the output or the
    frames hold, and may end where it ends (one the budget cut is cut back to where it could)."""
    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    texts = token_texts(tok)
    data = TaskData(task_dataset)
    examples = [e for e in data.examples("val") if e.output][:40]
    gen = torch.Generator().manual_seed(1)
    vectors = answered = 0
    for n, e in enumerate(examples * 5):
        scale = float(torch.rand(1, generator=gen)) * 20
        aw = AnswerWords(e.output)

        def next_logits(_token, scale=scale):
            nonlocal vectors
            vectors += 1
            return torch.randn(tok.get_vocab_size(), generator=gen) * scale

        out = decode_answer(next_logits, aw, texts, ids.end, 8 + n % 40)
        text = tok.decode(out)
        assert not out or (grounded(text, e.output) and aw.complete(text)), (text, e.output)
        answered += bool(out)
    assert vectors > 2000 and answered > 150


def test_chat_template_renders_the_training_layout(micro_dataset):
    from jinja2 import Template

    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    output = "auton: uptime us=1\nup 0:00:00\nauton: end command=uptime rc=0\n"
    messages = [
        {"role": "user", "content": "How long UP?"},
        {"role": "assistant", "content": "uptime"},
        {"role": "tool", "content": read_output(output)},
        {"role": "assistant", "content": "The system has been up 0:00:00."},
    ]
    text = Template(CHAT_TEMPLATE).render(messages=messages, bos_token="<s>")
    seq, learn = encode_exchange(
        tok, ids, "How long UP?", "uptime", output, "The system has been up 0:00:00.", 512
    )
    assert tok.encode(text, add_special_tokens=False).ids == seq
    assert text.startswith("<s><|request|>how long up?<|command|>")  # the model reads ASCII capitals folded
    learned = tok.decode([t for t, on in zip(seq, learn, strict=True) if on], skip_special_tokens=False)
    assert learned == "uptime<|end|>The system has been up 0:00:00.<|end|>"  # loss on the model's turns only
    prompt = Template(CHAT_TEMPLATE).render(messages=messages[:1], bos_token="<s>")
    assert prompt.endswith("<|command|>")
    assert read_output(output) == "auton: uptime us=1\nup 0:00:00\n"  # the closing line is not read
    assert read_output(output.rstrip("\n")) == read_output(output) and read_output("a\nb\n") == "a\nb\n"


def test_a_long_output_is_cut_to_the_lines_that_leave_the_answer_room(micro_dataset):
    from tools.task.answers import AnswerWords
    from tools.tune.chat import ANSWER_ROOM, encode_text, fit_output

    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    rows = "".join(f"pkg-{i} - a package number {i}\n" for i in range(40))
    output = f"auton: pkg search words=pkg count=40\n{rows}auton: end command=pkg rc=0\n"
    assert fit_output(tok, output, 4096, 10) == output.removesuffix("auton: end command=pkg rc=0\n")
    before, context = 12, 160
    room = context - before - 3 - ANSWER_ROOM
    seen = fit_output(tok, output, context, before)
    assert seen and output.startswith(seen) and seen.endswith("\n") and seen != output
    assert len(encode_text(tok, seen)) <= room  # the longest head of whole lines that fits
    assert len(encode_text(tok, output[: output.index("\n", len(seen)) + 1])) > room
    assert fit_output(tok, "x" * 2000 + "\nsmall\n", context, before) is None  # not even line 1
    # the answer is learned where the head grounds it, the command alone where it does not
    for answer, whole in (
        ("40 packages match, for example pkg-0.", True),
        ("40 packages match, for example pkg-39.", False),
    ):
        assert AnswerWords(output).complete(answer)
        seq, learn = encode_exchange(
            tok, ids, "packages about pkg", "pkg search pkg", output, answer, context
        )
        assert (seq.count(ids.end) == 2) == whole and len(seq) <= context + 1


def test_command_only_batches_carry_more_requests_and_only_the_command_turn(micro_dataset):
    from tools.dataset import BOS_ID
    from tools.tune.data import TaskBatches, steps_in_share

    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    seqs = [
        encode_exchange(tok, ids, f"show disk {i}", "devices storage", "auton: devices\nvirtio@1 block", "One disk.", 512)
        for i in range(10)
    ]  # fmt: skip
    batches = TaskBatches(seqs, seed=7, command_share=0.5, command_factor=3)
    kinds = [int((batches.batch(k, 2, 512)[0] == BOS_ID).sum()) for k in range(6)]  # exchanges per batch
    assert kinds == [2, 6, 2, 6, 2, 6] and batches.consumed(6, 2) == 3 * 2 + 3 * 6
    x, y, _ = batches.batch(1, 2, 512)
    assert x.shape[0] == 1  # six short exchanges share one row
    learned = tok.decode([t for t in y[0].tolist() if t != -100], skip_special_tokens=False)
    assert learned == "devices storage<|end|>" * 6  # the answer turn is cut off
    assert int((x == ids.output).sum()) == 0
    assert torch.equal(
        TaskBatches(seqs, seed=7, command_share=0.5, command_factor=3).batch(5, 2, 512)[0],
        batches.batch(5, 2, 512)[0],
    )
    assert steps_in_share(6, 0.5) == 3


def test_packed_exchanges_keep_the_loss_each_has_alone(micro_run, micro_dataset):
    """Packing is only a speed-up: every exchange in a packed row sees itself alone, so each
    learned token's loss is the one a row of its own gives."""
    import torch.nn.functional as F

    from tools.tune.data import pack, packed_mask

    tok = Tokenizer.from_file(str(micro_dataset / "tokenizer.json"))
    ids = extend_tokenizer(tok)
    model = ckpt.load_model(ckpt.resolve_checkpoint(micro_run))
    model.resize_token_embeddings(tok.get_vocab_size())
    model.eval()
    outputs = ["auton: devices\nvirtio@1 block", "auton: cpu\nharts 2", "auton: uptime 5 s"]
    seqs = [
        encode_exchange(tok, ids, f"show thing {i}" + " please" * i, "devices storage", outputs[i % 3], f"{i} disks.", 64)
        for i in range(7)
    ]  # fmt: skip
    context = max(len(s) for s, _ in seqs) * 2
    x, y, pos = pack(seqs, context)
    assert x.shape[0] < len(seqs) and x.shape[1] <= context  # rows hold more than one exchange
    with torch.no_grad():
        logits = model(input_ids=x, attention_mask=packed_mask(pos), position_ids=pos).logits
        packed = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-100, reduction="none")
        alone = []
        for s, learn in seqs:
            xs, ys, _ = pack([(s, learn)], context)
            la = model(input_ids=xs).logits
            alone.append(F.cross_entropy(la[0], ys[0], ignore_index=-100, reduction="none")[ys[0] != -100])
    got = packed[y.view(-1) != -100]
    want = torch.cat(alone)
    assert got.shape == want.shape and torch.allclose(got.sort().values, want.sort().values, atol=1e-4)


def test_wsd_schedule_and_the_clock():
    s = Schedule(lr=1.0, warmup_steps=10, decay_fraction=0.2, total_steps=100)
    assert s.lr_at(5) == 0.5 and s.lr_at(10) == 1.0 and s.lr_at(80) == 1.0
    decay = [s.lr_at(k) for k in range(81, 101)]
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False)) and 0 < decay[-1] <= 0.05
    clock = Schedule(lr=1.0, warmup_steps=10, decay_fraction=0.2, budget_s=60.0)
    assert clock.total_steps is None and clock.lr_at(500) == 1.0 and not clock.done(500)
    clock.resize(step=20, elapsed_s=10.0, steps_this_process=20, seconds_this_process=10.0)
    assert clock.total_steps == 20 + 100  # 50 s left at 2 steps/s
    clock.resize(step=100, elapsed_s=50.0, steps_this_process=100, seconds_this_process=50.0)
    assert clock.total_steps == 120  # the decay has begun: the length stays
    assert clock.done(120)


def test_tune_on_the_clock_sizes_its_steps_and_decays(micro_run, micro_dataset, tiny_task, tmp_path):
    t0 = time.perf_counter()
    with torch_threads(1):
        r = tune(
            _tune_req(micro_run, tiny_task, micro_dataset, tmp_path / "clock", max_steps=None, minutes=0.06)
        )
    wall = time.perf_counter() - t0
    records = [json.loads(line) for line in (tmp_path / "clock" / ckpt.METRICS).read_text().splitlines()]
    lrs = [x["lr"] for x in records if x["event"] == "train"]
    assert r.status == "completed" and r.steps == r.total_steps > 10
    assert r.wall_s < 0.06 * 60 * 1.3 and wall < 30
    assert lrs[-1] < max(lrs) / 2  # the schedule reached its decay before the clock ran out


def test_interrupted_tune_resumes_to_the_uninterrupted_weights(micro_run, micro_dataset, tiny_task, tmp_path):
    kw = dict(
        max_steps=12, eval_interval=6, log_interval=3, pretrain_fraction=0.25, answers=True, command_share=0.5
    )
    with torch_threads(1):
        tune(_tune_req(micro_run, tiny_task, micro_dataset, tmp_path / "a", **kw))

        def stop_at_6(task, done, total=None, **fields):
            if done == 6:
                os.kill(os.getpid(), signal.SIGINT)

        cut = tune(_tune_req(micro_run, tiny_task, micro_dataset, tmp_path / "b", **kw), progress=stop_at_6)
        assert cut.status == "interrupted" and cut.steps in (6, 7)
        done = tune(_tune_req(micro_run, tiny_task, micro_dataset, tmp_path / "b", resume=True, **kw))
    assert done.status == "completed" and done.steps == 12
    a = ckpt.load_weights(ckpt.resolve_checkpoint(tmp_path / "a", prefer=ckpt.LATEST))
    b = ckpt.load_weights(ckpt.resolve_checkpoint(tmp_path / "b", prefer=ckpt.LATEST))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_tune_cli(micro_tuned, micro_run, micro_dataset, tiny_task, task_dataset, tmp_path, capsys):
    run, _ = micro_tuned
    r = run_cli(
        capsys, "tune", "eval", "--model", str(run), "--task", str(task_dataset), "--limit", "6", "--json"
    )
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["examples"] == 6 and 0 <= result["command_exact"] <= 1
    assert all(parse_command(s["command"]) is not None for s in result["samples"])
    assert result["grounded_accuracy"] is None or 0 <= result["grounded_accuracy"] <= 1
    bad = run_cli(capsys, "tune", "--model", str(tmp_path / "nope"), "--task", str(tiny_task), "--data",
                  str(micro_dataset), "--out", str(tmp_path / "o"), "--max-steps", "2")  # fmt: skip
    assert bad.code == 2 and bad.err.startswith("error:") and "Traceback" not in bad.err
    again = run_cli(capsys, "tune", "--model", str(micro_run), "--task", str(tiny_task), "--data",
                    str(micro_dataset), "--out", str(run), "--max-steps", "2")  # fmt: skip
    assert again.code == 2 and "already holds a run" in again.err
    seeded = run_cli(capsys, "tune", "--model", str(micro_run), "--task", str(tiny_task), "--data",
                     str(micro_dataset), "--out", str(tmp_path / "s"), "--max-steps", "2",
                     "--seed", "7", "--json")  # fmt: skip
    assert seeded.code == 0, seeded.err
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert json.loads(seeded.out)["steps"] == 2 and manifest["parameters"]["request"]["seed"] == 7


def test_gguf_chat_template_gives_the_same_commands_in_llama_cpp(micro_tuned, tiny_task, tmp_path):
    """The tuned model exported to GGUF carries its chat template and end-of-turn token, so
    llama-cpp-python's chat completion prompts it exactly as the kernel does: its greedy command
    for each held-out request is the one PyTorch's unconstrained greedy decode writes."""
    from gguf import GGUFReader
    from llama_cpp import Llama

    from tools.export.export import ExportRequest, export

    run, _ = micro_tuned
    gguf = export(ExportRequest(model=run, out=tmp_path / "exp")).file
    fields = GGUFReader(gguf).fields
    template = fields["tokenizer.chat_template"]
    assert bytes(template.parts[template.data[0]]).decode() == CHAT_TEMPLATE
    step = ckpt.resolve_checkpoint(run)
    tok = Tokenizer.from_file(str(step / ckpt.TOKENIZER))
    ids = extend_tokenizer(tok)
    eot = fields["tokenizer.ggml.eot_token_id"]
    assert int(eot.parts[eot.data[0]][0]) == ids.end
    model = ckpt.load_model(step)
    llm = Llama(
        model_path=str(gguf), n_ctx=int(model.config.max_position_embeddings), n_threads=1, verbose=False
    )
    requests = [e.request for e in TaskData(tiny_task).examples("test")][:12]
    agree = valid = 0
    for request in requests:
        got = llm.create_chat_completion(
            messages=[{"role": "user", "content": request}], temperature=0.0, max_tokens=12
        )["choices"][0]["message"]["content"]
        prompt = command_prompt(tok, ids, request)
        with torch.no_grad():
            out = model.generate(
                torch.tensor([prompt]),
                max_new_tokens=12,
                do_sample=False,
                eos_token_id=ids.end,
                pad_token_id=0,
            )[0, len(prompt) :].tolist()
        want = tok.decode([t for t in out if t != ids.end])
        agree += got == want
        valid += parse_command(got) is not None
    assert agree == len(requests), f"{agree}/{len(requests)} commands agree"
    assert valid >= 0.9 * len(requests)  # and they are commands, not empty or stray text


def test_tuned_review_gates_command_accuracy_and_grows_its_remedies(micro_tuned, tiny_task, tmp_path):
    """The tune stage's review reads val.json: a model under the target is sent to tune longer,
    then to more task data, then to a larger model, each bounded by twice the plan's figure."""
    import shutil

    from tools.artifacts import atomic_write_json
    from tools.config import ModelConfig
    from tools.review import review
    from tools.review.tuned import VAL_JSON, TuneBudget

    run = tmp_path / "run"
    shutil.copytree(micro_tuned[0], run, symlinks=True)
    with torch_threads(1):
        val = evaluate_task(TaskEvalRequest(model=run, task=tiny_task, split="val", answers=False))
    atomic_write_json(run / VAL_JSON, val)
    have = len(TaskData(tiny_task).examples("train"))

    def verdict(target: float, steps: int, examples: int):
        budget = TuneBudget(target=target, minutes=1.0, max_steps=steps, task_examples=examples)
        return review("tuned", run, budget=budget)

    ok = verdict(val.command_exact, MICRO_TUNE_STEPS, have)
    assert ok.approved and [f.check for f in ok.findings] == ["loads", "completed", "command_accuracy"]
    longer = verdict(1.01, MICRO_TUNE_STEPS, have).remedy
    assert (longer.stage, longer.action, longer.params) == (
        "tune",
        "tune_longer",
        {"max_steps": 2 * MICRO_TUNE_STEPS},
    )
    data = verdict(1.01, MICRO_TUNE_STEPS // 2, have).remedy  # already tuned twice the plan's steps
    assert (data.stage, data.action, data.params) == ("data", "more_task_data", {"task_examples": 2 * have})
    larger = verdict(1.01, MICRO_TUNE_STEPS // 2, have // 2).remedy  # and on twice the plan's data
    layers = ModelConfig.load(run / ckpt.MODEL_CONFIG).model.n_layers
    assert (larger.stage, larger.action, larger.params) == (
        "architect",
        "larger_model",
        {"n_layers": layers + max(1, layers // 2)},
    )
    (run / VAL_JSON).write_text("{}")
    assert not review("tuned", run).approved  # an unreadable val.json is a rejection, not a crash
