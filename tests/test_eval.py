"""Evaluation on the micro run: numbers checked against independent computations, the compare rule,
the report directory, and one-line errors for bad input."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_run import run_cli
from tests.variants import dataset_variant
from tools.checkpoint import resolve_checkpoint
from tools.dataset import BOS_ID, EOS_ID, Dataset, qa_prompt, qa_text
from tools.eval import EvalReport, EvalRequest, compare, evaluate
from tools.eval.backends import HFBackend

CAP = 3000


@pytest.fixture(scope="module")
def capped(micro_run, micro_dataset, tmp_path_factory) -> EvalReport:
    out = tmp_path_factory.mktemp("eval") / "report"
    req = EvalRequest(
        model=str(micro_run), data=str(micro_dataset), max_tokens=CAP, max_qa=3, report_dir=str(out)
    )
    return evaluate(req)


def test_perplexity_and_accuracy_match_an_independent_computation(capped, micro_run, micro_dataset):
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(resolve_checkpoint(micro_run)).eval()
    ctx = model.config.max_position_embeddings
    stream = torch.from_numpy(np.asarray(Dataset(micro_dataset).tokens("test")[: CAP + 1], dtype=np.int64))
    losses, hits = [], []
    with torch.no_grad():
        for start in range(0, CAP, ctx):
            chunk = stream[start : start + ctx + 1]
            logits = model(input_ids=chunk[None, :-1]).logits[0]
            losses.append(torch.nn.functional.cross_entropy(logits, chunk[1:], reduction="none"))
            hits.append(logits.argmax(-1) == chunk[1:])
    token_loss = torch.cat(losses).double()
    assert capped.tokens_scored == token_loss.numel() == CAP
    assert capped.perplexity == pytest.approx(math.exp(token_loss.mean().item()), rel=1e-5)
    assert capped.next_token_accuracy == pytest.approx(torch.cat(hits).double().mean().item(), abs=1e-9)
    assert not capped.whole_split


def test_bits_per_byte_uses_the_test_split_byte_count(capped, micro_run, micro_dataset, tmp_path):
    split = Dataset(micro_dataset).meta.splits["test"]
    # capped: the split's bytes pro-rated by the share of its predictable tokens that were scored
    assert capped.bytes_basis == "meta.json pro-rated"
    assert capped.bytes_counted == pytest.approx(split.bytes * CAP / (split.tokens - 1))
    assert capped.bits_per_byte == pytest.approx(capped.mean_nll * CAP / math.log(2) / capped.bytes_counted)

    # whole split: a dataset whose test split is the first CAP + 1 tokens of the micro one, with a
    # byte count in meta.json that no tokenizer would give, so only meta.json can be its source
    stream = np.asarray(Dataset(micro_dataset).tokens("test"))
    end = CAP + 1
    stated_bytes = 12_345
    splits = Dataset(micro_dataset).meta.model_dump(mode="json")["splits"]
    splits["test"] |= {"tokens": end, "bytes": stated_bytes}
    variant = dataset_variant(micro_dataset, tmp_path / "d", splits=splits)
    (variant / "test.bin").unlink()
    stream[:end].tofile(variant / "test.bin")
    req = EvalRequest(model=str(micro_run), data=str(variant), max_qa=0, samples=False, write_report=False)
    full = evaluate(req)
    assert full.whole_split and full.tokens_scored == end - 1
    assert full.bytes_basis == "meta.json" and full.bytes_counted == stated_bytes
    assert full.bits_per_byte == pytest.approx(
        full.mean_nll * (end - 1) / math.log(2) / stated_bytes, rel=1e-12
    )


def test_greedy_decoding_matches_transformers_generate(micro_run, micro_dataset):
    backend = HFBackend(micro_run)
    data = Dataset(micro_dataset)
    prompt = [BOS_ID, *data.encode(qa_prompt(data.qa("test")[0].question))]
    ours = backend.greedy(prompt, 24, EOS_ID)
    ref = backend.model.generate(
        torch.tensor([prompt]), max_new_tokens=24, do_sample=False, eos_token_id=EOS_ID, pad_token_id=EOS_ID
    )[0, len(prompt) :].tolist()
    assert ours == ref[: len(ours)] and len(ours) == len(ref)


def test_task_accuracy_is_exact_match_of_greedy_answers(micro_run, micro_dataset, tmp_path):
    """A copy of the micro model overfit on one QA pair answers it exactly; the same question with
    another expected answer is a miss."""
    from transformers import LlamaForCausalLM

    data = Dataset(micro_dataset)
    known = data.qa("test")[0]
    other = known.model_copy(update={"answer": known.answer + " x"})
    step = resolve_checkpoint(micro_run)
    model = LlamaForCausalLM.from_pretrained(step)
    ids = torch.tensor([[BOS_ID, *data.encode(qa_text(known.question, known.answer)), EOS_ID]])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch.manual_seed(0)
    for _ in range(40):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(tmp_path / "overfit")
    shutil.copyfile(step / "tokenizer.json", tmp_path / "overfit" / "tokenizer.json")
    variant = dataset_variant(micro_dataset, tmp_path / "d")
    (variant / "qa").unlink()
    (variant / "qa").mkdir()
    (variant / "qa" / "test.jsonl").write_text("".join(p.model_dump_json() + "\n" for p in (known, other)))

    req = EvalRequest(
        model=str(tmp_path / "overfit"), data=str(variant), max_tokens=200, samples=False, write_report=False
    )
    report = evaluate(req)
    assert [r.correct for r in report.qa] == [True, False]
    assert report.qa[0].output.strip() == known.answer.strip()
    assert report.task_accuracy == 0.5 and report.qa_correct == 1 and report.qa_total == 2


def test_gguf_through_llama_cpp_scores_like_the_checkpoint(capped, micro_gguf, micro_dataset):
    req = EvalRequest(
        model=str(micro_gguf["F32"]), data=str(micro_dataset), max_tokens=CAP, max_qa=3, write_report=False
    )
    f32 = evaluate(req)
    assert f32.backend == "gguf" and f32.tier == "micro" and f32.params == capped.params
    assert f32.tokens_scored == capped.tokens_scored
    assert f32.perplexity == pytest.approx(capped.perplexity, rel=1e-4)
    assert f32.next_token_accuracy == pytest.approx(capped.next_token_accuracy, abs=3 / CAP)
    assert [q.output for q in f32.qa] == [q.output for q in capped.qa]
    assert [s.output for s in f32.samples] == [s.output for s in capped.samples]

    q8 = evaluate(req.model_copy(update={"model": str(micro_gguf["Q8_0"]), "samples": False}))
    assert q8.perplexity == pytest.approx(capped.perplexity, rel=0.01)
    assert q8.size_bytes < f32.size_bytes / 3


def test_compare_picks_lowest_passing_perplexity_then_task_accuracy_then_size(capped):
    def variant(name: str, ppl: float, passed: bool, task: float, size: int) -> EvalReport:
        return capped.model_copy(
            update={
                "model": name,
                "perplexity": ppl,
                "passed": passed,
                "task_accuracy": task,
                "size_bytes": size,
            }
        )

    failing_but_lowest = variant("fails-threshold", 5.0, False, 0.9, 10)
    worse = variant("worse", 14.0, True, 0.9, 10)
    fp32 = variant("fp32", 12.341, True, 0.30, 4000)
    q8 = variant("q8", 12.344, True, 0.30, 1100)  # same ppl at 2 decimals, same task accuracy, smaller
    q4 = variant("q4", 12.338, True, 0.20, 600)  # same ppl at 2 decimals, lower task accuracy
    result = compare([failing_but_lowest, worse, fp32, q4, q8])
    assert result.best == "q8"
    assert [r.model for r in result.rows] == ["q8", "fp32", "q4", "worse", "fails-threshold"]
    assert compare([worse, fp32.model_copy(update={"task_accuracy": 0.5}), q8]).best == "fp32"
    assert compare([failing_but_lowest]).best is None
    assert "| 1 | q8 |" in result.table()


def test_report_directory(capped):
    out = Path(capped.report_dir)
    assert EvalReport.model_validate_json((out / "report.json").read_text()) == capped
    md = (out / "report.md").read_text()
    assert f"{capped.perplexity:.3f}" in md and "loss_curve.png" in md
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "eval_report"
    assert {o["path"] for o in manifest["outputs"]} == {"report.json", "report.md", "loss_curve.png"}
    assert [i["path"] for i in manifest["inputs"]] == [str(Path(capped.resolved).parent / "metrics.jsonl")]


def test_cli_json_compares_two_checkpoints(micro_run, micro_dataset, capsys):
    first = str(sorted(micro_run.glob("step_*"))[0])
    res = run_cli(
        capsys, "eval", "--model", str(micro_run), "--model", first, "--data", str(micro_dataset),
        "--max-tokens", "600", "--max-qa", "1", "--no-samples", "--no-report", "--json",
    )  # fmt: skip
    doc = json.loads(res.out)
    assert [r["model"] for r in doc["reports"]] == [str(micro_run), first]
    assert len(doc["comparison"]["rows"]) == 2
    assert res.code == (0 if doc["comparison"]["best"] else 1)


def _one_line_exit_2(res) -> None:
    assert res.code == 2, res.err
    assert res.err.startswith("error: ") and res.err.count("\n") == 1 and "Traceback" not in res.err


def test_bad_input_is_one_line_exit_2(micro_run, micro_dataset, tmp_path, capsys):
    args = (
        "--data",
        str(micro_dataset),
        "--max-tokens",
        "100",
        "--max-qa",
        "0",
        "--no-samples",
        "--no-report",
    )
    missing = run_cli(capsys, "eval", "--model", str(tmp_path / "nope"), *args)
    _one_line_exit_2(missing)
    assert "no such model" in missing.err

    corrupt = tmp_path / "corrupt"
    shutil.copytree(resolve_checkpoint(micro_run), corrupt)
    weights = corrupt / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    _one_line_exit_2(run_cli(capsys, "eval", "--model", str(corrupt), *args))

    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\x00" * 64)
    _one_line_exit_2(run_cli(capsys, "eval", "--model", str(fake), *args))


def test_data_of_another_tokenizer_is_rejected(micro_run, micro_dataset, tmp_path, capsys):
    rest = ("--max-tokens", "100", "--max-qa", "0", "--no-samples", "--no-report")
    vocab = Dataset(micro_dataset).meta.vocab_size
    # a larger vocabulary than the model's (a smaller one may be extended by a tuned model's chat
    # tokens, and is compared token by token below)
    larger = dataset_variant(micro_dataset, tmp_path / "larger", vocab_size=vocab * 2)
    res = run_cli(capsys, "eval", "--model", str(micro_run), "--data", str(larger), *rest)
    _one_line_exit_2(res)
    assert "another tokenizer" in res.err

    # same size, but two tokens trade ids
    swapped = dataset_variant(micro_dataset, tmp_path / "swapped")
    tok = json.loads((swapped / "tokenizer.json").read_text())
    v = tok["model"]["vocab"]
    a, b = (t for t, i in v.items() if i in (vocab - 1, vocab - 2))
    v[a], v[b] = v[b], v[a]
    (swapped / "tokenizer.json").write_text(json.dumps(tok))
    res = run_cli(capsys, "eval", "--model", str(micro_run), "--data", str(swapped), *rest)
    _one_line_exit_2(res)
    assert "another tokenizer" in res.err and f"token {vocab - 2}" in res.err
