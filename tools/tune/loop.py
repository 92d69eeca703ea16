"""Task tuning: a pretrained checkpoint learns the console task (tools/task/), in the spirit of
nanochat's SFT.

The chat tokens join the tokenizer and the embedding grows to match (tools/tune/chat.py); loss
is on the model's own turns only; a share of the steps train on the pretraining text so the
language is kept (tools/tune/data.py); the LR is warmup-stable-decay with a length sized from
the run's own throughput under a wall-clock budget (tools/tune/schedule.py). The run directory
has the training layout (tools/checkpoint.py): HF step dirs with the extended tokenizer,
``latest``/``best``, metrics.jsonl, config.yaml (the extended vocabulary), manifest.json;
SIGINT/SIGTERM stop with a checkpoint and ``resume`` continues. Single process.
"""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers.utils import logging as hf_logging

from tools import checkpoint as ckpt
from tools.arch.hardware import default_precision
from tools.artifacts import FileRef, write_manifest
from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.errors import CheckFailed, InputError
from tools.progress import ProgressFn, null_progress
from tools.task.build import TaskData
from tools.train import distributed, rng
from tools.train.data import TrainWindows
from tools.train.metrics import MetricsLog
from tools.train.optim import build_optimizer, set_lr
from tools.train.signals import stop_on_signals
from tools.tune.chat import IGNORE, extend_tokenizer
from tools.tune.data import TaskBatches, encode_examples, in_share, pack, packed_mask, steps_in_share
from tools.tune.request import TuneRequest, TuneResult
from tools.tune.schedule import Schedule

MIN_PROBE_STEPS = 5  # steps measured before a clock budget sizes the schedule


def base_config(step_dir: Path) -> ModelConfig:
    f = step_dir.parent / ckpt.MODEL_CONFIG
    if not f.is_file():
        raise InputError(f"{step_dir}: no {ckpt.MODEL_CONFIG} in its run directory")
    return ModelConfig.load(f)


