"""The architecture study: transformer, linear attention, mixture of experts, GRU, LSTM, Mamba-style SSM, FNO, U-Net
and ResNet on one physics task, at equal weights and equal training steps, over seeds.

    python benchmarks/architectures.py --data data/schrodinger-1d.h5 --long data/schrodinger-1d-long.h5 \\
        --out runs/architectures [--budget 3e5] [--seeds 0 1 2] [--epochs 6] [--lrs 3e-4 1e-3 3e-3 1e-2] \\
        [--sweep-epochs 1] [--archs transformer gru ...] [--jobs 2]

The task: next state of ``schrodinger-1d`` (psi and the potential in, ``asinh(V / 2)``; residual; rms
normalisation; batch 32). Every architecture is sized to ``--budget`` weights (its width searched on weightless
shells; the token models cut the 256 points into 32 patches of 8 and stack 4 blocks) and trained for the same
``--epochs`` (equal steps x batch: equal data seen, not equal time; the seconds per step are measured and
reported beside). The learning rate per architecture is the best of ``--lrs`` by validation loss after
``--sweep-epochs`` on seed 0. Scored on the held-out test split (one-step nRMSE, 20-step rollout nRMSE) and on
``--long`` (100-step rollout nRMSE, steps until the correlation with the truth drops below 0.8); then each
architecture's training throughput (samples/s, batch 32), inference latency (batch 1) and peak training memory
(tensor allocations of one step),
best of 3 in a fresh process each (``--jobs 1`` while timing matters: the runs go ``--jobs`` at a time, one
thread each).

Runs resume (``physml train`` resumes from last.pt); each finished run is scored once, in its own process, into
its folder's scores.json. Writes ``--out``/budget-N/results.json and prints the table (mean and sample standard
deviation over seeds; persistence, the copy of the last state, for scale).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import yaml
from _report import best_of, machine, markdown_table, nearest_width, peak_bytes

from physml.models import build_model
from physml.models.registry import model_shell

TOKENS = {"patch": 8, "depth": 4, "n_heads": 4, "n_kv_heads": 2}
CONVS = {"ndim": 1, "n_blocks": 4, "kernel_size": 5, "padding": "circular"}
#: Architecture: (registered model, fixed params, width key, width step).
ARCHITECTURES: dict[str, tuple[str, dict, str, int]] = {
    "transformer": ("multimodal_transformer", TOKENS, "dim", 16),
    "linear-attention": ("multimodal_transformer", {**TOKENS, "attention": "linear"}, "dim", 16),
    # The study's proposal: the transformer plus a full-resolution linear spectral path (docs/architectures.md).
    "transformer+spectral": ("multimodal_transformer", {**TOKENS, "spectral_skip": 129}, "dim", 16),
    "moe": ("moe_transformer", {**TOKENS, "n_experts": 4, "top_k": 2}, "dim", 16),
    "gru": ("gru", TOKENS, "dim", 2),
    "lstm": ("lstm", TOKENS, "dim", 2),
    "ssm": ("ssm", TOKENS, "dim", 2),
    "fno": ("fno", {"modes": [32], "n_layers": 4}, "width", 1),
    "unet": ("unet", {"multipliers": [1, 2, 2], "n_blocks": 2, "padding": "circular"}, "width", 8),
    "resnet": ("resnet", CONVS, "width", 1),
    "resnet+spectral": ("resnet", {**CONVS, "spectral_skip": 129}, "width", 1),
    # The same, the skip restricted to the band the data populate (|k| <= 5: Fourier index 32 of 129).
    "transformer+spectral32": ("multimodal_transformer", {**TOKENS, "spectral_skip": 32}, "dim", 16),
    "resnet+spectral32": ("resnet", {**CONVS, "spectral_skip": 32}, "width", 1),
}
TOKEN_MODELS = {"multimodal_transformer", "moe_transformer", "gru", "lstm", "ssm"}
SHAPE = {"in_channels": 3, "out_channels": 2, "field_size": [256]}  # psi (re, im) and the potential -> psi


def shape_params(name: str) -> dict:
    params = dict(SHAPE) if name in {*TOKEN_MODELS, "unet"} else {k: v for k, v in SHAPE.items() if k != "field_size"}
    return params | ({"modalities": [], "missing_ok": []} if name in TOKEN_MODELS else {})


def sized(arch: str, budget: int) -> dict:
    """The architecture's params with the width whose weight count is nearest ``budget`` (shells: no memory)."""
    name, fixed, key, step = ARCHITECTURES[arch]

    def count(width: int) -> int:
        return sum(p.numel() for p in model_shell(name, {**shape_params(name), **fixed, key: width}).parameters())

    return {**fixed, key: nearest_width(count, range(step, 1025, step), budget)}


