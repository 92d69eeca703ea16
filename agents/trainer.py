"""Trainer: three stages of DESIGN.md's flow -- train, quantize, export.

- train: decides learning rate and steps (the architect's config, the plan's overrides, the
  Reviewer's remedy), then runs tools.train.train. The run directory is named by what defines
  the run (model, data, peak LR, batch, seed): a crash, "resume at a lower LR" or "train longer"
  continue the same directory from its latest checkpoint; a fork with another LR gets a new one.
- quantize: decides method and type (plan, remedy), runs tools.quant.quantize.
- export: writes the GGUF the kernel embeds (tools.export.export, validated against llama.cpp).
"""

from __future__ import annotations

from pathlib import Path

import torch
from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.decide import decide, outcome
from agents.guards import first_objection, in_range
from agents.models import QuantMethod, QuantType, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy, rescale_schedule
from tools import checkpoint as ckpt
from tools.artifacts import MANIFEST
from tools.config import ModelConfig
from tools.export.export import ExportRequest
from tools.export.export import export as export_model
from tools.quant.layout import Metrics, read_report
from tools.quant.quantize import QuantizeRequest
from tools.quant.quantize import quantize as quantize_model
from tools.train import TrainingDiverged, TrainRequest
from tools.train import train as train_model

LR_RANGE = (1e-5, 1e-2)


class TrainDecision(BaseModel):
    lr: float = Field(description="peak learning rate")
    max_steps: int = Field(description="optimizer steps of the schedule")
    lr_scale: float = Field(1.0, description="multiplier of the schedule when resuming after a failure")


def offline_train(inp: StageInput, cfg: ModelConfig) -> TrainDecision:
    """The config's schedule, the plan's overrides (a fork's ``lr=...`` or ``max_steps=...``), and
    the remedy's parameters over both."""
    plan = inp.plan
    base = TrainDecision(lr=plan.lr or cfg.training.lr, max_steps=plan.max_steps or cfg.training.max_steps)
    return apply_remedy(base, inp.remedy)  # type: ignore[return-value]


def with_schedule(cfg: ModelConfig, d: TrainDecision) -> ModelConfig:
    """``cfg`` training at the decided peak LR (min LR kept in proportion) and step count."""
    t = rescale_schedule(cfg.training, d.max_steps)
    t = t.model_copy(update={"lr": d.lr, "min_lr": d.lr * t.min_lr / t.lr})
    return cfg.model_copy(update={"training": t})


def train_guard(answer: TrainDecision, want: TrainDecision) -> str | None:
    return first_objection(
        in_range("lr", answer.lr, *LR_RANGE),
        in_range("max_steps", answer.max_steps, 1, 4 * want.max_steps),
        in_range("lr_scale", answer.lr_scale, 0.01, 1.0),
        None
        if answer.lr_scale == want.lr_scale
        else f"lr_scale {answer.lr_scale:g} ignores the remedy's {want.lr_scale:g}",
    )