class _Tune:
    def __init__(self, req: TuneRequest, progress: ProgressFn):
        self.req, self.progress = req, progress
        self.out = req.out
        source = self._source()
        self.base_cfg = base_config(source) if not req.resume else ModelConfig.load(self.out / ckpt.MODEL_CONFIG)
        self.task = TaskData(req.task)
        self.pre = Dataset(req.data)
        self.tok = Tokenizer.from_file(str(source / ckpt.TOKENIZER))
        self.chat = extend_tokenizer(self.tok)
        vocab = self.tok.get_vocab_size()
        if self.pre.meta.vocab_size > vocab or self.pre.tokenizer.get_vocab() != {
            k: v for k, v in self.tok.get_vocab().items() if v < self.pre.meta.vocab_size
        }:
            raise InputError(f"{req.data}: the pretraining dataset's tokenizer is not the model's")
        self.cfg = self.base_cfg.model_copy(
            update={
                "model": self.base_cfg.model.model_copy(update={"vocab_size": vocab}),
                "training": self.base_cfg.training.model_copy(
                    update={"batch_size": req.batch_size, "lr": req.lr, "warmup_steps": req.warmup_steps}
                ),
            }
        )
        self.context = self.cfg.model.context
        self.d = distributed.init(req.device)
        if self.d.world != 1:
            raise InputError("tune runs in one process (not under torchrun)")
        self.device = self.d.device
        spec = self.cfg.training
        self.precision = default_precision(self.device) if spec.precision == "auto" else spec.precision
        self._build_model(source)
        self.seqs = encode_examples(
            self.tok, self.chat, self.task.examples("train"), self.context, req.answers
        )
        self.batches = TaskBatches(self.seqs, req.seed, req.command_share if req.answers else 0.0)
        val = self.task.examples("val")[: req.val_examples]
        val_seqs = encode_examples(self.tok, self.chat, val, self.context, req.answers)
        b = req.batch_size
        self.val = [pack(val_seqs[i : i + b], self.context) for i in range(0, len(val_seqs), b)]  # packed once
        self.windows = (
            TrainWindows(self.pre.tokens("train"), self.context, req.seed) if req.pretrain_fraction else None
        )
        self.log = MetricsLog(self.out / ckpt.METRICS)

    def _source(self) -> Path:
        """The step dir to start from: the pretrained model, or the run's latest when resuming."""
        req = self.req
        if req.resume:
            if not ckpt.step_dirs(req.out):
                raise InputError(f"{req.out}: no checkpoint to resume from")
            return ckpt.resolve_checkpoint(req.out, prefer=ckpt.LATEST)
        if req.out.exists() and (ckpt.step_dirs(req.out) or (req.out / ckpt.MODEL_CONFIG).exists()):
            raise InputError(f"{req.out}: already holds a run (pass --resume to continue it)")
        return ckpt.resolve_checkpoint(req.model, prefer=ckpt.BEST)

    def _build_model(self, source: Path) -> None:
        rng.seed_all(self.req.seed)
        model = ckpt.load_model(source)
        if model.config.vocab_size != self.cfg.model.vocab_size:
            level = hf_logging.get_verbosity()
            hf_logging.set_verbosity_error()  # mean resizing is chosen: transformers' note on it is noise
            try:
                model.resize_token_embeddings(self.cfg.model.vocab_size, mean_resizing=True)
            finally:
                hf_logging.set_verbosity(level)
        self.model = model.to(self.device)
        self.model.train()
        self.optimizer = build_optimizer(self.model, self.cfg.training, self.device)
        if self.req.resume:
            self.state = ckpt.load_trainer_state(source)
            distributed.load_full_state(
                self.model, self.optimizer, ckpt.load_weights(source), ckpt.load_optimizer(source)
            )
            rng.restore(self.state.rng)
            self.schedule = Schedule.load(self.out)
        else:
            self.state = ckpt.TrainerState(step=0, tokens_seen=0, data_cursor=0)
            req = self.req
            self.schedule = Schedule(
                lr=req.lr,
                warmup_steps=req.warmup_steps,
                decay_fraction=req.decay_fraction,
                total_steps=req.max_steps if req.minutes is None else None,
                max_steps=req.max_steps,
                budget_s=req.minutes * 60 if req.minutes is not None else None,
            )

    def _prepare_dir(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"{self.out}: cannot create run directory ({e.strerror})") from None
        self.tok.save(str(self.out / ckpt.TOKENIZER))
        self.cfg.save(self.out / ckpt.MODEL_CONFIG)

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _loss(
        self, x: torch.Tensor, y: torch.Tensor, pos: torch.Tensor | None = None, reduction: str = "mean"
    ) -> torch.Tensor:
        """Cross-entropy of a batch: windows of pretraining text, or packed exchanges (``pos``)."""
        packed = {} if pos is None else {
            "attention_mask": packed_mask(pos).to(self.device), "position_ids": pos.to(self.device)
        }  # fmt: skip
        with self._autocast():
            logits = self.model(input_ids=x.to(self.device), use_cache=False, **packed).logits
        flat = logits.float().view(-1, logits.size(-1))
        return F.cross_entropy(flat, y.to(self.device).reshape(-1), ignore_index=IGNORE, reduction=reduction)

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Step ``step``'s (inputs, labels, positions): positions are None for pretraining text."""
        b, f = self.req.batch_size, self.req.pretrain_fraction
        n_pre = steps_in_share(step - 1, f)
        if self.windows is not None and in_share(step, f):
            x, y = self.windows.batch(n_pre * b, b)
            return x, y, None
        return self.batches.batch(step - 1 - n_pre, b, self.context)

    @torch.no_grad()
    def _validate(self) -> float:
        self.model.eval()
        total = count = 0.0
        for x, y, pos in self.val:
            total += self._loss(x, y, pos, reduction="sum").item()
            count += int((y != IGNORE).sum())
        self.model.train()
        return total / max(count, 1)

    def _checkpoint(self, elapsed: float) -> None:
        val = self._validate()
        st = self.state
        best = st.best_val_loss is None or val < st.best_val_loss
        if best:
            st.best_val_loss, st.best_step = val, st.step
        self.log.write("val", st.step, val_loss=val, best=best)
        weights, optim = distributed.full_state(self.model, self.optimizer)
        st.rng = rng.capture()
        path = ckpt.save_step(
            self.out, st, model=self.model, weights=weights, optimizer=optim,
            tokenizer=self.out / ckpt.TOKENIZER, keep_last=self.req.keep_last, is_best=best,
        )  # fmt: skip
        self.schedule.elapsed_s = elapsed
        self.schedule.save(self.out)
        self.log.write("checkpoint", st.step, path=path.name, best=best)

    def run(self) -> TuneResult:
        t0 = time.perf_counter()
        if not self.req.resume:
            self._prepare_dir()
            self.log.write("start", 0, task_examples=len(self.seqs), vocab_size=self.cfg.model.vocab_size)
        else:
            self.log.truncate_after(self.state.step)
            self.log.write("resume", self.state.step)
        sched, st, req = self.schedule, self.state, self.req
        before = sched.elapsed_s
        first_step = st.step
        status = "completed"
        tokens = 0
        window = [0.0, 0]
        last_saved = st.step
        with stop_on_signals() as stop:
            while not sched.done(st.step):
                elapsed = before + time.perf_counter() - t0
                if stop or (sched.budget_s is not None and elapsed > sched.budget_s * 1.05):
                    status = "interrupted" if stop else "completed"
                    break
                step = st.step + 1
                set_lr(self.optimizer, sched.lr_at(step) * st.lr_scale)
                x, y, pos = self._batch(step)
                loss = self._loss(x, y, pos)
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.training.grad_clip)
                if not (math.isfinite(loss.item()) and math.isfinite(norm.item())):
                    raise CheckFailed(
                        f"tuning diverged at step {step} (loss or gradients NaN/Inf): lower --lr"
                    )
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
                n_tok = int((y != IGNORE).sum())
                st.step, st.tokens_seen = step, st.tokens_seen + n_tok
                st.data_cursor = self.batches.consumed(step - steps_in_share(step, req.pretrain_fraction), req.batch_size)
                tokens += n_tok
                window[0] += loss.item()
                window[1] += 1
                if step % req.log_interval == 0 or sched.done(step):
                    now = time.perf_counter() - t0
                    if step - first_step >= MIN_PROBE_STEPS and step >= req.warmup_steps:
                        sched.resize(step, before + now, step - first_step, now)
                    self._log_train(step, window, tokens / max(now, 1e-9))
                    window = [0.0, 0]
                if step % req.eval_interval == 0:
                    self._checkpoint(before + time.perf_counter() - t0)
                    last_saved = step
        wall = time.perf_counter() - t0
        if st.step != last_saved or not ckpt.step_dirs(self.out):
            self._checkpoint(before + wall)
        if status == "interrupted":
            self.log.write("interrupted", st.step, signal=stop.signal)
        return self._result(status, tokens / max(wall, 1e-9), wall)

    def _log_train(self, step: int, window: list[float], tok_s: float) -> None:
        loss = window[0] / max(window[1], 1)
        lr = self.optimizer.param_groups[0]["lr"]
        self.log.write(
            "train", step, loss=loss, lr=lr, tokens_per_s=tok_s, total_steps=self.schedule.total_steps
        )
        self.progress("tune", step, self.schedule.total_steps, loss=loss, lr=lr, tok_s=tok_s)

    def _result(self, status: str, tok_s: float, wall: float) -> TuneResult:
        st = self.state
        result = TuneResult(
            run_dir=self.out,
            status=status,
            steps=st.step,
            total_steps=self.schedule.total_steps or st.step,
            task_examples=len(self.seqs),
            best_val_loss=st.best_val_loss,
            best_step=st.best_step,
            latest=ckpt.pointer_target(self.out, ckpt.LATEST),
            best=ckpt.pointer_target(self.out, ckpt.BEST),
            tokens_per_s=tok_s,
            wall_s=wall,
            device=self.device,
        )
        self.log.write("end", st.step, status=status, wall_s=wall)
        write_manifest(
            self.out,
            "tune_run",
            inputs=[FileRef.of(self.task.path / "manifest.json"), FileRef.of(self.pre.path / "meta.json")],
            parameters={"request": self.req.model_dump(mode="json"), "schedule": self.schedule.model_dump()},
            metrics=result.model_dump(
                mode="json", include={"status", "steps", "total_steps", "best_val_loss"}
            ),
        )
        return result


def tune(req: TuneRequest, progress: ProgressFn | None = None) -> TuneResult:
    """Tune (or resume) the run ``req.out``; see the module docstring."""
    run = _Tune(req, progress or null_progress)
    try:
        return run.run()
    finally:
        distributed.shutdown(run.d)
