"""Training throughput: our loop (tools.train) against Hugging Face's ``Trainer``, in one run.

Both train the same LlamaForCausalLM (same config, same seed, so the same initial weights) on
the same token sequences in the same order (tools.train.data.TrainWindows), with the same batch,
precision (bf16 autocast or fp32), AdamW hyperparameters, clipping, warmup + cosine schedule,
and torch.compile on CUDA only. Throughput is timed over the steady-state steps
(``--warm``, ``--steps``], after compilation and allocator warm-up, for both alike; each loop
runs ``--repeats`` times in ABBA order and its best run counts, so a drifting load on a shared
machine does not decide the ratio.

MFU = tokens/s x training FLOPs per token (tools.arch.estimates.flops_per_token) / peak, where
the peak (tools.arch.hardware.peak_flops) is, on CUDA, the card's dense bf16 data-sheet figure
and, on the CPU, a measured dense matmul peak in the training precision with all threads.

    .venv/bin/python bench/train.py --data SLM/datasets/processed/riscv64-bpe4k \
        --config SLM/configs/tiny.yaml --steps 60 [--device cpu|cuda] [--config ...]

Prints a table and writes bench/results/train-<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from tools.arch.estimates import flops_per_token, param_count  # noqa: E402
from tools.arch.hardware import default_precision, peak_flops  # noqa: E402
from tools.config import ModelConfig  # noqa: E402
from tools.dataset import Dataset  # noqa: E402
from tools.train import TrainRequest, train  # noqa: E402
from tools.train.data import TrainWindows  # noqa: E402
from tools.train.rng import seed_all  # noqa: E402


class Window:
    """Wall time between the end of step ``warm`` and the end of step ``last``."""

    def __init__(self, warm: int, last: int, device: str):
        self.warm, self.last, self.device = warm, last, device
        self.t: dict[int, float] = {}

    def mark(self, step: int) -> None:
        if step in (self.warm, self.last):
            if self.device.startswith("cuda"):
                torch.cuda.synchronize()
            self.t[step] = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.t[self.last] - self.t[self.warm]


def bench_config(path: Path, data: Dataset, steps: int, precision: str) -> ModelConfig:
    """The config with the dataset's vocabulary, ``steps`` steps, no eval/checkpoint before the end."""
    cfg = ModelConfig.load(path)
    model = cfg.model.model_copy(update={"vocab_size": data.meta.vocab_size})
    training = cfg.training.model_copy(
        update=dict(
            max_steps=steps,
            checkpoint_interval=steps,
            eval_interval=steps,
            eval_batches=1,
            precision=precision,
        )
    )
    return cfg.model_copy(update={"model": model, "training": training, "estimates": None})


def run_ours(cfg: ModelConfig, data: Path, device: str, window: Window, work: Path) -> float | None:
    def progress(task: str, done: float, total: float | None = None, **fields: object) -> None:
        window.mark(int(done))

    req = TrainRequest(config=cfg, data=data, out=work / "ours", device=device, log_interval=10)
    return train(req, progress=progress).final_loss


def run_hf(cfg: ModelConfig, data: Path, device: str, window: Window, work: Path) -> float | None:
    from transformers import LlamaForCausalLM, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    t, m = cfg.training, cfg.model
    windows = TrainWindows(Dataset(data).tokens("train"), m.context, t.seed)

    class Sequences(torch.utils.data.IterableDataset):
        """Our global sequence order, one sequence at a time (the Trainer batches them)."""

        def __iter__(self):
            for i in range(t.max_steps * t.batch_size * t.grad_accum):
                x, y = windows.batch(i, 1)
                yield {"input_ids": x[0], "labels": y[0], "shift_labels": y[0]}  # targets already shifted

    class Timer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            window.mark(state.global_step)

    seed_all(t.seed)
    model = LlamaForCausalLM(cfg.to_hf())
    cuda = device.startswith("cuda")
    args = TrainingArguments(
        output_dir=str(work / "hf"),
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.lr,
        weight_decay=t.weight_decay,
        adam_beta1=t.beta1,
        adam_beta2=t.beta2,
        adam_epsilon=1e-8,
        max_grad_norm=t.grad_clip,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr": t.min_lr},
        warmup_steps=t.warmup_steps,
        bf16=t.precision == "bf16",
        torch_compile=cuda,
        use_cpu=not cuda,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        logging_steps=10,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        seed=t.seed,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Sequences(), callbacks=[Timer()])
    trainer.remove_callback(PrinterCallback)  # keep stdout for the table
    trainer.train()
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    return losses[-1] if losses else None


