"""The architecture study: transformer, linear attention, mixture of experts, GRU, LSTM, Mamba-style SSM, FNO, U-Net
and ResNet on one physics task, at equal weights and equal training steps, over seeds.

    python benchmarks/architectures.py --data data/schrodinger-1d.h5 --long data/schrodinger-1d-long.h5 \\
        --out runs/architectures [--budget 3e5] [--seeds 0 1 2] [--epochs 6] [--lrs 3e-4 1e-3 3e-3 1e-2] \\
        [--sweep-epochs 1] [--archs transformer gru ...] [--jobs 2] [--inputs fields | psi | psi+text+image]

The task: next state of ``schrodinger-1d`` or ``schrodinger-2d`` (psi and the potential in, ``asinh(V / 2)``;
residual; rms normalisation; batch 32). ``--inputs psi`` withholds the potential; ``psi+text+image`` gives the token
models its description (up to 160 tokens) and picture (16 x 128, patches of 8) instead, with the fields-only body
(the embeddings add weights; modality dropout 0.1); its runs go to budget-N-psi-text-image.

Every architecture is sized to ``--budget`` weights (its width searched on weightless shells; the token models cut
the grid into patches of 8, 32 in 1D and 12 x 12 on the 96 x 96 grid, and stack 4 blocks; 2D convolutions and FNO
filters of 12 x 12 modes on a 2D grid) and trained for the same ``--epochs`` (equal steps x batch: equal data seen,
not equal time; the seconds per step are measured and reported beside). The learning rate per architecture is the
best of ``--lrs`` by validation loss after ``--sweep-epochs`` on seed 0 (one rate given: no sweep). A sweep of
the full ``--epochs`` has already trained seed 0 at the chosen rate: that run is copied, not trained again.

Scored on the held-out test split (one-step nRMSE, 20-step rollout nRMSE, or as many steps as the runs hold) and,
given ``--long``, on its test split (100-step rollout nRMSE, steps until the correlation with the truth drops below
0.8); then each architecture's training throughput (samples/s, batch 32), inference latency (batch 1) and peak
training memory (tensor allocations of one step), best of 3 in a fresh process each, for the model of its first
seed (``--jobs 1`` while timing matters: the runs go ``--jobs`` at a time, one thread each; ``--reprofile`` times
them again on a quiet machine).

Runs resume (``physml train`` resumes from last.pt); each finished run is scored once, in its own process, into
its folder's scores.json. Writes ``--out``/budget-N/results.json (seeds of earlier invocations at the same rate stay
in it, and so do the costs measured, unless ``--reprofile``) and prints the table (mean and sample standard
deviation over seeds; persistence, the copy of the last state, for scale).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import torch
from _report import ONE_THREAD, best_of, machine, markdown_table, merged_json, nearest_width, peak_bytes, train_run

from physml.models import load_checkpoint
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
#: What the models are given besides psi: the potential as a field, nothing, or its description and picture.
INPUTS = ("fields", "psi", "psi+text+image")
MODALITIES = {"text": True, "text_length": 160, "image": [16, 128]}
FNO_MODES = {1: 32, 2: 12}  # Fourier modes per axis: 2D filters hold modes squared weights each


def grid_of(data: Path) -> list[int]:
    """The spatial grid of a Well-layout build, e.g. ``[256]`` or ``[96, 96]``."""
    with h5py.File(data, "r") as f:
        return [len(f["dimensions"][axis]) for axis in f["dimensions"].attrs["spatial_dims"]]


def saves_of(data: Path) -> int:
    with h5py.File(data, "r") as f:
        return len(f["dimensions/time"])


def shape_params(name: str, grid: list[int], inputs: str = "fields") -> dict:
    """psi (real, imaginary), and the potential unless withheld, in; psi out; the grid for the models built for one.
    The body only: a run given text and images adds their embeddings (``physml train`` derives their sizes)."""
    params = {"in_channels": 3 if inputs == "fields" else 2, "out_channels": 2}
    params |= {"field_size": grid} if name in {*TOKEN_MODELS, "unet"} else {}
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


def sized(arch: str, budget: int, grid: list[int], inputs: str = "fields") -> dict:
    """The architecture's params with the width whose weight count is nearest ``budget`` (shells: no memory)."""
    name, fixed, key, step = ARCHITECTURES[arch]
    fixed = on_grid(fixed, grid)

    def count(width: int) -> int:
        shell = model_shell(name, {**shape_params(name, grid, inputs), **fixed, key: width})
        return sum(p.numel() for p in shell.parameters())

    return {**fixed, key: nearest_width(count, range(step, 1025, step), budget)}


