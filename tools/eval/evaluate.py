"""``evaluate(EvalRequest) -> EvalReport``: one model on one dataset's test split and held-out QA pairs.

The model is an HF checkpoint (run or step directory), a quantized directory, or a GGUF file run by
llama.cpp (see tools.eval.backends); all of them are scored by the same code on the same tokens, so
float, quantized and exported models compare. Metrics:

- perplexity = exp(total NLL / scored tokens) with the windowed protocol of tools.eval.metrics;
- bits per byte = total NLL in bits / UTF-8 bytes of the scored text. The byte count is the test
  split's ``bytes`` in meta.json; when ``max_tokens`` caps the split it is pro-rated by the share of
  the split's predictable tokens that were scored (``bytes_basis`` says which);
- next-token accuracy = share of scored tokens that were the model's argmax;
- task accuracy = exact match of greedy answers on qa/test.jsonl (held-out phrasing);
- a few greedy generation samples for fixed prompts of the dataset's arch.

The model passes when its test perplexity is below the threshold of its tier (tools.tiers); the
tier comes from the request, else the run's config.yaml or a deploy.json beside the model, else
from the parameter count.
"""

from __future__ import annotations

import time
from pathlib import Path

from tools.artifacts import read_json
from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.errors import InputError
from tools.eval.backends import Backend, open_backend
from tools.eval.metrics import LN2, generation_samples, score_stream, task_accuracy
from tools.eval.report import write_report
from tools.eval.request import EvalReport, EvalRequest
from tools.progress import ProgressFn, null_progress
from tools.tiers import ppl_threshold, tier_for_params

SPLIT = "test"


def check_same_tokenizer(backend: Backend, data: Dataset, model: str) -> None:
    """Reject data made with another tokenizer than the model's: a one-line InputError. A model
    whose vocabulary extends the data's (a tuned model's chat tokens after it) is the same
    tokenizer; its scores are taken over the data's vocabulary (``score_stream``'s ``vocab``)."""
    if backend.vocab_size < data.meta.vocab_size:
        raise InputError(
            f"{model}: the model has {backend.vocab_size} tokens but {data.path} has "
            f"{data.meta.vocab_size}: the data comes from another tokenizer"
        )
    theirs = backend.vocab()
    if theirs is None:
        if backend.vocab_size != data.meta.vocab_size:
            raise InputError(
                f"{model}: {backend.vocab_size} tokens and no vocabulary to compare with {data.path}"
            )
        return
    i = data.foreign_token(theirs)
    if i is not None:
        ours = data.tokenizer.id_to_token(i)
        raise InputError(
            f"{model}: token {i} is {theirs[i]!r} in the model but {ours!r} in {data.path}: "
            "the data comes from another tokenizer"
        )


def _near_model(path: Path, name: str) -> Path | None:
    """``name`` in the model's directory or up to two levels above it."""
    start = path if path.is_dir() else path.parent
    for d in (start, start.parent, start.parent.parent):
        if (d / name).is_file():
            return d / name
    return None


def model_tier(backend: Backend) -> str:
    cfg = _near_model(backend.path, "config.yaml")
    if cfg is not None:
        return ModelConfig.load(cfg).model.tier
    deploy = _near_model(backend.path, "deploy.json")
    if deploy is not None:
        tier = read_json(deploy).get("tier")
        if isinstance(tier, str):
            return tier
    return tier_for_params(backend.params)


def metrics_file(backend: Backend) -> Path | None:
    """The training run's metrics.jsonl for the loss curve, when the model sits in its run."""
    return _near_model(backend.path, "metrics.jsonl")


def default_report_dir(model: str | Path) -> Path:
    """``<dir>/eval`` for a model directory, ``<parent>/<stem>.eval`` for a model file."""
    p = Path(model)
    return p / "eval" if p.is_dir() else p.with_name(f"{p.stem}.eval")


def evaluate(req: EvalRequest, progress: ProgressFn | None = None) -> EvalReport:
    progress = progress or null_progress
    t0 = time.perf_counter()
    data = Dataset(req.data)
    if SPLIT not in data.meta.splits:
        raise InputError(f"{data.path}/meta.json: no {SPLIT!r} split")
    backend = open_backend(req.model, req.backend, req.prefer)
    check_same_tokenizer(backend, data, req.model)
    tier = req.tier or model_tier(backend)
    try:
        threshold = ppl_threshold(tier)
    except ValueError:
        raise InputError(f"unknown tier {tier!r} (expected micro, tiny, small, medium or large)") from None

    stream = data.tokens(SPLIT)
    if len(stream) < 2:
        raise InputError(f"{data.path}: the {SPLIT} split has fewer than 2 tokens")
    keep = len(stream) if req.max_tokens is None else min(len(stream), req.max_tokens + 1)
    scores = score_stream(backend, stream[:keep], req.batch_size, progress, vocab=data.meta.vocab_size)
    whole = keep == len(stream)
    split_bytes = data.meta.splits[SPLIT].bytes
    bytes_counted = split_bytes if whole else split_bytes * scores.tokens / (len(stream) - 1)

    pairs = data.qa(SPLIT)
    if req.max_qa is not None:
        pairs = pairs[: req.max_qa]
    qa = task_accuracy(backend, data, pairs, progress)
    correct = sum(r.correct for r in qa)
    samples = generation_samples(backend, data, data.meta.arch) if req.samples else []

    report = EvalReport(
        model=req.model,
        resolved=str(backend.path),
        backend=backend.name,
        params=backend.params,
        size_bytes=backend.size_bytes,
        context=backend.context,
        vocab_size=backend.vocab_size,
        dataset=str(data.path),
        arch=data.meta.arch,
        tier=tier,
        ppl_threshold=threshold,
        passed=scores.perplexity < threshold,
        perplexity=scores.perplexity,
        bits_per_byte=scores.nll_nats / LN2 / bytes_counted,
        next_token_accuracy=scores.accuracy,
        mean_nll=scores.mean_nll,
        tokens_scored=scores.tokens,
        split_tokens=len(stream),
        whole_split=whole,
        bytes_counted=bytes_counted,
        bytes_basis="meta.json" if whole else "meta.json pro-rated",
        task_accuracy=correct / len(qa) if qa else None,
        qa_total=len(qa),
        qa_correct=correct,
        qa=qa,
        samples=samples,
        elapsed_s=time.perf_counter() - t0,
    )
    if req.write_report:
        out = Path(req.report_dir) if req.report_dir else default_report_dir(req.model)
        report.report_dir = str(out)
        write_report(report, out, metrics_file(backend))
    return report
