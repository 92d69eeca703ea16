"""The console task's figures: held-out accuracy against tuning steps, per weight type (PyTorch and
llama.cpp), and end to end on the booted kernel in QEMU.

1. Steps: tools.tune.tune tunes the pretrained model (--model, its pretraining dataset --data) on
   the task dataset (--task) for --minutes on the clock (or --steps), with a checkpoint at about
   --points steps along the schedule (the interval is sized from a short probe run's step rate)
   and every checkpoint kept; tools.tune.evaluate_task scores each on the first --limit test
   requests (commands only, or with --answers also the grounded answers). Plot:
   bench/results/task_steps.png.
2. Types: the tuned run's best checkpoint as F32, and quantized with tools.quant (--method) to
   each of --types, exported to GGUF with tools.export (chat template included); command exact
   and intent accuracy on the same test requests in PyTorch (the dequantized checkpoint) and in
   llama.cpp (llama-cpp-python, F32 KV cache, one thread) through the same constrained decoder
   (tools.tune.evaluate.evaluate_sessions with LlamaSession), with the relative change vs F32.
3. QEMU: the --qemu-type GGUF and the task's knowledge blob (--kb, default the one the task
   dataset was built from) linked into the kernel (tools.kernel.build), booted under QEMU and
   scored by tools.kernel_task.score_console on -n requests of the test templates plus the
   freeform set: command exact, grounded answers, freeform exact, host latency median/p90.

    .venv/bin/python bench/task.py --model SLM/models/checkpoints/<pretrained run> \\
        --data SLM/datasets/processed/<dataset> --task <data task --kb dir> [--minutes 5 | --steps N]
        [--points 8] [--limit 200] [--answers] [--types F32,Q8_0,Q4_0] [--method gptq]
        [--qemu-type Q8_0] [--no-qemu] [-n 60] [--kb KB] [--work DIR]

Work files go under --work (default bench/results/task-work/); a finished tune there is reused
(delete it to tune again). Prints tables and writes bench/results/task.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from tools import checkpoint as ckpt  # noqa: E402
from tools.artifacts import MANIFEST, read_json, read_manifest  # noqa: E402
from tools.errors import CheckFailed, InputError  # noqa: E402
from tools.export.export import ExportRequest, export  # noqa: E402
from tools.export.validate import open_llama  # noqa: E402
from tools.progress import ProgressFn, rich_progress  # noqa: E402
from tools.quant.quantize import QuantizeRequest, quantize  # noqa: E402
from tools.tune import TaskEvalRequest, TaskEvalResult, TuneRequest, evaluate_task, tune  # noqa: E402
from tools.tune.evaluate import evaluate_sessions  # noqa: E402

RESULTS = REPO / "bench" / "results"
PROBE_STEPS = 20  # steps of the probe run that sizes the checkpoint interval under a clock budget
PROBE_LOG = 5  # its log interval: the step rate is timed between its first and last logs
KEEP_ALL = 100_000
FIGURES = ("command_exact", "intent_accuracy", "argument_accuracy", "grounded_accuracy")


class LlamaSession:
    """One exchange in llama.cpp: a fresh KV cache; ``feed`` gives the logits after the last id."""

    def __init__(self, llm):
        llm.reset()
        self.llm, self.length = llm, 0

    def feed(self, ids: list[int]) -> torch.Tensor:
        import numpy as np
        from llama_cpp import llama_get_logits_ith

        self.llm.eval(ids)
        self.length += len(ids)
        row = np.ctypeslib.as_array(llama_get_logits_ith(self.llm.ctx, -1), shape=(self.llm.n_vocab(),))
        return torch.from_numpy(row.copy())


def evaluate_gguf(gguf: Path, step: Path, req: TaskEvalRequest, progress: ProgressFn) -> TaskEvalResult:
    """The task scores of ``gguf`` (exported from ``step``) in llama.cpp, decoded as PyTorch decodes."""
    context = ckpt.load_model(step).config.max_position_embeddings
    llm = open_llama(gguf, context)
    try:
        tok = Tokenizer.from_file(str(step / ckpt.TOKENIZER))
        return evaluate_sessions(
            req.model_copy(update={"model": gguf}), tok, context, lambda: LlamaSession(llm), progress
        )
    finally:
        llm.close()


def figures(r: TaskEvalResult) -> dict:
    return {k: getattr(r, k) for k in FIGURES} | {"examples": r.examples, "wall_s": round(r.wall_s, 1)}


def probe_interval(args, progress: ProgressFn) -> int:
    """Steps between checkpoints for about ``args.points`` of them: the schedule's length is
    unknown under a clock budget, so it is estimated from a short run's step rate."""
    if args.steps and not args.minutes:
        return max(1, args.steps // args.points)
    marks: dict[int, float] = {}

    def timed(task: str, done: float, total: float | None = None, **fields) -> None:
        if task == "tune":
            marks[int(done)] = time.perf_counter()
        progress("tune probe" if task == "tune" else task, done, total, **fields)

    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        tune(
            tune_request(
                args,
                Path(tmp) / "probe",
                max_steps=PROBE_STEPS,
                eval_interval=KEEP_ALL,
                log_interval=PROBE_LOG,
            ),
            timed,
        )
    first, last = min(marks), max(marks)
    rate = (last - first) / max(marks[last] - marks[first], 1e-9)
    total = int(args.minutes * 60 * rate)
    if args.steps:
        total = min(total, args.steps)
    print(f"probe: {rate:.2f} steps/s -> about {total} steps in {args.minutes} min", flush=True)
    return max(1, total // args.points)


def tune_request(args, out: Path, **kw) -> TuneRequest:
    fields = dict(model=args.model, task=args.task, data=args.data, out=out, minutes=args.minutes,
                  max_steps=args.steps, device=args.device, seed=args.seed, keep_last=KEEP_ALL)  # fmt: skip
    return TuneRequest(**(fields | kw))


def tuned_run(args, progress: ProgressFn) -> tuple[Path, dict, bool]:
    """(the tuned run, its result, whether it was tuned now); a finished run in --work is reused."""
    run = args.work / "tune"
    if (run / MANIFEST).is_file():
        print(f"reusing the tuned run {run}", flush=True)
        return run, read_manifest(run).metrics, False
    interval = probe_interval(args, progress)
    result = tune(tune_request(args, run, eval_interval=interval), progress)
    if result.status != "completed":
        raise CheckFailed(f"tuning {result.status} at step {result.steps}")
    return run, result.model_dump(mode="json") | {"eval_interval": interval}, True


def val_losses(run: Path) -> dict[int, float]:
    out = {}
    for line in (run / ckpt.METRICS).read_text().splitlines():
        rec = json.loads(line)
        if rec.get("event") == "val":
            out[rec["step"]] = rec["val_loss"]
    return out


def steps_figure(run: Path, eval_req: TaskEvalRequest, progress: ProgressFn) -> list[dict]:
    losses = val_losses(run)
    rows = []
    for step_dir in ckpt.step_dirs(run):
        step = ckpt.load_trainer_state(step_dir).step
        r = evaluate_task(eval_req.model_copy(update={"model": step_dir}), progress)
        rows.append({"step": step, "dir": str(step_dir), "val_loss": losses.get(step)} | figures(r))
    return rows


def plot_steps(rows: list[dict], title: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows]
    for key, label in (
        ("command_exact", "command exact"),
        ("intent_accuracy", "intent"),
        ("grounded_accuracy", "grounded answer"),
    ):
        if all(r[key] is not None for r in rows):
            ax.plot(steps, [100 * r[key] for r in rows], "o-", label=label)
    ax.set_xlabel("tuning step")
    ax.set_ylabel("held-out test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(textwrap.fill(title, 90), fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_title(args) -> str:
    budget = f"{args.minutes:g} min" if args.minutes else f"{args.steps} steps"
    return f"{args.model.name} tuned {budget} on {args.task.name}; first {args.limit} test requests"


class Types:
    """The tuned checkpoint per weight type: its PyTorch checkpoint and its GGUF, made once."""

    def __init__(self, args, step: Path, fresh: bool, progress: ProgressFn):
        self.args, self.step, self.fresh, self.progress = args, step, fresh, progress
        self.ggufs: dict[str, Path] = {}
        self.deploys: dict[str, dict] = {}

    def _reuse(self, out: Path) -> bool:
        return not self.fresh and (out / MANIFEST).is_file()

    def checkpoint(self, qtype: str) -> Path:
        """The F32 step dir, or the quantized dir (its dequantized weights load in PyTorch)."""
        if qtype == "F32":
            return self.step
        out = self.args.work / f"quant-{self.args.method}-{qtype}"
        if not self._reuse(out):
            req = QuantizeRequest(model=self.step, method=self.args.method, type=qtype, data=self.args.data,
                                  out=out, evaluate=False, overwrite=True)  # fmt: skip
            quantize(req, self.progress)
        return out

    def gguf(self, qtype: str) -> Path:
        if qtype not in self.ggufs:
            out = self.args.work / f"export-{qtype}"
            if not self._reuse(out):
                req = ExportRequest(model=self.checkpoint(qtype), out=out, data=self.args.data, evaluate=False,
                                    overwrite=True, type="F32" if qtype == "F32" else None)  # fmt: skip
                export(req, self.progress)
            deploy = read_json(out / "deploy.json")
            self.ggufs[qtype] = out / deploy["file"]
            self.deploys[qtype] = {"validation_passed": deploy.get("passed"), "bytes": deploy.get("bytes")}
        return self.ggufs[qtype]


def rel(x: float, base: float) -> float | None:
    return round((x - base) / base, 4) if base else None


def types_figure(
    types: Types, step_rows: list[dict], eval_req: TaskEvalRequest, progress: ProgressFn
) -> list[dict]:
    rows = []
    for qtype in types.args.types:
        done = [r for r in step_rows if Path(r["dir"]) == types.step] if qtype == "F32" else []
        torch_fig = (
            done[0]
            if done
            else figures(
                evaluate_task(eval_req.model_copy(update={"model": types.checkpoint(qtype)}), progress)
            )
        )
        cpp = figures(evaluate_gguf(types.gguf(qtype), types.step, eval_req, progress))
        rows.append({"type": qtype, "pytorch": {k: torch_fig[k] for k in (*FIGURES, "examples")}, "llama_cpp": cpp}
                    | types.deploys[qtype])  # fmt: skip
    base = next((r for r in rows if r["type"] == "F32"), None)
    for r in rows:
        if base is not None:
            r["rel_change_vs_f32"] = {
                side: {k: rel(r[side][k], base[side][k]) for k in ("command_exact", "intent_accuracy")}
                for side in ("pytorch", "llama_cpp")
            }
    return rows


def task_kb(args) -> Path:
    if args.kb:
        return args.kb
    kb = read_manifest(args.task).parameters.get("kb")
    if not kb:
        raise InputError(f"{args.task}: built without --kb; pass --kb (the knowledge blob of its index)")
    return Path(kb)


def qemu_figure(args, types: Types, progress: ProgressFn) -> dict:
    from tools.kernel import KernelBuildRequest, build
    from tools.kernel_task import ConsoleTaskRequest, score_console

    arch = read_manifest(args.task).parameters["arch"]
    kb = task_kb(args)
    image = build(
        KernelBuildRequest(
            arch=arch, model=types.gguf(args.qemu_type), kb=kb, out=args.work / f"kernel-{arch}"
        ),
        progress,
    )
    t0 = time.perf_counter()
    r = score_console(
        ConsoleTaskRequest(arch=arch, image=image.image, task=args.task, n=args.n, out=args.work / "console"),
        progress,
    )
    return {
        "arch": arch,
        "type": args.qemu_type,
        "kb": str(kb),
        "image_bytes": image.image_bytes,
        "boots_ok": r.boots_ok,
        "error": r.error,
        "devices": r.machine,
        "requests": r.requests,
        "template": {k: getattr(r.template, k) for k in (*FIGURES, "examples", "answers_scored")},
        "freeform": {k: getattr(r.freeform, k) for k in (*FIGURES, "examples", "answers_scored")},
        "latency_median_s": r.latency_median_s,
        "latency_p90_s": r.latency_p90_s,
        "wall_s": round(time.perf_counter() - t0, 1),
        "transcript": str(r.transcript),
    }


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def signed(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:+.1f}%"


def secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def print_tables(result: dict) -> None:
    print(f"\naccuracy against tuning steps ({result['limit']} test requests, % held out)")
    print(f"{'step':>6} {'val loss':>8} | {'exact':>6} {'intent':>6} {'args':>6} {'ground':>6}")
    for r in result["steps"]:
        loss = "-" if r["val_loss"] is None else f"{r['val_loss']:.3f}"
        print(f"{r['step']:>6} {loss:>8} | " + " ".join(f"{pct(r[k]):>6}" for k in FIGURES))
    if result["types"]:
        print(
            f"\nper weight type (step {result['tuned_step']}, {result['method']}): command exact / intent, %"
        )
        print(
            f"{'type':5} {'MB':>6} | {'PyTorch':>13} | {'llama.cpp':>13} | {'vs F32: PyTorch':>15} {'llama.cpp':>9}"
        )
        for r in result["types"]:
            pt, cp, ch = r["pytorch"], r["llama_cpp"], r.get("rel_change_vs_f32", {})
            mb = "-" if r.get("bytes") is None else f"{r['bytes'] / 1e6:.1f}"
            print(
                f"{r['type']:5} {mb:>6} | {pct(pt['command_exact']):>6} {pct(pt['intent_accuracy']):>6} | "
                f"{pct(cp['command_exact']):>6} {pct(cp['intent_accuracy']):>6} | "
                f"{signed(ch.get('pytorch', {}).get('command_exact')):>15} {signed(ch.get('llama_cpp', {}).get('command_exact')):>9}"
            )
    q = result.get("qemu")
    if q:
        t, f = q["template"], q["freeform"]
        print(
            f"\nQEMU {q['arch']} {q['type']}: boots_ok={q['boots_ok']} {q['devices']} devices; template "
            f"{t['examples']}: exact {pct(t['command_exact'])}% grounded {pct(t['grounded_accuracy'])}%; freeform "
            f"{f['examples']}: exact {pct(f['command_exact'])}%; latency median {secs(q['latency_median_s'])} s p90 "
            f"{secs(q['latency_p90_s'])} s" + (f"; error: {q['error']}" if q["error"] else "")
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="pretrained run or step directory")
    ap.add_argument("--data", type=Path, required=True, help="its pretraining dataset")
    ap.add_argument("--task", type=Path, required=True, help="task dataset (auton-slm data task --kb)")
    ap.add_argument("--minutes", type=float, default=None, help="tuning budget on the clock (default 5)")
    ap.add_argument("--steps", type=int, default=None, help="fixed schedule length (or a cap with --minutes)")
    ap.add_argument("--points", type=int, default=8, help="checkpoints along the schedule")
    ap.add_argument("--limit", type=int, default=200, help="test requests scored")
    ap.add_argument("--answers", action="store_true", help="also generate and score the grounded answers")
    ap.add_argument("--types", default="F32,Q8_0,Q4_0", help="weight types ('' for none)")
    ap.add_argument("--method", default="gptq", choices=("rtn", "gptq", "awq"))
    ap.add_argument("--qemu-type", default="Q8_0", choices=("F32", "Q8_0", "Q4_0"))
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("-n", type=int, default=60, help="test-template requests typed at the booted kernel")
    ap.add_argument("--kb", type=Path, default=None, help="default: the blob the task dataset was built from")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--work", type=Path, default=RESULTS / "task-work")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.minutes is None and args.steps is None:
        args.minutes = 5.0
    if args.points < 1 or args.limit < 1 or args.n < 1:
        raise InputError("--points, --limit and -n must be positive")
    args.types = [t for t in args.types.split(",") if t]
    bad = set(args.types) - {"F32", "Q8_0", "Q4_0"}
    if bad:
        raise InputError(f"unknown --types {sorted(bad)} (expected F32, Q8_0, Q4_0)")
    return args


def run(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    with rich_progress(transient=True) as progress:
        run_dir, tuned, fresh = tuned_run(args, progress)
        eval_req = TaskEvalRequest(model=run_dir, task=args.task, limit=args.limit, answers=args.answers)
        step_rows = steps_figure(run_dir, eval_req, progress)
        step = ckpt.resolve_checkpoint(run_dir)
        types = Types(args, step, fresh, progress)
        type_rows = types_figure(types, step_rows, eval_req, progress)
        qemu = None if args.no_qemu else qemu_figure(args, types, progress)
    args.results.mkdir(parents=True, exist_ok=True)
    result = {
        "model": str(args.model), "data": str(args.data), "task": str(args.task),
        "minutes": args.minutes, "max_steps": args.steps, "tune": tuned,
        "tuned_step": ckpt.load_trainer_state(step).step, "method": args.method,
        "limit": args.limit, "answers": args.answers, "steps": step_rows, "types": type_rows, "qemu": qemu,
        "plot": str(plot_steps(step_rows, plot_title(args), args.results / "task_steps.png")),
        "load_average": [round(load, 2), round(os.getloadavg()[0], 2)], "cpus": os.cpu_count(),
        "wall_s": round(time.perf_counter() - t0, 1),
    }  # fmt: skip
    (args.results / "task.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        result = run(args)
    except (InputError, CheckFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, InputError) else 1
    print_tables(result)
    print(
        f"\n(wall {result['wall_s']} s; load average {result['load_average']}; {args.results / 'task.json'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