def train_config(
    data: Path, arch: str, params: dict, lr: float, epochs: int, seed: int, inputs: str = "fields", warmup: int = 100
) -> dict:
    name = ARCHITECTURES[arch][0]
    data_keys = {"path": str(data), "n_input": 1, "batch_size": 32, "normalize": "rms", "in_memory": True}
    model = {"name": name, "params": params, "residual": True}
    if inputs == "fields":
        model["squash"] = {"potential": 2.0}
    else:
        data_keys["constant_fields"] = []
    extra = {}
    if inputs == "psi+text+image":
        model["params"] = {**params, "image_patch": 8, "modality_dropout": 0.1}
        extra["modalities"] = MODALITIES
    return {
        "data": data_keys,
        "model": model,
        **extra,
        "losses": {"data": 1.0},
        "optim": {"lr": lr, "weight_decay": 1e-4, "warmup_steps": warmup, "grad_clip": 1.0},
        "epochs": epochs,
        "seed": seed,
        "checkpoint_every": 500,
    }


def run(config: dict, out: Path, scored: argparse.Namespace | None = None, twin: Path | None = None) -> Path:
    """Train (or resume, or copy from ``twin``: see ``train_run``) one run in a child process with one thread, then
    (given ``scored``: the data) score it in another, into ``out``/scores.json; returns its best.pt."""
    train_run(config, out, twin=twin)
    if scored is not None and not (out / "scores.json").exists():
        long = ["--long", str(scored.long)] if scored.long else []
        command = [sys.executable, __file__, "--data", str(scored.data), *long, "--out", "-", "--score", str(out)]
        subprocess.run(command, check=True, env=ONE_THREAD, capture_output=True)
    return out / "best.pt"


def best_validation(out: Path) -> float:
    checkpoint = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
    return float(checkpoint["extra"]["best"])


def profile(checkpoint: Path, grid: list[int]) -> dict[str, float]:
    """In this (fresh) process, for the model of a run: seconds per training step at batch 32 (forward, MSE,
    backward, AdamW), latency of a forward pass at batch 1, and the peak of the tensor memory one training step
    allocates (``torch.profiler``). A model that reads text and images gets full-length ones."""
    torch.manual_seed(0)
    model = load_checkpoint(checkpoint)[0].train()
    cfg = model.config
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def inputs(batch: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        extra = {}
        if "text" in getattr(cfg, "modalities", ()):
            extra["text"] = torch.randint(1, cfg.vocab_size, (batch, cfg.text_length))
        if "image" in getattr(cfg, "modalities", ()):
            extra["image"] = torch.randn(batch, cfg.image_channels, *cfg.image_size)
        return torch.randn(batch, cfg.in_channels, *grid), extra

    (x, extra), (one, one_extra) = inputs(32), inputs(1)
    y = torch.randn(32, cfg.out_channels, *grid)

    def step():
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x, **extra), y).backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model.eval()(one, **one_extra)
        model.train()

    peak = peak_bytes(step, torch.device("cpu")) / 2**20
    step_s, infer_s = best_of({"step": step}, 1, 3)["step"], best_of({"infer": infer}, 1, 10)["infer"]
    return {"weights": sum(p.numel() for p in model.parameters()), "samples_per_s": 32 / step_s,
            "latency_ms": 1e3 * infer_s, "peak_train_mb": peak, "threads": torch.get_num_threads()}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a schrodinger build (1D or 2D); without it, --plot only draws")
    parser.add_argument("--long", type=Path, help="a build of longer runs for 100-step rollouts (schrodinger-1d-long)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget", type=float, default=3e5, help="weights per model (default 3e5)")
    parser.add_argument("--archs", nargs="+", choices=list(ARCHITECTURES), default=list(ARCHITECTURES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3, 3e-3, 1e-2], help="the sweep, on seed 0")
    parser.add_argument("--sweep-epochs", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=100, help="learning-rate warm-up steps (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument(
        "--reprofile",
        action="store_true",
        help="time the architectures again, though results.json has their costs (a quiet machine)",
    )
    parser.add_argument("--inputs", choices=INPUTS, default="fields",
                        help="psi and the potential field (default); psi alone; psi with the potential's description "
                             "and picture (token models only)")  # fmt: skip
    parser.add_argument("--profile", nargs=2, metavar=("RUN", "GRID"), help=argparse.SUPPRESS)
    parser.add_argument("--score", type=Path, metavar="RUN", help=argparse.SUPPRESS)
    parser.add_argument("--plot", type=Path, help="draw the errors against weights of every budget run so far")
    args = parser.parse_args()
    if args.data is None:
        if args.plot is None:
            parser.error("--data is required (or give --plot alone, to draw the runs so far)")
        return plot(args.out, args.plot)
    if args.profile:
        print(json.dumps(profile(Path(args.profile[0]) / "best.pt", json.loads(args.profile[1]))))
        return
    if args.score:
        (args.score / "scores.json").write_text(json.dumps(score(args.score / "best.pt", args), indent=1))
        return
    budget = int(args.budget)
    fields_only = [a for a in args.archs if ARCHITECTURES[a][0] not in TOKEN_MODELS]
    if args.inputs == "psi+text+image" and fields_only:
        parser.error(f"--inputs psi+text+image: {fields_only} read fields only; choose token models")
    out = args.out / (f"budget-{budget}" + ("" if args.inputs == "fields" else "-" + args.inputs.replace("+", "-")))
    grid = grid_of(args.data)
    params = {arch: sized(arch, budget, grid, args.inputs) for arch in args.archs}
    print(machine())
    pool = ThreadPoolExecutor(args.jobs)

    def config(arch: str, lr: float, epochs: int, seed: int) -> dict:
        return train_config(args.data, arch, params[arch], lr, epochs, seed, args.inputs, args.warmup)

    lrs = dict.fromkeys(args.archs, args.lrs[0])  # one rate given: no sweep
    if len(args.lrs) > 1:
        sweep = out / "sweep"
        sweeps = {(a, lr): pool.submit(lambda a, lr: run(config(a, lr, args.sweep_epochs, 0), sweep / f"{a}-lr{lr:g}"),
                                       a, lr) for a in args.archs for lr in args.lrs}  # fmt: skip
        for arch in args.archs:
            losses = {lr: best_validation(sweeps[arch, lr].result().parent) for lr in args.lrs}
            lrs[arch] = min(losses, key=losses.get)
            print(f"{arch}: validation loss after {args.sweep_epochs} epochs by lr {losses} -> {lrs[arch]:g}",
                  flush=True)  # fmt: skip

    def seed_run(arch: str, seed: int) -> Path:  # seed 0 is the sweep's run at its rate if that ran the budget
        swept = out / "sweep" / f"{arch}-lr{lrs[arch]:g}" if len(args.lrs) > 1 else None
        return run(config(arch, lrs[arch], args.epochs, seed), out / f"{arch}-seed{seed}", args, twin=swept)

    runs = {(a, s): pool.submit(seed_run, a, s) for a in args.archs for s in args.seeds}
    scores = {f"{a}-seed{s}": json.loads((f.result().parent / "scores.json").read_text()) for (a, s), f in runs.items()}
    pool.shutdown()
    empty = {"budget": budget, "archs": {}, "lrs": {}, "params": {}, "epochs": {}}
    with merged_json(out / "results.json", empty) as results:  # runs of other invocations stay in it
        results["persistence"] = next(iter(scores.values()))["persistence"]
        for arch in args.archs:
            earlier = results["archs"].get(arch, {})  # seeds of earlier invocations at the same rate stay
            seeds = earlier.get("seeds", {}) if earlier and results["lrs"].get(arch) == lrs[arch] else {}
            seeds |= {str(s): scores[f"{arch}-seed{s}"]["model"] for s in args.seeds}
            cost = {k: v for k, v in earlier.items() if k != "seeds"}
            if not cost or args.reprofile:
                first = out / f"{arch}-seed{args.seeds[0]}"
                command = [sys.executable, __file__, "--data", "-", "--out", "-", "--profile", str(first),
                           json.dumps(grid)]  # fmt: skip
                cost = json.loads(
                    subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
                )
            results["archs"][arch] = {"seeds": dict(sorted(seeds.items())), **cost}
            results["lrs"][arch], results["params"][arch] = lrs[arch], params[arch]
            results["epochs"][arch] = args.epochs
    print(report(results))
    if args.plot:
        plot(args.out, args.plot)


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


