"""The architecture study: transformer, linear attention, mixture of experts, GRU, LSTM, Mamba-style SSM, FNO, U-Net
and ResNet on one physics task, at equal weights and equal training steps, over seeds.

    python benchmarks/architectures.py --data data/schrodinger-1d.h5 --long data/schrodinger-1d-long.h5 \\
        --out runs/architectures [--budget 3e5] [--seeds 0 1 2] [--epochs 6] [--lrs 3e-4 1e-3 3e-3 1e-2] \\
        [--sweep-epochs 1] [--archs transformer gru ...] [--jobs 2]

The task: next state of ``schrodinger-1d`` or ``schrodinger-2d`` (psi and the potential in, ``asinh(V / 2)``;
residual; rms normalisation; batch 32). Every architecture is sized to ``--budget`` weights (its width searched on
weightless shells; the token models cut the grid into patches of 8, 32 in 1D and 12 x 12 on the 96 x 96 grid, and
stack 4 blocks; 2D convolutions and FNO filters of 12 x 12 modes on a 2D grid) and trained for the same
``--epochs`` (equal steps x batch: equal data seen, not equal time; the seconds per step are measured and
reported beside). The learning rate per architecture is the best of ``--lrs`` by validation loss after
``--sweep-epochs`` on seed 0. Scored on the held-out test split (one-step nRMSE, 20-step rollout nRMSE, or as
many steps as the runs hold) and, given ``--long``, on its test split (100-step rollout nRMSE, steps until the
correlation with the truth drops below 0.8); then each
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

import h5py
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
FNO_MODES = {1: 32, 2: 12}  # Fourier modes per axis: 2D filters hold modes squared weights each


def grid_of(data: Path) -> list[int]:
    """The spatial grid of a Well-layout build, e.g. ``[256]`` or ``[96, 96]``."""
    with h5py.File(data, "r") as f:
        return [len(f["dimensions"][axis]) for axis in f["dimensions"].attrs["spatial_dims"]]


def saves_of(data: Path) -> int:
    with h5py.File(data, "r") as f:
        return len(f["dimensions/time"])


def shape_params(name: str, grid: list[int]) -> dict:
    """psi (real, imaginary) and the potential in, psi out; the grid for the models that are built for one."""
    params = {"in_channels": 3, "out_channels": 2} | ({"field_size": grid} if name in {*TOKEN_MODELS, "unet"} else {})
    return params | ({"modalities": [], "missing_ok": []} if name in TOKEN_MODELS else {})


def on_grid(fixed: dict, grid: list[int]) -> dict:
    """The fixed params, written for the 1D grid of 256 points, on ``grid``: convolutions of its dimension, the FNO's
    modes per axis, a spectral skip of at most the modes the grid holds."""
    fixed = dict(fixed) | ({"ndim": len(grid)} if "ndim" in fixed else {})
    if "modes" in fixed:
        fixed["modes"] = [FNO_MODES[len(grid)]] * len(grid)
    if "spectral_skip" in fixed:
        fixed["spectral_skip"] = min(fixed["spectral_skip"], *grid[:-1], grid[-1] // 2 + 1)
    return fixed


def sized(arch: str, budget: int, grid: list[int]) -> dict:
    """The architecture's params with the width whose weight count is nearest ``budget`` (shells: no memory)."""
    name, fixed, key, step = ARCHITECTURES[arch]
    fixed = on_grid(fixed, grid)

    def count(width: int) -> int:
        return sum(p.numel() for p in model_shell(name, {**shape_params(name, grid), **fixed, key: width}).parameters())

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
        long = ["--long", str(scored.long)] if scored.long else []
        command = [sys.executable, __file__, "--data", str(scored.data), *long, "--out", "-", "--score", str(out)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        subprocess.run(command, check=True, env=env, capture_output=True)
    return out / "best.pt"


def best_validation(out: Path) -> float:
    checkpoint = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    return float(checkpoint["extra"]["best"])


def profile(arch: str, params: dict, grid: list[int]) -> dict[str, float]:
    """In this (fresh) process: seconds per training step at batch 32 (forward, MSE, backward, AdamW), latency of a
    forward pass at batch 1, and the peak of the tensor memory one training step allocates (``torch.profiler``)."""
    torch.manual_seed(0)
    name = ARCHITECTURES[arch][0]
    model = build_model(name, {**shape_params(name, grid), **params})
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y, one = torch.randn(32, 3, *grid), torch.randn(32, 2, *grid), torch.randn(1, 3, *grid)

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
    parser.add_argument("--data", type=Path, required=True, help="a schrodinger build (1D or 2D)")
    parser.add_argument("--long", type=Path, help="a build of longer runs for 100-step rollouts (schrodinger-1d-long)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=3e5, help="weights per model (default 3e5)")
    parser.add_argument("--archs", nargs="+", choices=list(ARCHITECTURES), default=list(ARCHITECTURES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3, 1e-2], help="the sweep, on seed 0")
    parser.add_argument("--sweep-epochs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--profile", nargs=3, metavar=("ARCH", "PARAMS", "GRID"), help=argparse.SUPPRESS)
    parser.add_argument("--score", type=Path, metavar="RUN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        print(json.dumps(profile(args.profile[0], json.loads(args.profile[1]), json.loads(args.profile[2]))))
        return
    if args.score:
        (args.score / "scores.json").write_text(json.dumps(score(args.score / "best.pt", args), indent=1))
        return
    budget = int(args.budget)
    out = args.out / f"budget-{budget}"
    grid = grid_of(args.data)
    params = {arch: sized(arch, budget, grid) for arch in args.archs}
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
        command = [sys.executable, __file__, "--data", "-", "--out", "-",
                   "--profile", arch, json.dumps(params[arch]), json.dumps(grid)]  # fmt: skip
        cost = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        shell = model_shell(ARCHITECTURES[arch][0], {**shape_params(ARCHITECTURES[arch][0], grid), **params[arch]})
        results["archs"][arch] = {
            "weights": sum(p.numel() for p in shell.parameters()),
            "seeds": {s: scores[f"{arch}-seed{s}"]["model"] for s in args.seeds},
            **cost,
        }
    path.write_text(json.dumps(results, indent=1))
    print(report(results))


def score(checkpoint: Path, args: argparse.Namespace) -> dict[str, dict[str, float | None]]:
    """The run's errors, and persistence's on the same windows: test split (one step, 20 steps, or as many as the
    runs hold) and ``--long`` when given (100 steps; steps until the correlation with the truth drops below 0.8)."""
    from physml.training.evaluate import evaluate_checkpoints

    rollout = min(20, saves_of(args.data) - 1)  # after the one input state
    short = evaluate_checkpoints({"model": checkpoint}, args.data, split="test", rollout=rollout)["models"]
    long = {}
    if args.long:
        long = evaluate_checkpoints({"model": checkpoint}, args.long, split="test", rollout=100)["models"]
    return {
        label: {
            "one_step": short[label]["one_step"]["nrmse"],
            "rollout_20": short[label]["rollout"]["nrmse_final"],
            "rollout_steps": rollout,
            "rollout_100": long[label]["rollout"]["nrmse_final"] if long else None,
            "steps_corr_0.8": long[label]["rollout"]["steps_correlation_above_0.8"] if long else None,
        }
        for label in ("model", "persistence")
    }


def report(results: dict) -> str:
    def spread(values: list[float | None]) -> str:
        if None in values:
            return "—"
        mean = statistics.mean(values)
        return f"{mean:.4g} ± {statistics.stdev(values):.2g}" if len(values) > 1 else f"{mean:.4g}"

    steps = next(iter(results["archs"].values()))["seeds"]
    steps = next(iter(steps.values())).get("rollout_steps", 20)
    header = ["architecture", "weights", "lr", "one-step nRMSE", f"rollout {steps}", "rollout 100", "steps corr > 0.8",
              "samples/s", "latency ms", "peak MB"]  # fmt: skip
    keys = ("one_step", "rollout_20", "rollout_100", "steps_corr_0.8")
    rows = []
    for arch, r in sorted(results["archs"].items(), key=lambda item: _mean(item[1], "one_step")):
        cells = [spread([s[key] for s in r["seeds"].values()]) for key in keys]
        rows.append([arch, str(r["weights"]), f"{results['lrs'][arch]:g}", *cells, f"{r['samples_per_s']:.0f}",
                     f"{r['latency_ms']:.2f}", f"{r['peak_train_mb']:.0f}"])  # fmt: skip
    p = results["persistence"]
    rows.append(["persistence", "0", "—", *(spread([p[key]]) for key in keys), "—", "—", "—"])
    return markdown_table(header, rows)


def _mean(result: dict, key: str) -> float:
    return statistics.mean(s[key] for s in result["seeds"].values())


if __name__ == "__main__":
    main()
