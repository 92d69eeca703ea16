"""The quantize stage (Trainer): decides method and type (the plan, the Reviewer's remedy), then runs
tools.quant.quantize on the checkpoint the evaluate stage scored, with that stage's figures as
the float baseline (the float model is not evaluated again). Hands on the quantized directory."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.evaluate import EvaluateArtifacts
from agents.models import Artifacts, QuantMethod, QuantType, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy
from tools.artifacts import MANIFEST, atomic_write_json, read_json
from tools.quant.layout import RULE_THRESHOLD, Metrics, read_report
from tools.quant.quantize import QuantizeRequest
from tools.quant.quantize import quantize as quantize_model
from tools.review.quantized import COMMANDS_JSON, CommandRule
from tools.tune import TaskEvalRequest, evaluate_task
from tools.verdict import Stage


class QuantizeArtifacts(Artifacts):
    stage: ClassVar[Stage] = "quantize"
    quantized: Path = Field(description="the quantized directory (tools.quant.layout)")


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


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    want = offline_quant(inp)
    evaluated = inp.upstream["evaluate"]  # its metrics are the float baseline
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
    model = inp.artifacts(EvaluateArtifacts).model
    out = (
        ctx.workspace.quantized
        / f"{inp.thread_id}-{d.method}-{d.qtype}-{request_key([str(model), d.method])}"
    )
    if not (out / MANIFEST).is_file():
        quantize_model(
            QuantizeRequest(
                model=model,
                method=d.method,
                type=d.qtype,
                data=inp.artifacts(DataArtifacts).dataset,
                out=out,
                eval_max_tokens=evaluated.params["max_tokens"],
                eval_max_qa=evaluated.params["max_qa"],
                baseline=baseline(evaluated.metrics),
            ),
            ctx.progress,
        )
    rep = read_report(out)
    if not (out / COMMANDS_JSON).is_file():
        commands = evaluate_task(
            TaskEvalRequest(
                model=out,
                task=inp.artifacts(DataArtifacts).task,
                limit=evaluated.metrics["task_examples"],
                answers=False,
            ),
            ctx.progress,
        )
        rule = CommandRule(
            examples=commands.examples,
            float_exact=evaluated.metrics["command_exact"],
            quantized_exact=commands.command_exact,
        )
        atomic_write_json(out / COMMANDS_JSON, rule)
    rule = CommandRule.model_validate(read_json(out / COMMANDS_JSON))
    record = StageRecord(
        stage="quantize",
        attempt=inp.attempt,
        status="ok",
        outputs=QuantizeArtifacts(quantized=out).outputs(),
        metrics={
            "method": rep.method,
            "type": rep.qtype,
            "rel_change": rep.rule.value if rep.rule else None,
            "rule": f"{rep.rule.metric}: {rep.rule.formula} < {rep.rule.threshold:g}" if rep.rule else None,
            "passed": rep.passed and rule.value < RULE_THRESHOLD,
            "ppl_before": rep.before.perplexity if rep.before else None,
            "ppl_after": rep.after.perplexity if rep.after else None,
            "task_accuracy_after": rep.after.task_accuracy if rep.after else None,
            "command_exact_after": rule.quantized_exact,
            "command_rel_change": rule.value,
            "weight_bytes": rep.weight_bytes,
            "quantize_s": rep.quantize_seconds,
        },
        params=d.model_dump(),
    )
    return outcome(record, decided)