def train(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    cfg = ModelConfig.load(inp.output("architect", "config"))
    want = offline_train(inp, cfg)
    decided = decide(
        "trainer",
        stage="train",
        attempt=inp.attempt,
        schema=TrainDecision,
        context={
            "config": cfg.model_dump(mode="json"),
            "plan": inp.plan.model_dump(mode="json"),
            "remedy": inp.remedy and inp.remedy.model_dump(),
            "previous": inp.previous and inp.previous.model_dump(),
        },
        offline=lambda: want,
        guard=lambda a: train_guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    cfg = cfg.model_copy(
        update={"training": cfg.training.model_copy(update={"lr": d.lr, "max_steps": d.max_steps})}
    )
    data = inp.output("data", "dataset")
    # the run is what the model, data, peak LR and batch define; its length is not part of it, so
    # "train longer" and "resume at a lower LR" continue the same run from its latest checkpoint
    t = cfg.training
    identity = {
        "model": cfg.model.model_dump(mode="json"),
        "data": data,
        "lr": t.lr,
        "batch": t.batch_size,
        "grad_accum": t.grad_accum,
        "seed": t.seed,
    }
    out = ctx.workspace.checkpoints / f"{inp.thread_id}-{request_key(identity)}"
    resume = bool(ckpt.step_dirs(out))
    request = TrainRequest(
        config=cfg,
        data=Path(data),
        out=out,
        resume=resume,
        device=inp.plan.device,  # type: ignore[arg-type]
        lr_scale=d.lr_scale,
        inject_nan_at_steps=inp.inject_nan_at_steps,
    )
    if inp.plan.profile == "micro":
        torch.set_num_threads(
            1
        )  # a model this small trains fastest on one thread, above all on a busy machine
    try:
        result = train_model(request, ctx.progress)
    except TrainingDiverged as e:  # the Reviewer routes it back with a lower-LR remedy
        failed = StageRecord(
            stage="train",
            attempt=inp.attempt,
            status="failed",
            error=str(e),
            outputs={"run": str(out)},
            params=d.model_dump(),
        )
        return outcome(failed, decided)
    record = StageRecord(
        stage="train",
        attempt=inp.attempt,
        status="ok" if result.status == "completed" else "failed",
        error=None if result.status == "completed" else f"training {result.status} at step {result.steps}",
        outputs={"run": str(out), "config": str(out / "config.yaml")},
        metrics={
            "steps": result.steps,
            "resumed": resume,
            "final_loss": result.final_loss,
            "best_val_loss": result.best_val_loss,
            "best_val_ppl": result.best_val_ppl,
            "best_step": result.best_step,
            "nan_events": len(result.nan_events),
            "tokens_per_s": result.tokens_per_s,
            "mfu": result.mfu,
            "params": result.params,
            "device": result.device,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)


class QuantDecision(BaseModel):
    method: QuantMethod
    qtype: QuantType


def offline_quant(inp: StageInput) -> QuantDecision:
    return apply_remedy(QuantDecision(method=inp.plan.quant_method, qtype=inp.plan.quant_type), inp.remedy)  # type: ignore[return-value]


def quant_guard(answer: QuantDecision, want: QuantDecision) -> str | None:
    if answer.qtype != want.qtype:
        return f"type {answer.qtype} is not the plan's {want.qtype}"
    return None


def baseline(metrics: dict) -> Metrics:
    """The float model's metrics as the evaluate stage measured them (same tokens, same QA pairs)."""
    return Metrics(
        perplexity=metrics["perplexity"],
        bits_per_byte=metrics["bits_per_byte"],
        token_accuracy=metrics["next_token_accuracy"],
        task_accuracy=metrics["task_accuracy"],
        tokens=metrics["tokens_scored"],
        qa_pairs=metrics["qa_total"],
    )


def quantize(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    want = offline_quant(inp)
    evaluated = inp.upstream["evaluate"]
    decided = decide(
        "trainer",
        stage="quantize",
        attempt=inp.attempt,
        schema=QuantDecision,
        context={
            "plan": inp.plan.model_dump(mode="json"),
            "evaluate": evaluated.metrics,
            "remedy": inp.remedy and inp.remedy.model_dump(),
        },
        offline=lambda: want,
        guard=lambda a: quant_guard(a, want),
        llm=ctx.llm,
    )
    d = decided.value
    model = evaluated.outputs["model"]
    out = ctx.workspace.quantized / f"{inp.thread_id}-{d.method}-{d.qtype}-{request_key([model, d.method])}"
    if not (out / MANIFEST).is_file():
        quantize_model(
            QuantizeRequest(
                model=Path(model),
                method=d.method,
                type=d.qtype,
                data=Path(inp.output("data", "dataset")),
                out=out,
                eval_max_tokens=evaluated.params["max_tokens"],
                eval_max_qa=evaluated.params["max_qa"],
                baseline=baseline(evaluated.metrics),
            ),
            ctx.progress,
        )
    rep = read_report(out)
    record = StageRecord(
        stage="quantize",
        attempt=inp.attempt,
        status="ok",
        outputs={"quantized": str(out)},
        metrics={
            "method": rep.method,
            "type": rep.qtype,
            "rel_change": rep.rule.value if rep.rule else None,
            "rule": f"{rep.rule.metric}: {rep.rule.formula} < {rep.rule.threshold:g}" if rep.rule else None,
            "passed": rep.passed,
            "ppl_before": rep.before.perplexity if rep.before else None,
            "ppl_after": rep.after.perplexity if rep.after else None,
            "task_accuracy_after": rep.after.task_accuracy if rep.after else None,
            "gguf_bytes": rep.gguf_bytes,
            "quantize_s": rep.quantize_seconds,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)


def export(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    source = inp.output("quantize", "quantized")
    out = ctx.workspace.exports / f"{inp.thread_id}-{request_key(source)}"
    if not (out / MANIFEST).is_file():
        export_model(
            ExportRequest(model=Path(source), out=out, data=Path(inp.output("data", "dataset"))), ctx.progress
        )
    from tools.artifacts import read_json
    from tools.export.deploy import DEPLOY, DeployInfo

    info = DeployInfo.model_validate(read_json(out / DEPLOY))
    record = StageRecord(
        stage="export",
        attempt=inp.attempt,
        status="ok",
        outputs={"gguf": str(out / info.file), "export": str(out)},
        metrics={
            "valid": info.passed,
            "validation": {
                k: v.get("passed") if isinstance(v, dict) else v for k, v in info.validation.items()
            },
            "gguf_bytes": info.bytes,
            "quant_type": info.quant_type,
            "ram_estimate": info.ram_estimate.total if info.ram_estimate else None,
        },
    )
    return StageOutcome(record=record)
