"""Data efficiency of an equivariant model against its plain twin of equal weights, at equal steps and equal time.

    python benchmarks/equivariance_study.py --data data/schrodinger-2d.h5 --out runs/equivariance-study \\
        [--recipe equivariant-schrodinger-2d] [--fractions 1.0 0.25 0.1] [--steps 300] [--width 4] [--seeds 0] \\
        [--groups D4] [--no-twins]

For each share of the training trajectories (``data.train_fraction``: fixed, nested subsets), each seed and
each group (``D4``: rotations by 90° and reflections; ``C8``: rotations by 45°; ``D2``: the two axis
reflections and the half turn), trains

- the ``--recipe`` with that group and ``--width`` regular fields, about ``--steps`` steps of its
  batch (whole epochs: the steps taken are printed);
- the plain twin at the width whose weight count matches, for the same steps (equal data seen, a fraction
  of the compute): for ``equivariant_cnn`` recipes a ``resnet`` of the same depth, kernel and padding, for
  ``group_fno`` recipes an ``fno`` of the same depth and modes;
- the twin again (``..., equal time``) for as many steps as fit in the equivariant run's training time
  on this machine (equal parameters and equal training compute), from the seconds per training step of
  both, measured best of 3, interleaved, on a batch of the data (so that other load on the machine biases
  neither);

then scores each on the test split (one-step nRMSE and ``--rollout``-step rollout nRMSE, physical units,
``physml evaluate``). Prints the table and each share's error ratios (equivariant / plain). Rerunning resumes
unfinished runs and scores finished ones again (delete ``--out`` to start over); the seconds per step are
kept in ``--out``/seconds_per_step.json, so the equal-time twin is sized the same after a restart.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json
import math
from pathlib import Path

import torch
from _report import best_of, machine, markdown_table
from equivariance import equal_weight_width, weights

from physml.training import Trainer, load_train_config
from physml.training.data import training_samples
from physml.training.evaluate import evaluate_checkpoints

GROUPS = {
    "D4": {"group": "rotations+reflections", "N": 4},
    "C8": {"group": "rotations", "N": 8},
    "D2": {"group": "rotations+reflections", "N": 2},
}


def steps_taken(run: Trainer) -> int:
    path = run.out / "log.csv"
    if not path.exists():
        return 0
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return int(float(rows[-1]["step"])) if rows else 0


def twin_params(name: str, params: dict, model: torch.nn.Module) -> dict:
    """The plain twin of equal weights: a ResNet of the same depth, kernel and padding for the equivariant CNN, an
    FNO of the same depth and modes (``|k| <= modes`` on both axes: ``2 modes`` by ``modes`` of a real FFT) for the
    group-equivariant FNO."""
    channels = {"in_channels": model.config.in_channels, "out_channels": model.config.out_channels}
    if name == "group_fno":
        fixed = {"modes": [2 * params["modes"], params["modes"]], "n_layers": params["n_layers"]}
        return {**fixed, "width": equal_weight_width(weights(model), "fno", {**channels, **fixed})}
    fixed = {"n_blocks": params["n_blocks"], "kernel_size": params["kernel_size"], "ndim": 2,
             "padding": params.get("padding", "circular")}  # fmt: skip
    return {**fixed, "width": equal_weight_width(weights(model), "resnet", {**channels, **fixed})}


def step_seconds(models: dict[str, torch.nn.Module], inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Seconds per training step (forward, MSE, backward, AdamW) of each model on one batch: best of 3, the models
    timed in turn, so that other work on the machine inflates neither (fresh copies: the runs stay untouched)."""

    def step(model: torch.nn.Module):
        model = copy.deepcopy(model).train()
        device = next(model.parameters()).device
        x, y = inputs.to(device), targets.to(device)
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-6)

        def run() -> None:
            optimiser.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimiser.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        return run

    return best_of({name: step(model) for name, model in models.items()}, 2, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the recipe's dataset file")
    parser.add_argument("--recipe", default="equivariant-schrodinger-2d",
                        help="the equivariant recipe (default: equivariant-schrodinger-2d)")  # fmt: skip
    parser.add_argument("--out", required=True, help="folder for the runs")
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.25, 0.1], help="training shares")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run, about (default: 300)")
    parser.add_argument("--width", type=int, default=4, help="regular fields per layer (default: 4)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument("--groups", nargs="+", choices=sorted(GROUPS), default=["D4"], help="groups (default: D4)")
    parser.add_argument("--rollout", type=int, default=10, help="rollout steps scored (default: 10)")
    parser.add_argument("--no-twins", action="store_true", help="train and score the equivariant models only")
    args = parser.parse_args()
    if args.steps < 1 or args.width < 1 or not all(0 < f <= 1 for f in args.fractions):
        parser.error("--steps and --width must be >= 1 and --fractions in (0, 1]")
    print(machine())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = out / "seconds_per_step.json"
    timings = json.loads(record.read_text()) if record.exists() else {}
    base = load_train_config(args.recipe)
    base = dataclasses.replace(base, data=dataclasses.replace(base.data, path=str(args.data)), checkpoint_every=10**6)
    rows, errors = [], {}
    for fraction in args.fractions:
        data = dataclasses.replace(base.data, train_fraction=fraction)
        per_epoch = math.ceil(len(training_samples(dataclasses.replace(base, data=data), "train", transforms=[]))
                              / data.batch_size)  # fmt: skip
        epochs = max(1, round(args.steps / per_epoch))
        for seed in args.seeds:
            for group in args.groups:
                params = {**base.model.params, **GROUPS[group], "width": args.width}
                if base.model.name == "group_fno":  # (C4 / D4 only: no N to set)
                    if GROUPS[group]["N"] != 4:
                        parser.error(f"--groups {group} is invalid for group_fno: it builds C4 or D4 (give D4)")
                    del params["N"]
                config = dataclasses.replace(base, data=data, model=dataclasses.replace(base.model, params=params),
                                             epochs=epochs, seed=seed)  # fmt: skip
                tag = f"{group}-{fraction:g}-{seed}"
                label = f"{base.model.name} {group}"
                prefix = "equivariant" if base.model.name == "equivariant_cnn" else base.model.name.replace("_", "-")
                runs = {label: Trainer(config, out / f"{prefix}-{tag}", progress=False)}
                model = runs[label].model
                plain = twin_params(base.model.name, params, model)
                twin_name = "fno" if base.model.name == "group_fno" else "resnet"
                twin = dataclasses.replace(config, model=dataclasses.replace(base.model, name=twin_name, params=plain))
                if not args.no_twins:
                    runs[twin_name] = Trainer(twin, out / f"{twin_name}-{tag}", progress=False)
                    device = next(model.parameters()).device.type  # (CUDA steps are timed without autocast)
                    keys = (f"{label} width {args.width} {device}", f"{twin_name} width {plain['width']} {device}")
                    if not all(key in timings for key in keys):
                        loader = torch.utils.data.DataLoader(runs[twin_name].train_set, batch_size=data.batch_size)
                        batch = next(iter(loader))
                        x = runs[twin_name].format.inputs(batch["input_fields"], batch.get("constant_fields"))
                        y = x[:, : model.config.out_channels].clone()
                        times = step_seconds(dict(zip(keys, (model, runs[twin_name].model))), x, y)
                        timings.update(times)
                        record.write_text(json.dumps(timings, indent=1))
                    ratio = timings[keys[0]] / timings[keys[1]]
                    equal_time = dataclasses.replace(twin, epochs=max(1, round(epochs * ratio)))
                    runs[f"{twin_name}, equal time"] = Trainer(
                        equal_time, out / f"{twin_name}-time-{tag}", progress=False
                    )
                for run in runs.values():
                    run.train()  # (resumes an interrupted run; a finished one has nothing left to do)
                for name, run in runs.items():
                    metrics = evaluate_checkpoints({name: run.out / "best.pt"}, args.data, split="test",
                                                   rollout=args.rollout)["models"][name]  # fmt: skip
                    one, final = metrics["one_step"]["nrmse"], metrics["rollout"]["nrmse_final"]
                    errors.setdefault((fraction, group, name), []).append(one)
                    rows.append([f"{fraction:g}", str(seed), name, f"{weights(run.model):,}", str(steps_taken(run)),
                                 f"{one:.4f}", f"{final:.4f}"])  # fmt: skip
                    print(" | ".join(rows[-1]), flush=True)
    print()
    print(markdown_table(["share", "seed", "model", "weights", "steps", "one-step nRMSE",
                          f"{args.rollout}-step nRMSE"], rows))  # fmt: skip
    for fraction in args.fractions:
        for group in args.groups:
            if args.no_twins:
                continue
            mean = {name: sum(e) / len(e) for (f, g, name), e in errors.items() if (f, g) == (fraction, group)}
            equivariant = mean[f"{base.model.name} {group}"]
            twin = "fno" if base.model.name == "group_fno" else "resnet"
            print(f"share {fraction:g}, {group}: equivariant / plain one-step error "
                  f"{equivariant / mean[twin]:.2f} at equal steps, "
                  f"{equivariant / mean[f'{twin}, equal time']:.2f} at equal time")  # fmt: skip


if __name__ == "__main__":
    main()
