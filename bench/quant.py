"""Quantization table: RTN / GPTQ / AWQ x Q8_0 / Q4_0 on a tiny-tier model trained by the pipeline.

For each method and type, tools.quant.quantize quantizes the run's best checkpoint (calibration on
the dataset's train split) and tools.eval scores the result on the same test tokens and held-out QA
pairs as the float model (evaluated once, reused as every row's baseline). Columns: test
perplexity and its relative change vs F32 (the < 2% rule's metric), task accuracy (exact match)
and its change in points, bits per byte, GGUF weight bytes and their share of the F32 weights,
seconds to quantize (calibration statistics + quantization; RTN needs no calibration, so its time is
the rounding alone; no evaluation), the rule verdict and the mean relative output error of the
linears on the calibration data (report.json's layer_error).

    .venv/bin/python bench/quant.py --data SLM/datasets/processed/riscv64-bpe4k --model SLM/models/checkpoints/<tiny run>
    .venv/bin/python bench/quant.py --data SLM/datasets/processed/riscv64-bpe4k --train-steps 300  # trains tiny.yaml first

Prints a table and writes bench/results/quant.json (work files under bench/results/quant-work/).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.export.source import resolve_source  # noqa: E402
from tools.quant.quantize import QuantizeRequest, quantize  # noqa: E402

RESULTS = REPO / "bench" / "results"


def train_tiny(config: Path, data: Path, steps: int | None, out: Path) -> Path:
    from tools.train import TrainRequest, train

    print(f"training {config} on {data} for {steps or 'the configured'} steps -> {out}", flush=True)
    r = train(
        TrainRequest(config=config, data=data, out=out, max_steps=steps, device="cpu", resume=out.exists())
    )
    print(
        f"trained {r.steps} steps, best val ppl {r.best_val_ppl}, {r.tokens_per_s:.0f} tokens/s", flush=True
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument(
        "--model", type=Path, help="a tiny-tier run or step directory (else --train-steps trains one)"
    )
    ap.add_argument("--config", type=Path, default=REPO / "SLM" / "configs" / "tiny.yaml")
    ap.add_argument("--train-steps", type=int, default=None)
    ap.add_argument("--methods", default="rtn,gptq,awq")
    ap.add_argument("--types", default="Q8_0,Q4_0")
    ap.add_argument("--calib-sequences", type=int, default=64)
    ap.add_argument("--eval-max-tokens", type=int, default=65536)
    ap.add_argument("--eval-max-qa", type=int, default=200)
    args = ap.parse_args()

    work = RESULTS / "quant-work"
    model = args.model or train_tiny(args.config, args.data, args.train_steps, work / "run")
    rows, baseline = [], None
    for method in args.methods.split(","):
        for qtype in args.types.split(","):
            t0 = time.perf_counter()
            result = quantize(
                QuantizeRequest(
                    model=model,
                    method=method,
                    type=qtype,
                    data=args.data,
                    out=work / f"{method}-{qtype}",
                    calib_sequences=args.calib_sequences,
                    eval_max_tokens=args.eval_max_tokens,
                    eval_max_qa=args.eval_max_qa,
                    baseline=baseline,
                    overwrite=True,
                )
            )
            r = result.report
            baseline = r.before
            rows.append(
                {
                    "method": method,
                    "type": qtype,
                    "perplexity": r.after.perplexity,
                    "ppl_change": r.relative_change["perplexity"],
                    "task_accuracy": r.after.task_accuracy,
                    "task_change_points": None
                    if r.after.task_accuracy is None or r.before.task_accuracy is None
                    else 100 * (r.after.task_accuracy - r.before.task_accuracy),
                    "bits_per_byte": r.after.bits_per_byte,
                    "weight_bytes": r.weight_bytes,
                    "size_vs_f32": r.weight_bytes / r.float_weight_bytes,
                    "quantize_s": r.quantize_seconds,
                    "total_s": time.perf_counter() - t0,
                    "rule_passed": r.passed,
                    "mean_layer_error": sum(r.layer_error.values()) / len(r.layer_error),
                }
            )
            print(f"done {method} {qtype}: ppl {r.after.perplexity:.3f} ({r.rule.value:+.2%})", flush=True)

    spec = resolve_source(model).config.model
    b = baseline
    header = (
        f"{'method':6} {'type':5} {'ppl':>9} {'dppl':>8} {'task acc':>8} {'dtask':>7} {'bits/B':>7} "
        f"{'weights':>11} {'vs F32':>7} {'quant s':>8} {'rule':>5} {'layer err':>9}"
    )
    print(
        f"\nmodel {model}  data {args.data}  tier {spec.tier}, d_model {spec.d_model}, {spec.n_layers} layers"
    )
    print(
        f"F32: perplexity {b.perplexity:.3f}  task accuracy {b.task_accuracy}  bits/byte {b.bits_per_byte:.4f}  "
        f"({b.tokens} test tokens, {b.qa_pairs} QA pairs)"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        task = "n/a" if r["task_accuracy"] is None else f"{r['task_accuracy']:.3f}"
        dtask = "n/a" if r["task_change_points"] is None else f"{r['task_change_points']:+.1f}pt"
        print(
            f"{r['method']:6} {r['type']:5} {r['perplexity']:9.3f} {r['ppl_change']:+8.2%} {task:>8} {dtask:>7} "
            f"{r['bits_per_byte']:7.4f} {r['weight_bytes']:11,} {r['size_vs_f32']:7.1%} {r['quantize_s']:8.1f} "
            f"{'pass' if r['rule_passed'] else 'FAIL':>5} {r['mean_layer_error']:9.2e}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "quant.json"
    out.write_text(
        json.dumps(
            {"model": str(model), "data": str(args.data), "baseline": b.model_dump(), "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
