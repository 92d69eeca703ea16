"""The model/training config contract (docs/artifacts.md): a pydantic ModelConfig with a YAML round trip.

A ``micro`` tier exists only for tests: it has no parameter bounds and never ships.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.artifacts import atomic_write_text
from tools.errors import InputError
from tools.tiers import Arch

TierField = Literal["micro", "tiny", "small", "medium", "large"]


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: TierField
    arch: Arch
    vocab_size: int = Field(gt=0)
    d_model: int = Field(gt=0)
    n_layers: int = Field(gt=0)
    n_heads: int = Field(gt=0)
    n_kv_heads: int = Field(gt=0)
    d_ff: int = Field(gt=0)
    context: int = Field(gt=0)
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(16, gt=0, description="sequences per micro-batch (per process)")
    grad_accum: int = Field(1, gt=0)
    lr: float = Field(1e-3, gt=0)
    min_lr: float = Field(1e-4, ge=0)
    schedule: Literal["cosine", "wsd", "constant"] = Field(
        "cosine",
        description="after warmup: cosine to min_lr; wsd: lr held, then linear to min_lr over the last decay_fraction",
    )
    decay_fraction: float = Field(0.2, gt=0, le=1, description="wsd: the share of the steps the LR decays over")
    warmup_steps: int = Field(100, ge=0)
    max_steps: int = Field(1000, gt=0)
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = Field(1.0, gt=0)
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="bf16 autocast (fp32 master weights) or fp32; auto: bf16 where the hardware has it",
    )
    seed: int = 1337
    checkpoint_interval: int = Field(200, gt=0)
    eval_interval: int = Field(200, gt=0)
    eval_batches: int = Field(20, gt=0)
    keep_last: int = Field(2, gt=0)


class Estimates(BaseModel):
    model_config = ConfigDict(extra="allow")

    params: int
    flops_per_token: float
    train_memory_bytes: int
    inference_ram_bytes: dict[str, int]


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    model: ModelSpec
    training: TrainSpec = Field(default_factory=TrainSpec)
    estimates: Estimates | None = None

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.to_yaml())

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> ModelConfig:
        try:
            data: Any = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise InputError(f"{source}: not valid YAML ({str(e).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a mapping with 'model' and 'training'")
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InputError(f"{source}: {where}: {err['msg']}") from None

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: no such config file") from None
        return cls.from_yaml(text, source=str(path))

    def to_hf(self):  # -> transformers.LlamaConfig (imported lazily: transformers is slow to import)
        from transformers import LlamaConfig

        from tools.dataset import BOS_ID, EOS_ID, PAD_ID

        m = self.model
        return LlamaConfig(
            vocab_size=m.vocab_size,
            hidden_size=m.d_model,
            intermediate_size=m.d_ff,
            num_hidden_layers=m.n_layers,
            num_attention_heads=m.n_heads,
            num_key_value_heads=m.n_kv_heads,
            head_dim=m.head_dim,
            max_position_embeddings=m.context,
            rope_theta=m.rope_theta,
            rms_norm_eps=m.norm_eps,
            tie_word_embeddings=m.tie_embeddings,
            hidden_act="silu",
            attention_bias=False,
            mlp_bias=False,
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            pad_token_id=PAD_ID,
        )