def train_config(data: Path, arch: str, params: dict, lr: float, epochs: int, seed: int) -> dict:
    name = ARCHITECTURES[arch][0]
    data_keys = {"path": str(data), "n_input": 1, "batch_size": 32, "normalize": "rms", "in_memory": True}
    return {
        "data": data_keys,
        "model": {"name": name, "params": params, "residual": True, "squash": {"potential": 2.0}},
        "losses": {"data": 1.0},
        "optim": {"lr": lr, "weight_decay": 1e-4, "warmup_steps": 100, "grad_clip": 1.0},
        "epochs": epochs,
        "seed": seed,
        "checkpoint_every": 500,
    }


def run(config: dict, out: Path, scored: argparse.Namespace | None = None) -> Path:
    """Train (or resume) one run in a child process with one thread, then (given ``scored``: the data) score it in
    another, into ``out``/scores.json; returns its best.pt."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = out / "done"
    if not done.exists():
        command = [
            sys.executable,
            "-m",
            "physml",
            "train",
            str(out / "config.yaml"),
            "--out",
            str(out),
            "--no-progress",
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=(out / "stderr.log").open("w"))
        done.write_text(json.dumps({"seconds": time.perf_counter() - start}))
    if scored is not None and not (out / "scores.json").exists():
        command = [sys.executable, __file__, "--data", str(scored.data), "--long", str(scored.long), "--out", "-",
                   "--score", str(out)]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        subprocess.run(command, check=True, env=env, capture_output=True)
    return out / "best.pt"


def best_validation(out: Path) -> float:
    checkpoint = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    return float(checkpoint["extra"]["best"])


def profile(arch: str, params: dict) -> dict[str, float]:
    """In this (fresh) process: seconds per training step at batch 32 (forward, MSE, backward, AdamW), latency of a
    forward pass at batch 1, and the peak of the tensor memory one training step allocates (``torch.profiler``)."""
    torch.manual_seed(0)
    name = ARCHITECTURES[arch][0]
    model = build_model(name, {**shape_params(name), **params})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y, one = torch.randn(32, 3, 256), torch.randn(32, 2, 256), torch.randn(1, 3, 256)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model.eval()(one)
        model.train()

    peak = peak_bytes(step, torch.device("cpu")) / 2**20
    step_s, infer_s = best_of({"step": step}, 1, 3)["step"], best_of({"infer": infer}, 1, 10)["infer"]
    return {"samples_per_s": 32 / step_s, "latency_ms": 1e3 * infer_s, "peak_train_mb": peak,
            "threads": torch.get_num_threads()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="schrodinger-1d build")
    parser.add_argument("--long", type=Path, required=True, help="schrodinger-1d-long build (100-step rollouts)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=3e5, help="weights per model (default 3e5)")
    parser.add_argument("--archs", nargs="+", choices=list(ARCHITECTURES), default=list(ARCHITECTURES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3, 1e-2], help="the sweep, on seed 0")
    parser.add_argument("--sweep-epochs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--profile", nargs=2, metavar=("ARCH", "PARAMS"), help=argparse.SUPPRESS)
    parser.add_argument("--score", type=Path, metavar="RUN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        print(json.dumps(profile(args.profile[0], json.loads(args.profile[1]))))
        return
    if args.score:
        (args.score / "scores.json").write_text(json.dumps(score(args.score / "best.pt", args), indent=1))
        return
    budget = int(args.budget)
    out = args.out / f"budget-{budget}"
    params = {arch: sized(arch, budget) for arch in args.archs}
    print(machine())
    pool = ThreadPoolExecutor(args.jobs)

    def sweep_run(arch: str, lr: float) -> Path:
        return run(
            train_config(args.data, arch, params[arch], lr, args.sweep_epochs, 0), out / "sweep" / f"{arch}-lr{lr:g}"
        )

    sweeps = {(a, lr): pool.submit(sweep_run, a, lr) for a in args.archs for lr in args.lrs}
    lrs = {}
    for arch in args.archs:
        scores = {lr: best_validation(sweeps[arch, lr].result().parent) for lr in args.lrs}
        lrs[arch] = min(scores, key=scores.get)
        print(f"{arch}: validation loss after {args.sweep_epochs} epochs by lr {scores} -> {lrs[arch]:g}", flush=True)
    runs = {(a, s): pool.submit(lambda a, s: run(train_config(args.data, a, params[a], lrs[a], args.epochs, s),
                                                 out / f"{a}-seed{s}", args), a, s)
            for a in args.archs for s in args.seeds}  # fmt: skip
    scores = {f"{a}-seed{s}": json.loads((f.result().parent / "scores.json").read_text()) for (a, s), f in runs.items()}
    pool.shutdown()
    path = out / "results.json"  # runs of other invocations (other --archs, --lrs) stay in it
    results = json.loads(path.read_text()) if path.exists() else {"budget": budget, "archs": {}, "lrs": {},
                                                                    "params": {}, "epochs": {}}  # fmt: skip
    results["persistence"] = next(iter(scores.values()))["persistence"]
    for arch in args.archs:
        results["lrs"][arch], results["params"][arch], results["epochs"][arch] = lrs[arch], params[arch], args.epochs
    for arch in args.archs:
        command = [sys.executable, __file__, "--data", "-", "--long", "-", "--out", "-",
                   "--profile", arch, json.dumps(params[arch])]  # fmt: skip
        cost = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        shell = model_shell(ARCHITECTURES[arch][0], {**shape_params(ARCHITECTURES[arch][0]), **params[arch]})
        results["archs"][arch] = {
            "weights": sum(p.numel() for p in shell.parameters()),
            "seeds": {s: scores[f"{arch}-seed{s}"]["model"] for s in args.seeds},
            **cost,
        }
    path.write_text(json.dumps(results, indent=1))
    print(report(results))


def score(checkpoint: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The run's errors, and persistence's on the same windows: test split (one step, 20 steps) and ``--long``
    (100 steps; steps until the correlation with the truth drops below 0.8)."""
    from physml.training.evaluate import evaluate_checkpoints

    short = evaluate_checkpoints({"model": checkpoint}, args.data, split="test", rollout=20)["models"]
    long = evaluate_checkpoints({"model": checkpoint}, args.long, split="test", rollout=100)["models"]
    return {
        label: {
            "one_step": short[label]["one_step"]["nrmse"],
            "rollout_20": short[label]["rollout"]["nrmse_final"],
            "rollout_100": long[label]["rollout"]["nrmse_final"],
            "steps_corr_0.8": long[label]["rollout"]["steps_correlation_above_0.8"],
        }
        for label in ("model", "persistence")
    }


