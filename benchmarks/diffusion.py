"""Diffusion surrogates against their deterministic twin: error and time against sampling steps, and ensembles.

Three parts, each on the held-out ``--split`` of ``--data`` (physical fields):

  * Steps: for each diffusion checkpoint (``--diffusion``), the one-step nRMSE
    and the time per predicted state for DDIM with 1, 2, 4, 8, 32 steps
    (``--steps``); the refiner (``--refiner``) with 0 .. K refinements; the
    deterministic model (``--baseline``) once. Time per state: a batch of
    ``--batch`` windows, best of ``--repeats``, divided by the batch; every
    model timed in turn within each repeat.
  * Ensembles: ``--samples`` rollouts of the first ``--trajectories`` test
    trajectories from the same first state (each member its own noise), of
    ``--rollout`` steps: per step
    the RMSE of the ensemble mean, the spread (``sqrt((N + 1) / N)`` times the
    RMS member standard deviation, relative to the RMS of the truth), the
    spread-skill ratio and the CRPS.
  * A figure (``--figure``): |psi|^2 of one trajectory at two steps with the
    ensemble's 5-95 % band, and spread against error along the rollout.

    python benchmarks/diffusion.py --data data/schrodinger-1d.h5 --baseline runs/unet-schrodinger-1d/best.pt \\
        --diffusion runs/diffusion-schrodinger-1d/best.pt --refiner runs/diffusion-refiner-schrodinger-1d/best.pt \\
        --figure docs/figures/diffusion_ensemble.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _report import machine, markdown_table
from torch.utils.data import DataLoader

from physml.models.metrics import crps, nrmse, spread_skill
from physml.training.surrogate import Surrogate, load_surrogate


def one_step(surrogate: Surrogate, data: Path, split: str, batch: int, repeats: int) -> tuple[float, float]:
    """(one-step nRMSE over the split, seconds per predicted state for a batch of ``batch`` windows)."""
    dataset = surrogate.windows(data, split=split)
    errors = []
    with torch.inference_mode():
        for sample in DataLoader(dataset, batch_size=64):
            torch.manual_seed(0)
            fields, constant = sample["input_fields"], sample.get("constant_fields")
            predicted = surrogate.format.predict(surrogate.model, fields, constant, surrogate.context(sample))
            truth = dataset.denormalize(sample["output_fields"][:, 0].double(), channel_dim=1)
            errors.append(nrmse(dataset.denormalize(predicted.double(), channel_dim=1), truth).mean(1))
        sample = next(iter(DataLoader(dataset, batch_size=batch)))
        fields, constant = sample["input_fields"], sample.get("constant_fields")
        best = float("inf")
        for _ in range(repeats):
            tic = time.perf_counter()
            surrogate.format.predict(surrogate.model, fields, constant, surrogate.context(sample))
            best = min(best, time.perf_counter() - tic)
    return float(torch.cat(errors).mean()), best / len(fields)


def ensemble_rollouts(
    surrogate: Surrogate, data: Path, split: str, samples: int, steps: int, trajectories: int
) -> dict:
    """Ensembles of ``samples`` rollouts of the first ``trajectories`` of the split: per-step skill, spread,
    ratio, CRPS; one example."""
    n_times = surrogate.windows(data, split=split).info.n_times
    steps = min(steps, n_times - surrogate.data["n_input"])
    dataset = surrogate.windows(data, split=split, n_output=steps, window_stride=n_times)
    dataset = torch.utils.data.Subset(dataset, range(min(trajectories, len(dataset))))
    denormalize = dataset.dataset.denormalize
    rows: dict[str, list[torch.Tensor]] = {"skill": [], "spread": [], "crps": [], "scale": []}
    example = None
    torch.manual_seed(0)
    with torch.inference_mode():
        for batch in DataLoader(dataset, batch_size=16):
            fields, constant = batch["input_fields"], batch.get("constant_fields")
            members = torch.stack([surrogate.rollout(fields, constant, steps, batch) for _ in range(samples)])
            members = denormalize(members.double(), channel_dim=3)  # (N, B, steps, C, *space)
            truth = denormalize(batch["output_fields"].double(), channel_dim=2)  # (B, steps, C, *space)
            per_step = [spread_skill(members[:, :, s], truth[:, s]) for s in range(steps)]
            rows["skill"].append(torch.stack([p["skill"].mean(1) for p in per_step], 1))
            rows["spread"].append(torch.stack([p["spread"].mean(1) for p in per_step], 1))
            rows["crps"].append(torch.stack([crps(members[:, :, s], truth[:, s]).mean(1) for s in range(steps)], 1))
            rows["scale"].append(truth.flatten(3).pow(2).mean(3).sqrt().mean(2))  # (B, steps)
            if example is None:
                example = {"truth": truth[0], "members": members[:, 0]}
    out = {name: torch.cat(values) for name, values in rows.items()}
    scale = out.pop("scale")
    result = {name: (value / scale).mean(0).tolist() for name, value in out.items()}  # relative to the truth's RMS
    result["ratio"] = (out["spread"].mean(0) / out["skill"].mean(0)).tolist()
    result["example"] = example
    result["samples"] = samples
    return result


def figure(ensembles: dict[str, dict], path: Path, x: torch.Tensor | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    label, first = next(iter(ensembles.items()))
    ex = first["example"]
    steps = ex["truth"].shape[0]
    density_truth = ex["truth"].pow(2).sum(1)  # (steps, X): |psi|^2 from re/im
    density = ex["members"].pow(2).sum(2)  # (N, steps, X)
    grid = torch.arange(density_truth.shape[-1]) if x is None else x
    for ax, s in zip(axes[:2], (min(9, steps - 1), steps - 1)):
        low, high = torch.quantile(density[:, s], torch.tensor([0.05, 0.95], dtype=density.dtype), dim=0)
        ax.fill_between(grid, low, high, alpha=0.35, label=f"{label}: 5-95 % of {density.shape[0]} samples")
        ax.plot(grid, density[:, s].mean(0), label=f"{label}: ensemble mean")
        ax.plot(grid, density_truth[s], "k--", label="simulator")
        ax.set_title(f"|psi|^2 after {s + 1} steps")
        ax.set_xlabel("grid point" if x is None else "x")
    axes[0].legend(fontsize=8)
    for name, e in ensembles.items():
        n = range(1, len(e["skill"]) + 1)
        (line,) = axes[2].plot(n, e["skill"], label=f"{name}: error of the mean")
        axes[2].plot(n, e["spread"], "--", color=line.get_color(), label=f"{name}: spread")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("rollout step")
    axes[2].set_ylabel("relative to the RMS of the truth")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--baseline", type=Path, action="append", default=[], help="deterministic checkpoints")
    parser.add_argument("--diffusion", type=Path, action="append", default=[], help="DDIM checkpoints")
    parser.add_argument("--refiner", type=Path, action="append", default=[], help="PDE-Refiner checkpoints")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8, 32])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--rollout", type=int, default=49)
    parser.add_argument("--trajectories", type=int, default=16, help="trajectories in the ensemble part")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--figure", type=Path)
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args()
    print(machine())
    rows, record = [], {"steps": [], "ensembles": {}}
    for path in args.baseline:
        error, seconds = one_step(load_surrogate(path), args.data, args.split, args.batch, args.repeats)
        rows.append([path.parent.name, "-", "1", f"{error:.4g}", f"{1e3 * seconds:.3g}"])
    for path in args.diffusion:
        surrogate = load_surrogate(path)
        for steps in args.steps:
            surrogate.model.configure_sampling(sample_steps=steps)
            error, seconds = one_step(surrogate, args.data, args.split, args.batch, args.repeats)
            rows.append([path.parent.name, f"DDIM {steps}", str(steps), f"{error:.4g}", f"{1e3 * seconds:.3g}"])
    for path in args.refiner:
        surrogate = load_surrogate(path)
        for k in range(surrogate.model.config.refinement_steps + 1):
            surrogate.model.configure_sampling(refinement_steps=k)
            error, seconds = one_step(surrogate, args.data, args.split, args.batch, args.repeats)
            rows.append([path.parent.name, f"K = {k}", str(k + 1), f"{error:.4g}", f"{1e3 * seconds:.3g}"])
    header = ["model", "sampling", "network passes", "one-step nRMSE", "ms per state"]
    print(markdown_table(header, rows))
    record["steps"] = [dict(zip(header, row)) for row in rows]
    ensembles = {}
    for path in [*args.diffusion, *args.refiner]:
        surrogate = load_surrogate(path)
        ensembles[path.parent.name] = ensemble_rollouts(
            surrogate, args.data, args.split, args.samples, args.rollout, args.trajectories
        )
    if ensembles:
        rows = []
        for name, e in ensembles.items():
            for s in sorted({s for s in (0, 9, 19) if s < len(e["skill"])} | {len(e["skill"]) - 1}):
                rows.append([name, str(s + 1), f"{e['skill'][s]:.3g}", f"{e['spread'][s]:.3g}",
                             f"{e['ratio'][s]:.2f}", f"{e['crps'][s]:.3g}"])  # fmt: skip
        print(markdown_table(["model", "step", "error of mean / RMS", "spread / RMS", "spread / skill", "CRPS / RMS"],
                             rows))  # fmt: skip
        record["ensembles"] = {k: {n: v for n, v in e.items() if n != "example"} for k, e in ensembles.items()}
        if args.figure:
            figure(ensembles, args.figure, None)
            print(f"wrote {args.figure}")
    if args.json:
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
