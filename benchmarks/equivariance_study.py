"""Data efficiency of the equivariant CNN against a plain ResNet of equal weights, at equal training steps.

    python benchmarks/equivariance_study.py --data data/schrodinger-2d.h5 --out runs/equivariance-study \\
        [--fractions 0.1 0.25 1.0] [--steps 150] [--width 4] [--seeds 0]

For each share of the training trajectories (``data.train_fraction``: fixed, nested subsets) and each seed,
trains the ``equivariant-schrodinger-2d`` recipe with ``--width`` regular fields and a ``resnet`` whose width
matches its weight count, both for about ``--steps`` steps of the recipe's batch (whole epochs: the steps
actually taken are printed), then scores both on the test split (one-step nRMSE and 10-step rollout nRMSE,
physical units, ``physml evaluate``). Prints the table and each share's error ratio (equivariant / plain).
Rerunning resumes unfinished runs and scores finished ones again (delete ``--out`` to start over).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
from pathlib import Path

from _report import machine, markdown_table
from equivariance import equal_weight_width, weights

from physml.training import Trainer, load_train_config
from physml.training.data import training_samples
from physml.training.evaluate import evaluate_checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a schrodinger-2d dataset file")
    parser.add_argument("--out", required=True, help="folder for the runs")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.25, 1.0], help="training shares")
    parser.add_argument("--steps", type=int, default=150, help="training steps per run, about (default: 150)")
    parser.add_argument("--width", type=int, default=4, help="regular fields per layer of the D4 model (default: 4)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument("--rollout", type=int, default=10, help="rollout steps scored (default: 10)")
    args = parser.parse_args()
    if args.steps < 1 or args.width < 1 or not all(0 < f <= 1 for f in args.fractions):
        parser.error("--steps and --width must be >= 1 and --fractions in (0, 1]")
    print(machine())
    base = load_train_config("equivariant-schrodinger-2d")
    base = dataclasses.replace(base, data=dataclasses.replace(base.data, path=str(args.data)), checkpoint_every=10**6)
    params = {**base.model.params, "width": args.width}
    rows, errors = [], {}
    for fraction in args.fractions:
        for seed in args.seeds:
            data = dataclasses.replace(base.data, train_fraction=fraction)
            probe = dataclasses.replace(base, data=data)
            per_epoch = math.ceil(len(training_samples(probe, "train", transforms=[])) / data.batch_size)
            epochs = max(1, round(args.steps / per_epoch))
            equivariant = dataclasses.replace(probe, model=dataclasses.replace(base.model, params=params),
                                              epochs=epochs, seed=seed)  # fmt: skip
            trainer = Trainer(equivariant, Path(args.out) / f"equivariant-{fraction:g}-{seed}", progress=False)
            n_weights = weights(trainer.model)
            plain = {"width": equal_weight_width(n_weights, params["n_blocks"], params["kernel_size"],
                                          (trainer.model.config.in_channels, trainer.model.config.out_channels)),
                     "n_blocks": params["n_blocks"], "kernel_size": params["kernel_size"], "ndim": 2}  # fmt: skip
            twin = dataclasses.replace(equivariant, model=dataclasses.replace(base.model, name="resnet", params=plain))
            runs = {"equivariant_cnn": (trainer, n_weights)}
            twin_trainer = Trainer(twin, Path(args.out) / f"resnet-{fraction:g}-{seed}", progress=False)
            runs["resnet"] = (twin_trainer, weights(twin_trainer.model))
            for name, (run, n) in runs.items():
                run.train()  # (resumes an interrupted run; a finished one has nothing left to do)
                with (run.out / "log.csv").open() as f:
                    steps = int(float(list(csv.DictReader(f))[-1]["step"]))
                metrics = evaluate_checkpoints({name: run.out / "best.pt"}, args.data, split="test",
                                               rollout=args.rollout)["models"][name]  # fmt: skip
                one, final = metrics["one_step"]["nrmse"], metrics["rollout"]["nrmse_final"]
                errors.setdefault((fraction, name), []).append(one)
                rows.append([f"{fraction:g}", str(seed), name, f"{n:,}", str(steps), f"{one:.4f}", f"{final:.4f}"])
                print(" | ".join(rows[-1]), flush=True)
    print()
    print(markdown_table(["share", "seed", "model", "weights", "steps", "one-step nRMSE",
                          f"{args.rollout}-step nRMSE"], rows))  # fmt: skip
    for fraction in args.fractions:
        mean = {
            name: sum(errors[(fraction, name)]) / len(errors[(fraction, name)])
            for name in ("equivariant_cnn", "resnet")
        }
        print(f"share {fraction:g}: equivariant / plain one-step error {mean['equivariant_cnn'] / mean['resnet']:.2f}")


if __name__ == "__main__":
    main()
