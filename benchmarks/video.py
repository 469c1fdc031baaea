"""Learning from a film instead of the arrays: how much does rendering lose?

    python benchmarks/video.py --data data/near-horizon-maps.h5 --out runs/video [--epochs 8] [--seeds 0 1 2] \\
        [--limit 10] [--rollout 10] [--jobs 2] [--plot docs/figures/video.png]

The task: the next state phi(t + 2M) of ``near-horizon-maps`` (waves scattering off a Schwarzschild hole, 64^2
pixels) from phi(t - 2M) and phi(t). Every run is ``physml train`` of one ``multimodal_transformer`` (patches of
8 x 8, ``dim`` 64, 4 blocks, 4 heads; rms normalisation; batch 16; AdamW at 2e-3, 100 warm-up steps, cosine decay;
``--epochs`` epochs), in a child process with one thread, ``--jobs`` at a time, ``--seeds`` each. What the model is
given differs:

* ``arrays``: the two states and the horizon mask as arrays; it predicts the increment (residual), as the
  surrogates of ``docs/surrogates.md`` do;
* ``arrays, direct``: the same, predicting the next state itself (no residual), as a model that watches a film must;
* ``video``: only the film of the window (``read_fields: false``): two RGB frames, phi through ``RdBu_r`` between
  ``-limit`` and ``+limit`` times its rms, 256 colours of 8 bits a component, in tubelets of 2 x 8 x 8 pixels;
* ``video + text``: the film and the description of the run (multipoles, spin of the field, pulse).

Scored on the held-out test split: the field's one-step nRMSE and its nRMSE after ``--rollout`` steps (a rollout
films each prediction for the next step), ``physml evaluate``'s; and the next frame: the rms colour error between
the film of the predicted state and the film of the true one (RGB in [0, 1]), against persistence's. The film's
own floor is the error of the best any film-reader can do by reading colours back: each pixel's colour mapped to
the value at the middle of its level (clipped pixels to the limit).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from _report import machine, markdown_table, mean_spread, train_run

from physml.datasets import Camera
from physml.models.metrics import nrmse

VARIANTS = {  # name: (model params, modalities, residual)
    "arrays": ({}, {}, True),
    "arrays, direct": ({}, {}, False),
    "video": ({"read_fields": False, "missing_ok": []}, {"video": None}, False),
    "video + text": ({"read_fields": False, "missing_ok": ["text"]}, {"video": None, "text": True}, False),
}
TRUNK = {"patch": 8, "dim": 64, "depth": 4, "n_heads": 4, "n_kv_heads": 2, "video_patch": 8, "tubelet": 2}


def recipe(args: argparse.Namespace, variant: str, seed: int) -> dict:
    params, modalities, residual = VARIANTS[variant]
    if "video" in modalities:
        modalities = {**modalities, "video": camera(args).to_dict()}
    return {
        "data": {"path": str(args.data), "n_input": 2, "constant_fields": ["outside"], "batch_size": 16,
                 "normalize": "rms", "in_memory": True},
        "model": {"name": "multimodal_transformer", "params": {**TRUNK, **params}, "residual": residual},
        "modalities": modalities, "losses": {"data": 1.0}, "epochs": args.epochs, "seed": seed,
        "optim": {"lr": 2e-3, "weight_decay": 1e-4, "warmup_steps": 100, "grad_clip": 1.0}, "checkpoint_every": 200,
    }  # fmt: skip


def camera(args: argparse.Namespace) -> Camera:
    return Camera(channel=0, colormap="RdBu_r", limits=(-args.limit, args.limit))


@torch.no_grad()
def score(args: argparse.Namespace, run: Path) -> dict[str, float]:
    """The field's one-step and rollout nRMSE, the next frame's colour error and persistence's (cached)."""
    cache = run / "scores.json"
    if cache.exists():
        return json.loads(cache.read_text())
    from physml.training import evaluate_checkpoints, load_surrogate

    result = evaluate_checkpoints({"model": run / "best.pt"}, args.data, split="test", rollout=args.rollout,
                                  device="cpu")["models"]  # fmt: skip
    surrogate, film = load_surrogate(run / "best.pt"), camera(args)
    frames = {"model": [], "persistence": []}
    for batch in torch.utils.data.DataLoader(surrogate.windows(args.data, split="test"), batch_size=64):
        fields, constant = batch["input_fields"], batch.get("constant_fields")
        predicted = surrogate.format.predict(surrogate.model, fields, constant, surrogate.context(batch))
        truth = film(batch["output_fields"][:, :1])  # (B, 1, 3, H, W)
        for name, state in (("model", predicted), ("persistence", fields[:, -1])):
            frames[name].append(((film(state[:, None]) - truth) ** 2).flatten(1).mean(1))
    scores = {"one_step": result["model"]["one_step"]["nrmse"], "rollout": result["model"]["rollout"]["nrmse_final"],
              "persistence_one_step": result["persistence"]["one_step"]["nrmse"],
              **{f"frame_{k}": float(torch.cat(v).mean().sqrt()) for k, v in frames.items()},
              "weights": sum(p.numel() for p in surrogate.model.parameters()),
              "seconds": json.loads((run / "done").read_text())["seconds"]}  # fmt: skip
    cache.write_text(json.dumps(scores))
    return scores


