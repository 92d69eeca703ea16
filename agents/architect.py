"""The architect stage (ModelArchitect): sizes the model and its training run to the tier and the
time budget, and hands on the config YAML.

The offline decision is tools.arch.design's config (tier bounds, GGUF block alignment, steps from
the throughput measured on this machine). An LLM may reshape it; its answer must stay a valid
Llama shape inside the tier's parameter and RAM bounds (tools.arch.validate), and cost at most 25% more training compute than the budgeted design.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, Field

from agents.context import AgentContext, request_key
from agents.data import DataArtifacts
from agents.decide import decide, outcome
from agents.models import Artifacts, Plan, StageInput, StageOutcome, StageRecord
from agents.policy import apply_remedy
from tools.arch.design import DesignRequest, budget_warning, design, rescale_schedule
from tools.arch.estimates import flops_per_token, param_count, with_estimates
from tools.arch.validate import validate
from tools.artifacts import REPO_ROOT
from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.verdict import Stage

COMPUTE_SLACK = 1.25
COMMITTED_CONFIGS = REPO_ROOT / "SLM" / "configs"
NOMINAL_FLOPS = 1e12


class ArchitectArtifacts(Artifacts):
    stage: ClassVar[Stage] = "architect"
    config: Path = Field(description="the ModelConfig YAML (SLM/configs/runs/<name>.yaml)")


class ArchDecision(BaseModel):
    d_model: int = Field(description="embedding width")
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_ff: int = Field(description="SwiGLU hidden width")
    context: int = Field(description="sequence length in tokens")
    batch_size: int
    max_steps: int


def committed_config(plan: Plan, vocab_size: int) -> ModelConfig | None:
    """SLM/configs/<tier>.yaml when it was made for exactly this plan: same arch, vocabulary and
    training budget (these committed configs are validated to meet the tier's perplexity target)."""
    path = COMMITTED_CONFIGS / f"{plan.tier}.yaml"
    if plan.max_steps is not None or not path.is_file():
        return None
    cfg = ModelConfig.load(path)
    budget = cfg.estimates.model_dump().get("train_minutes") if cfg.estimates else None
    same = cfg.model.arch == plan.arch and cfg.model.vocab_size == vocab_size and budget == plan.train_minutes
    return cfg if same else None


def preview_config(plan: Plan, vocab_size: int | None = None) -> ModelConfig:
    """The config the architect's offline policy chooses for ``plan`` (also shown by `plan`): the
    committed tier config when it fits the plan exactly, else tools.arch.design's for the plan's
    budget, with the schedule re-derived for the plan's fixed step count if it has one."""
    vocab_size = vocab_size or plan.vocab_size
    if (committed := committed_config(plan, vocab_size)) is not None:
        return committed
    cfg = design(
        DesignRequest(
            tier=plan.tier,
            arch=plan.arch,
            vocab_size=vocab_size,
            train_minutes=plan.train_minutes,
            device=plan.device,
            # the named card's assumed figure; a fixed step count makes the machine's throughput
            # irrelevant: skip measuring it
            flops_per_s=plan.flops_per_s or (NOMINAL_FLOPS if plan.max_steps is not None else None),
        )
    )
    if plan.max_steps is None:
        return cfg
    return cfg.model_copy(update={"training": rescale_schedule(cfg.training, plan.max_steps)})


def as_decision(cfg: ModelConfig) -> ArchDecision:
    m, t = cfg.model, cfg.training
    return ArchDecision(
        d_model=m.d_model,
        n_layers=m.n_layers,
        n_heads=m.n_heads,
        n_kv_heads=m.n_kv_heads,
        d_ff=m.d_ff,
        context=m.context,
        batch_size=t.batch_size,
        max_steps=t.max_steps,
    )


def apply(cfg: ModelConfig, d: ArchDecision) -> ModelConfig:
    model = cfg.model.model_copy(update=d.model_dump(exclude={"batch_size", "max_steps"}))
    training = cfg.training.model_copy(update={"batch_size": d.batch_size, "max_steps": d.max_steps})
    return cfg.model_copy(update={"model": model, "training": training})


def train_flops(cfg: ModelConfig) -> float:
    t = cfg.training
    return flops_per_token(cfg.model) * t.max_steps * t.batch_size * t.grad_accum * cfg.model.context


def guard(answer: ArchDecision, base: ModelConfig, quant: str) -> str | None:
    if min(answer.model_dump().values()) <= 0:
        return "every dimension must be positive"
    cfg = apply(base, answer)
    check = validate(cfg, quant=quant)  # type: ignore[arg-type]
    if not check.ok:
        return check.issues[0].message
    if train_flops(cfg) > COMPUTE_SLACK * train_flops(base):
        return (
            f"training compute {train_flops(cfg):.3g} FLOPs exceeds the budgeted {train_flops(base):.3g} "
            f"by more than {COMPUTE_SLACK - 1:.0%}"
        )
    return None


def run(inp: StageInput, ctx: AgentContext) -> StageOutcome:
    data = Dataset(inp.artifacts(DataArtifacts).dataset)
    base = preview_config(inp.plan, data.meta.vocab_size)
    want = apply_remedy(as_decision(base), inp.remedy)
    decided = decide(
        "architect",
        stage="architect",
        attempt=inp.attempt,
        schema=ArchDecision,
        context={
            "plan": inp.plan.model_dump(mode="json"),
            "proposal": want.model_dump(),
            "train_tokens": data.meta.splits["train"].tokens,
            "remedy": inp.remedy and inp.remedy.model_dump(),
        },
        offline=lambda: want,  # type: ignore[arg-type,return-value]
        guard=lambda a: guard(a, base, inp.plan.quant_type),
        llm=ctx.llm,
    )
    cfg = base if decided.value == as_decision(base) else with_estimates(apply(base, decided.value))
    cfg = cfg.model_copy(update={"name": f"{inp.thread_id}-{request_key(cfg.model_dump(mode='json'))}"})
    path = cfg.save(ctx.workspace.configs / "runs" / f"{cfg.name}.yaml")
    record = StageRecord(
        stage="architect",
        attempt=inp.attempt,
        status="ok",
        outputs=ArchitectArtifacts(config=path).outputs(),
        metrics={
            "params": param_count(cfg.model),
            "train_flops": train_flops(cfg),
            **({"estimates": cfg.estimates.model_dump()} if cfg.estimates else {}),
        },
        params=decided.value.model_dump(),
    )
    warning = budget_warning(cfg)
    return outcome(record, decided, warnings=[warning] if warning else None)


def review_context(inp: StageInput) -> dict[str, object]:
    """The config review checks vocabulary and context against the dataset."""
    return {"data": inp.artifacts(DataArtifacts).dataset}