def plot(out: Path, path: Path) -> None:
    """One-step and long-rollout nRMSE (100 steps, or as many as the runs hold) against weights, one line per
    architecture through its budgets (``out``/budget-N, fields inputs; not the ``+`` variants): mean over seeds,
    their spread as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = sorted(out.glob("budget-*/results.json"))
    budgets = [json.loads(p.read_text()) for p in found if p.parent.name.removeprefix("budget-").isdigit()]
    if not budgets:
        raise SystemExit(f"no study results under {out}: run the study first")
    seeds = [s for r in budgets for a in r["archs"].values() for s in a["seeds"].values()]
    long = "rollout_100" if all(s["rollout_100"] is not None for s in seeds) else "rollout_20"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    archs = sorted({a for r in budgets for a in r["archs"] if "+" not in a})
    for ax, key in zip(axes, ("one_step", long)):
        for arch, color, marker in zip(archs, plt.get_cmap("tab10").colors, "osD^v<>ph*"):
            runs = sorted((r["archs"][arch]["weights"], [s[key] for s in r["archs"][arch]["seeds"].values()])
                          for r in budgets if arch in r["archs"])  # fmt: skip
            means = [statistics.mean(v) for _, v in runs]
            spreads = [statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in runs]
            ax.errorbar([w for w, _ in runs], means, yerr=spreads, marker=marker, capsize=3, color=color, label=arch)
        steps = seeds[0].get("rollout_steps", 20) if key == "rollout_20" else 100
        ax.set(xscale="log", yscale="log", xlabel="weights", ylabel="test nRMSE",
               title="one step" if key == "one_step" else f"rollout, step {steps}")  # fmt: skip
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def _mean(result: dict, key: str) -> float:
    return statistics.mean(s[key] for s in result["seeds"].values())


if __name__ == "__main__":
    main()