def bench_one(config: Path, data: Path, device: str, steps: int, warm: int, repeats: int) -> dict:
    ds = Dataset(data)
    precision = default_precision(device)
    cfg = bench_config(config, ds, steps, precision)
    tokens_per_step = cfg.training.batch_size * cfg.training.grad_accum * cfg.model.context
    fpt = flops_per_token(cfg.model)
    peak = peak_flops(device, precision)
    out: dict = {
        "config": str(config),
        "params": param_count(cfg.model),
        "tokens_per_step": tokens_per_step,
        "precision": precision,
        "steps": steps,
        "timed_steps": steps - warm,
        "repeats": repeats,
        "peak_flops": peak,
    }
    loops = {"ours": run_ours, "hf_trainer": run_hf}
    # ABBA order over the repeats, best run per loop: a drifting machine load hits both alike
    order = [
        name
        for i in range(repeats)
        for name in (("ours", "hf_trainer") if i % 2 == 0 else ("hf_trainer", "ours"))
    ]
    runs: dict[str, list[tuple[float, float | None]]] = {name: [] for name in loops}
    for i, name in enumerate(order):
        with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
            window = Window(warm, steps, device)
            final_loss = loops[name](cfg, data, device, window, Path(tmp))
        runs[name].append((tokens_per_step * (steps - warm) / window.seconds, final_loss))
        print(f"  run {i + 1}/{len(order)} {name}: {runs[name][-1][0]:,.0f} tokens/s", file=sys.stderr)
    for name, results in runs.items():
        tps, final_loss = max(results, key=lambda r: r[0])
        out[name] = {
            "tokens_per_s": tps,
            "mfu": tps * fpt / peak,
            "final_loss": final_loss,
            "all_tokens_per_s": [r[0] for r in results],
        }
    out["ratio"] = out["ours"]["tokens_per_s"] / out["hf_trainer"]["tokens_per_s"]
    return out


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    from tools.arch.hardware import cpu_model

    return f"{cpu_model()} ({torch.get_num_threads()} threads)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / "SLM/datasets/processed/riscv64-bpe4k")
    ap.add_argument("--config", type=Path, action="append", help="repeatable; default SLM/configs/tiny.yaml")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warm", type=int, default=10, help="untimed steps (a multiple of 10)")
    ap.add_argument("--repeats", type=int, default=2, help="runs per loop, in ABBA order; the best counts")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    configs = a.config or [REPO / "SLM/configs/tiny.yaml"]
    results = [bench_one(c, a.data, a.device, a.steps, a.warm, a.repeats) for c in configs]
    doc = {
        "device": a.device,
        "device_name": device_name(a.device),
        "torch": torch.__version__,
        "load_avg_1m": os.getloadavg()[0],
        "peak_definition": "CUDA: data-sheet dense bf16 peak; CPU: measured dense matmul peak in the training precision",
        "results": results,
    }
    print(f"{doc['device_name']}  torch {doc['torch']}  load avg {doc['load_avg_1m']:.2f}")
    print(
        f"{'config':<28}{'params':>9}{'prec':>6}{'loop':>12}{'tokens/s':>12}{'MFU':>8}{'loss':>8}{'ratio':>8}"
    )
    for r in results:
        for name in ("ours", "hf_trainer"):
            x = r[name]
            ratio = f"{r['ratio']:.3f}" if name == "ours" else ""
            loss = f"{x['final_loss']:.3f}" if x["final_loss"] is not None else "-"
            print(
                f"{Path(r['config']).name:<28}{r['params'] / 1e6:>8.1f}M{r['precision']:>6}{name:>12}"
                f"{x['tokens_per_s']:>12,.0f}{x['mfu']:>8.1%}{loss:>8}{ratio:>8}"
            )
    out = a.out or REPO / "bench" / "results" / f"train-{a.device.split(':')[0]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
