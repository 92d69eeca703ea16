"""The training loop: LlamaForCausalLM from a ModelConfig, trained on a prepared dataset.

One optimizer step = ``grad_accum`` micro-batches of ``batch_size`` sequences per process;
the loss of each step is checked at once (with the gradient norm) for NaN/Inf, which rolls
the run back to its latest checkpoint at a lower LR, a bounded number of times. SIGINT and
SIGTERM stop after the current step with a checkpoint. Every step is a pure function of the
checkpointed state (weights, AdamW state, data cursor, RNG states, step), so ``resume``
reproduces the losses of an uninterrupted run exactly on the CPU. Metrics: tools/train/metrics.py.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from tools import checkpoint as ckpt
from tools.arch.design import rescale_schedule
from tools.arch.estimates import flops_per_token, param_count, with_estimates
from tools.arch.hardware import default_precision, peak_flops
from tools.artifacts import FileRef, write_manifest
from tools.config import ModelConfig
from tools.dataset import Dataset
from tools.errors import CheckFailed, InputError
from tools.progress import ProgressFn, null_progress
from tools.train import distributed, rng
from tools.train.data import TrainWindows, gather, val_batches
from tools.train.divergence import lowered
from tools.train.launch import write_launch_script
from tools.train.metrics import MetricsLog, ppl
from tools.train.optim import build_optimizer, decay_start, lr_at, set_lr
from tools.train.request import NanEvent, TrainRequest, TrainResult
from tools.train.signals import StopRequest, stop_on_signals

SIZE_AFTER_STEPS = 10  # optimizer steps a run with a time budget times before it sizes its schedule
RESIZE_FACTOR = 4  # ... and it sizes again at 4x, 16x ... those steps, at the rate since the last sizing,
RESIZE_UNTIL = 0.25  # while that is within the first quarter of the schedule (a busy start is not the run)
SIZE_MARGIN = 0.9  # of the remaining budget for the steps: evaluations and checkpoints take the rest
# A warmup-stable-decay schedule's LR is flat until its decay, so its length may change until then:
# it sizes again every RESIZE_EVERY steps at the wall-clock rate since its first sizing
# (evaluations and checkpoints included), and leaves WALL_MARGIN of the rest for the last save.
RESIZE_EVERY = 10
WALL_MARGIN = 0.98
MAX_STRETCH = 4  # a sized schedule is at most this many times the config's


class TrainingDiverged(CheckFailed):
    """NaN/Inf kept coming back after the allowed number of rollbacks."""


@dataclass
class Interval:
    """Sums over the optimizer steps since a point: for logging and throughput."""

    loss: float = 0.0
    norm: float = 0.0
    steps: int = 0
    seconds: float = 0.0

    def add(self, loss: float, norm: float, seconds: float) -> None:
        self.loss, self.norm = self.loss + loss, self.norm + norm
        self.steps, self.seconds = self.steps + 1, self.seconds + seconds


def train(req: TrainRequest, progress: ProgressFn | None = None) -> TrainResult:
    """Train (or resume) the run ``req.out``; see the module docstring."""
    cfg = with_estimates(req.load_config())
    data = Dataset(req.data)
    check_data_fits(cfg, data)
    d = distributed.init(req.device)
    try:
        with stop_on_signals() as stop:
            return _Run(req, cfg, data, d, progress or null_progress, stop).run()
    finally:
        distributed.shutdown(d)


def check_data_fits(cfg: ModelConfig, data: Dataset) -> None:
    if cfg.model.vocab_size != data.meta.vocab_size:
        raise InputError(
            f"config vocab_size {cfg.model.vocab_size} does not match the dataset's {data.meta.vocab_size} ({data.path})"
        )
    if not (data.path / ckpt.TOKENIZER).is_file():
        raise InputError(f"{data.path}/{ckpt.TOKENIZER}: missing tokenizer")


def prepare_run_dir(req: TrainRequest, cfg: ModelConfig) -> None:
    """Create or check the run directory (rank 0 only)."""
    out = req.out
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if req.resume:
        if not ckpt.step_dirs(out):
            raise InputError(f"{out}: no checkpoint to resume from")
        saved = ModelConfig.load(out / ckpt.MODEL_CONFIG)
        if saved.model != cfg.model:
            raise InputError(f"{out}: the run was trained with another model config than --config")
    elif out.exists() and (ckpt.step_dirs(out) or (out / ckpt.MODEL_CONFIG).exists()):
        raise InputError(f"{out}: already holds a run (pass --resume to continue it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{out}: cannot create run directory ({e.strerror})") from None
    probe = out / ".write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        raise InputError(f"{out}: directory is not writable") from None
    cfg.save(out / ckpt.MODEL_CONFIG)
    write_launch_script(out, req, out / ckpt.MODEL_CONFIG)


class _Run:
    def __init__(
        self,
        req: TrainRequest,
        cfg: ModelConfig,
        data: Dataset,
        d: distributed.Dist,
        progress: ProgressFn,
        stop: StopRequest,
    ):
        self.req, self.cfg, self.data, self.d, self.progress, self.stop = req, cfg, data, d, progress, stop
        self.spec = cfg.training
        self.run_dir = req.out
        if d.is_main:
            prepare_run_dir(req, cfg)
        d.barrier()
        self.log = MetricsLog(self.run_dir / ckpt.METRICS, enabled=d.is_main)
        self.precision = default_precision(d.device) if self.spec.precision == "auto" else self.spec.precision
        self.device_type = "cuda" if d.device.startswith("cuda") else "cpu"
        self.windows = TrainWindows(data.tokens("train"), cfg.model.context, self.spec.seed)
        self.val_tokens = data.tokens("val")
        self.val = val_batches(
            self.val_tokens, cfg.model.context, self.spec.batch_size, self.spec.eval_batches
        )
        self.seqs_per_step = self.spec.batch_size * self.spec.grad_accum * d.world
        self.tokens_per_step = self.seqs_per_step * cfg.model.context
        self.flops_per_token = flops_per_token(cfg.model)
        self.peak = peak_flops(d.device, self.precision)
        self.pending_nan = set(req.inject_nan_at_steps)
        self.nan_events: list[NanEvent] = []
        self._build_model()

    # -- setup -----------------------------------------------------------------------------
    def _build_model(self) -> None:
        from transformers import LlamaForCausalLM

        rng.seed_all(self.spec.seed)
        if self.device_type == "cuda":
            torch.set_float32_matmul_precision("high")
        self.model = LlamaForCausalLM(self.cfg.to_hf()).to(self.d.device)
        self.model.train()
        fsdp = self.cfg.model.tier == "large"
        compile_ = self.req.compile if self.req.compile is not None else self.device_type == "cuda"
        self.net = distributed.wrap(self.model, self.d, fsdp=fsdp, compile=compile_)
        self.optimizer = build_optimizer(self.model, self.spec, self.d.device)
        self.state = ckpt.TrainerState(step=0, tokens_seen=0, data_cursor=0, world_size=self.d.world)

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device_type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        if self.device_type == "cuda":
            return t.pin_memory().to(self.d.device, non_blocking=True)
        return t

    # -- checkpoints -----------------------------------------------------------------------
    def _save(self, is_best: bool) -> Path | None:
        weights, optim = distributed.full_state(self.model, self.optimizer)
        path = None
        if self.d.is_main:
            self.state.rng = rng.capture()
            path = ckpt.save_step(
                self.run_dir,
                self.state,
                model=self.model,
                weights=weights,
                optimizer=optim,
                tokenizer=self.data.path / ckpt.TOKENIZER,
                keep_last=self.spec.keep_last,
                is_best=is_best,
            )
            self.log.write("checkpoint", self.state.step, path=path.name, best=is_best)
        self.d.barrier()
        return path

    def _load(self, step_dir: Path) -> ckpt.TrainerState:
        state = ckpt.load_trainer_state(step_dir)
        distributed.load_full_state(
            self.model, self.optimizer, ckpt.load_weights(step_dir), ckpt.load_optimizer(step_dir)
        )
        rng.restore(state.rng)
        state.world_size = self.d.world
        return state

    # -- one step --------------------------------------------------------------------------
    def _loss(self, x: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        with self._autocast():
            logits = self.net(input_ids=self._to_device(x), use_cache=False).logits
        return F.cross_entropy(
            logits.float().view(-1, logits.size(-1)), self._to_device(y).reshape(-1), reduction=reduction
        )

    def _step(self, step: int) -> tuple[float, float, bool]:
        """Forward/backward over the accumulation micro-batches and clip; returns (mean loss,
        grad norm, finite) agreed over all processes. The optimizer has not stepped yet."""
        b, accum = self.spec.batch_size, self.spec.grad_accum
        total = torch.zeros((), device=self.d.device)
        for micro in range(accum):
            cursor = self.state.data_cursor + micro * b * self.d.world
            x, y = self.windows.batch(cursor, b, self.d.rank, self.d.world)
            with distributed.grad_sync(self.net, micro == accum - 1):
                loss = self._loss(x, y)
                if step in self.pending_nan:
                    loss = loss * float("nan")
                (loss / accum).backward()
            total += loss.detach()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.spec.grad_clip)
        if hasattr(norm, "full_tensor"):  # FSDP returns a DTensor
            norm = norm.full_tensor()
        mean_loss, norm_value = total.item() / accum, norm.item()
        bad = not (math.isfinite(mean_loss) and math.isfinite(norm_value))
        loss_sum, norm_sum, bad_any = self.d.sum([0.0 if bad else mean_loss, norm_value, float(bad)])
        if bad_any:
            return math.nan, math.nan, False
        return loss_sum / self.d.world, norm_sum / self.d.world, True

    def _rollback(self, step: int) -> None:
        self.pending_nan.discard(step)
        self.optimizer.zero_grad(set_to_none=True)
        latest = ckpt.pointer_target(self.run_dir, ckpt.LATEST)
        if self.state.rollbacks >= self.req.max_rollbacks or latest is None:
            self.log.write("nan", step, what="loss_or_grad", action="abort", rollbacks=self.state.rollbacks)
            where = f"; last good checkpoint: {latest}" if latest else ""
            raise TrainingDiverged(
                f"loss or gradients became NaN/Inf at step {step} after {self.state.rollbacks} rollbacks "
                f"(limit {self.req.max_rollbacks}, LR scale now {self.state.lr_scale:g}){where}"
            )
        lr_scale = lowered(self.state.lr_scale)
        rollbacks = self.state.rollbacks + 1
        self.state = self._load(latest)
        self.state.lr_scale, self.state.rollbacks = lr_scale, rollbacks
        self.log.truncate_after(self.state.step)
        self.log.write(
            "nan", step, what="loss_or_grad", action="rollback", to_step=self.state.step, lr_scale=lr_scale
        )
        self.nan_events.append(NanEvent(step=step, to_step=self.state.step, lr_scale=lr_scale))

    # -- evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def _validate(self) -> float:
        """Mean token loss over the fixed validation batches; every process runs the same number
        of forwards (FSDP needs that), extra ones weigh nothing."""
        self.net.eval()
        world = self.d.world
        n = len(self.val)
        total = count = 0.0
        for i in range(self.d.rank, -(-n // world) * world, world):
            x, y = gather(self.val_tokens, self.val[min(i, n - 1)], self.cfg.model.context)
            loss = self._loss(x, y, reduction="sum").item()
            if i < n:
                total, count = total + loss, count + y.numel()
        self.net.train()
        total, count = self.d.sum([total, count])
        return total / count

    def _validate_and_save(self, save: bool) -> None:
        """Validation loss at this step; a checkpoint saved with it becomes ``best`` when its
        loss is the lowest so far."""
        val = self._validate()
        best = self.state.best_val_loss is None or val < self.state.best_val_loss
        if best:
            self.state.best_val_loss, self.state.best_step = val, self.state.step
        self.log.write("val", self.state.step, val_loss=val, val_ppl=ppl(val), best=best)
        if save:
            self._save(is_best=best)

    # -- the run ---------------------------------------------------------------------------
    def _start(self) -> None:
        head = dict(
            params=param_count(self.cfg.model),
            device=self.d.device,
            precision=self.precision,
            world_size=self.d.world,
            tokens_per_step=self.tokens_per_step,
            max_steps=self.spec.max_steps,
            peak_flops=self.peak,
        )
        start = ckpt.resolve_checkpoint(self.run_dir, prefer=ckpt.LATEST) if self.req.resume else None
        if start is not None:
            self.state = self._load(start)
        if self.req.lr_scale is not None:  # absolute: replaces the checkpoint's scale
            self.state.lr_scale = self.req.lr_scale
        if start is not None and self.state.max_steps is not None:
            if self.req.max_steps is None:  # the schedule the run sized for itself
                self.spec = rescale_schedule(self.spec, self.state.max_steps)
            else:  # an explicit length (e.g. "train longer") replaces it
                self.state.max_steps = None
        sizing = start is None and self.req.time_budget_s is not None
        self.size_at = min(SIZE_AFTER_STEPS, self.spec.max_steps) if sizing else None
        self.sized: tuple[int, float] | None = None  # (step, perf_counter) of the first sizing
        if start is not None:
            self.log.truncate_after(self.state.step)
            self.log.write("resume", self.state.step, checkpoint=start.name, **head)
        else:
            self.log.write("start", 0, **head)
            self._save(is_best=False)  # step 0: the rollback target before the first interval

    def run(self) -> TrainResult:
        t_start = time.perf_counter()
        self._start()
        interval, total, since = Interval(), Interval(), Interval()
        last: dict | None = None
        loss: float | None = None
        status = "completed"
        while self.state.step < self.spec.max_steps:
            if self._stop_requested():
                status = "interrupted"
                break
            step = self.state.step + 1
            set_lr(self.optimizer, lr_at(step - 1, self.spec) * self.state.lr_scale)
            t0 = time.perf_counter()
            loss, norm, finite = self._step(step)
            if not finite:
                self._rollback(step)
                interval = Interval()
                continue
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            if self.device_type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            st = self.state
            st.step, st.data_cursor = step, st.data_cursor + self.seqs_per_step
            st.tokens_seen += self.tokens_per_step
            interval.add(loss, norm, dt)
            total.add(loss, norm, dt)
            since.add(loss, norm, dt)
            if step == self.size_at:
                self._size_to_budget(step, since, t_start)
                since = Interval()
                self.size_at = self._next_sizing(step)
            spec = self.spec
            if step % self.req.log_interval == 0 or step == spec.max_steps:
                last = self._log_train(step, interval)
                interval = Interval()
            save = step % spec.checkpoint_interval == 0 or step == spec.max_steps
            if save or step % spec.eval_interval == 0:
                self._validate_and_save(save)
        if status == "interrupted":
            self._finish_interrupted()
        return self._result(status, last, loss, t_start, total)

    def _next_sizing(self, step: int) -> int | None:
        """The step of the next sizing, or None when the length is fixed from here on."""
        spec = self.spec
        if spec.schedule == "wsd":
            nxt = step + RESIZE_EVERY
            return nxt if nxt < decay_start(spec.max_steps, spec.decay_fraction) else None
        nxt = step * RESIZE_FACTOR
        return nxt if nxt <= RESIZE_UNTIL * spec.max_steps else None

    def _size_to_budget(self, step: int, recent: Interval, t_start: float) -> None:
        """Fit the schedule into the request's time budget (all processes agree on the rate): at
        the first sizing and for a cosine schedule, at the step time measured since the last
        sizing; for warmup-stable-decay after its first, at the wall-clock time per step since
        then. The trainer state keeps the length for a resume."""
        assert self.req.time_budget_s is not None
        now = time.perf_counter()
        left = self.req.time_budget_s - (now - t_start)
        if self.sized is None or self.spec.schedule != "wsd":
            per_step = self.d.sum([recent.seconds / recent.steps])[0] / self.d.world
            fit = step + int(SIZE_MARGIN * left / per_step)
            self.sized = (step, now)
        else:
            first, at = self.sized
            per_step = self.d.sum([(now - at) / (step - first)])[0] / self.d.world
            fit = step + int(WALL_MARGIN * left / per_step)
        steps = max(step, min(fit, MAX_STRETCH * self.cfg.training.max_steps))
        if steps == self.state.max_steps:
            return
        self.log.write("sized", step, max_steps=steps, step_s=per_step, budget_s=self.req.time_budget_s)
        self.spec = rescale_schedule(self.spec, steps)
        self.state.max_steps = steps

    def _stop_requested(self) -> bool:
        return bool(self.d.sum([float(bool(self.stop))])[0])

    def _log_train(self, step: int, interval: Interval) -> dict:
        n = interval.steps
        loss = interval.loss / n
        tps = self.tokens_per_step * n / interval.seconds
        mfu = tps * self.flops_per_token / (self.peak * self.d.world)
        rec = self.log.write(
            "train",
            step,
            loss=loss,
            ppl=ppl(loss),
            lr=self.optimizer.param_groups[0]["lr"],
            grad_norm=interval.norm / n,
            tokens_seen=self.state.tokens_seen,
            tokens_per_s=tps,
            mfu=mfu,
            epoch=self.windows.epoch_of(self.state.data_cursor),
        )
        if self.d.is_main:
            eta = (self.spec.max_steps - step) * interval.seconds / n
            self.progress("train", step, self.spec.max_steps, loss=loss, tok_s=tps, mfu=mfu, eta_s=eta)
        return rec

    def _finish_interrupted(self) -> None:
        st = self.state
        if (
            ckpt.pointer_target(self.run_dir, ckpt.LATEST)
            != (self.run_dir / ckpt.step_dir_name(st.step)).resolve()
        ):
            self._save(is_best=False)
        self.log.write("interrupted", st.step, signal=self.stop.signal or "peer")

    def _result(
        self,
        status: str,
        last: dict | None,
        last_loss: float | None,
        t_start: float,
        total: Interval,
    ) -> TrainResult:
        st = self.state
        tps = self.tokens_per_step * total.steps / total.seconds if total.seconds else 0.0
        mfu = tps * self.flops_per_token / (self.peak * self.d.world)
        wall = time.perf_counter() - t_start
        result = TrainResult(
            run_dir=self.run_dir,
            status=status,
            steps=st.step,
            max_steps=self.spec.max_steps,
            tokens_seen=st.tokens_seen,
            params=param_count(self.cfg.model),
            final_loss=(last or {}).get("loss"),
            last_step_loss=last_loss,
            best_val_loss=st.best_val_loss,
            best_val_ppl=ppl(st.best_val_loss) if st.best_val_loss is not None else None,
            best_step=st.best_step,
            latest=ckpt.pointer_target(self.run_dir, ckpt.LATEST),
            best=ckpt.pointer_target(self.run_dir, ckpt.BEST),
            nan_events=self.nan_events,
            tokens_per_s=tps,
            mfu=mfu,
            wall_s=wall,
            device=self.d.device,
            precision=self.precision,
            world_size=self.d.world,
        )
        if self.d.is_main:
            self.log.write("end", st.step, status=status, tokens_per_s=tps, mfu=mfu, wall_s=wall)
            write_manifest(
                self.run_dir,
                "train_run",
                inputs=[FileRef.of(self.data.path / f) for f in ("meta.json", ckpt.TOKENIZER)],
                parameters={
                    "config": self.cfg.model_dump(mode="json"),
                    "request": self.req.model_dump(mode="json"),
                },
                metrics=result.model_dump(
                    mode="json",
                    include={
                        "status",
                        "steps",
                        "tokens_seen",
                        "final_loss",
                        "best_val_loss",
                        "best_val_ppl",
                        "best_step",
                        "tokens_per_s",
                        "mfu",
                    },
                ),
            )
        return result