def report(results: dict) -> str:
    def spread(values: list[float]) -> str:
        mean = statistics.mean(values)
        return f"{mean:.4g} ± {statistics.stdev(values):.2g}" if len(values) > 1 else f"{mean:.4g}"

    header = ["architecture", "weights", "lr", "one-step nRMSE", "rollout 20", "rollout 100", "steps corr > 0.8",
              "samples/s", "latency ms", "peak MB"]  # fmt: skip
    rows = []
    for arch, r in sorted(results["archs"].items(), key=lambda item: _mean(item[1], "one_step")):
        cells = [spread([s[key] for s in r["seeds"].values()]) for key in ("one_step", "rollout_20", "rollout_100",
                                                                             "steps_corr_0.8")]  # fmt: skip
        rows.append([arch, str(r["weights"]), f"{results['lrs'][arch]:g}", *cells, f"{r['samples_per_s']:.0f}",
                     f"{r['latency_ms']:.2f}", f"{r['peak_train_mb']:.0f}"])  # fmt: skip
    p = results["persistence"]
    rows.append(["persistence", "0", "—", *(f"{p[key]:.4g}" for key in ("one_step", "rollout_20", "rollout_100",
                                                                        "steps_corr_0.8")), "—", "—", "—"])  # fmt: skip
    return markdown_table(header, rows)


def _mean(result: dict, key: str) -> float:
    return statistics.mean(s[key] for s in result["seeds"].values())


if __name__ == "__main__":
    main()