@torch.no_grad()
def film_floor(args: argparse.Namespace) -> float:
    """The film's floor: the nRMSE of the test states read back from their film (colour -> level -> value)."""
    from physml.datasets import WindowDataset

    film = camera(args)
    data = WindowDataset(args.data, split="test", n_input=1, normalize="rms", constant_fields=[])
    errors = []
    for batch in torch.utils.data.DataLoader(data, batch_size=64):
        fields = batch["input_fields"]  # (B, 1, 1, H, W)
        colours = film(fields).permute(0, 1, 3, 4, 2)  # (B, 1, H, W, 3)
        level = torch.cdist(colours.reshape(-1, 3), film.palette).argmin(1).view(colours.shape[:-1])  # nearest colour
        low, high = film.limits
        read = low + (high - low) * level.double() / (film.levels - 1)  # (B, 1, H, W)
        errors.append(nrmse(read[:, None], fields.double()).flatten())
    return float(torch.cat(errors).mean())


def plot(args: argparse.Namespace, runs: dict[str, Path]) -> None:
    """One test window: the film's two frames, the true next frame, and each variant's predicted next frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from physml.training import load_surrogate

    film, shown = camera(args), {}
    for name, run in runs.items():
        surrogate = load_surrogate(run / "best.pt")
        data = surrogate.windows(args.data, split="test")
        batch = next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(data, [args.frame]), batch_size=1)))
        fields, constant = batch["input_fields"], batch.get("constant_fields")
        with torch.no_grad():
            predicted = surrogate.format.predict(surrogate.model, fields, constant, surrogate.context(batch))
        shown.setdefault("frame t - 2M", film(fields)[0, 0])
        shown.setdefault("frame t", film(fields)[0, 1])
        shown.setdefault("true t + 2M", film(batch["output_fields"][:, :1])[0, 0])
        shown[f"{name}: t + 2M"] = film(predicted[:, None])[0, 0]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.2 * len(shown), 2.5))
    for ax, (title, frame) in zip(axes, shown.items()):
        ax.imshow(frame.permute(1, 2, 0).numpy(), origin="lower")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/near-horizon-maps.h5"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--limit", type=float, default=10.0, help="the film's colour limits, in rms of phi")
    parser.add_argument("--rollout", type=int, default=10, help="steps of the scored rollouts")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--plot", type=Path, help="draw one test window's frames and predictions")
    parser.add_argument("--frame", type=int, default=40, help="the test window --plot draws")
    args = parser.parse_args()
    print(machine(), flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {(v, s): pool.submit(train_run, recipe(args, v, s), args.out / f"{_slug(v)}-seed{s}")
                   for v in args.variants for s in args.seeds}  # fmt: skip
        runs = {key: future.result() for key, future in futures.items()}
    scores = {key: score(args, run) for key, run in runs.items()}
    columns = ("one_step", "rollout", "frame_model")
    rows = []
    for variant in args.variants:
        values = [scores[variant, s] for s in args.seeds]
        rows.append([variant, str(values[0]["weights"]), *(mean_spread([v[c] for v in values]) for c in columns),
                     f"{sum(v['seconds'] for v in values) / len(values):.0f}"])  # fmt: skip
    first = scores[args.variants[0], args.seeds[0]]
    rows.append(["persistence", "0", f"{first['persistence_one_step']:.4f}", "—", f"{first['frame_persistence']:.4f}",
                 "—"])  # fmt: skip
    header = ["given", "weights", "one-step nRMSE", f"{args.rollout}-step nRMSE", "next frame: rms colour error",
              "seconds"]  # fmt: skip
    table = markdown_table(header, rows) + f"\n\nthe film's floor (states read back from their colours): nRMSE " \
                                           f"{film_floor(args):.4f} at limits ±{args.limit:g} rms"  # fmt: skip
    print(table, flush=True)
    (args.out / "results.md").write_text(table + "\n")
    if args.plot:
        plot(args, {v: runs[v, args.seeds[0]] for v in args.variants})


def _slug(variant: str) -> str:
    return variant.replace(", ", "-").replace(" + ", "+").replace(" ", "-")


if __name__ == "__main__":
    main()
