"""Trained surrogates under the square's symmetries: how equivariant they are, and how they score on a test split
turned into orientations their training data never held.

    python benchmarks/equivariance_trained.py LABEL=CHECKPOINT [LABEL=CHECKPOINT ...] \\
        --data data/schrodinger-2d.h5 [--rollout 10] [--windows 32]

Two measurements per model, on the test split:

- **Equivariance** of the trained network ``f`` (what it outputs, the increment for a residual model, from the
  inputs it reads in its training units): ``‖f(gx) − g f(x)‖ / ‖f(x)‖`` over ``--windows`` test windows, for
  each of the grid's exact actions g (90°, 180°, 270° rotations; the worst of the four reflections), and for a
  45° rotation by bilinear interpolation, compared inside the disc of 0.6 half-widths (the receptive field of
  the recipe's models stays inside the turned square there).
- **Orientation generalisation**: ``physml evaluate``'s one-step and ``--rollout``-step nRMSE (physical units)
  on the test split in each of the eight orientations (``evaluate_checkpoints(..., orientation=...)``). The
  ``schrodinger-2d`` training data is not isotropic: barrier, Coulomb and double-well packets move along
  +x and the double well lies along x, so seven of the eight orientations show a plain model
  configurations it never saw.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from _report import machine, markdown_table
from equivariance import turn, weights

from physml.datasets.symmetry import ORIENTATIONS
from physml.training.evaluate import evaluate_checkpoints
from physml.training.surrogate import load_surrogate

REFLECTIONS = ("flip-x", "flip-y", "transpose", "antitranspose")


def labelled(text: str) -> tuple[str, Path]:
    label, sep, path = text.partition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: write LABEL=CHECKPOINT")
    return label, Path(path)


@torch.no_grad()
def equivariance_errors(checkpoint: Path, data: Path, n_windows: int) -> dict[str, float]:
    """The trained network's relative equivariance error per action, on test windows in its training units."""
    surrogate = load_surrogate(checkpoint)
    windows = surrogate.windows(data, split="test")
    picks = torch.linspace(0, len(windows) - 1, min(n_windows, len(windows))).round().long().unique()
    batch = torch.utils.data.default_collate([windows[int(i)] for i in picks])
    x = surrogate.format.inputs(batch["input_fields"], batch.get("constant_fields"))
    model = surrogate.model.eval()
    y = model(x)

    def error(g) -> float:
        return float((model(g(x)) - g(y)).norm() / y.norm())

    errors = {name: error(ORIENTATIONS[name]) for name in ("rotate-90", "rotate-180", "rotate-270")}
    errors["reflections"] = max(error(ORIENTATIONS[name]) for name in REFLECTIONS)
    r = torch.linspace(-1, 1, x.shape[-1])
    disc = (r[:, None] ** 2 + r[None, :] ** 2) < 0.6**2
    errors["45°"] = float(((model(turn(x, 45)) - turn(y, 45)) * disc).norm() / (turn(y, 45) * disc).norm())
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=labelled, metavar="LABEL=CHECKPOINT", help="trained models")
    parser.add_argument("--data", type=Path, required=True, help="a 2-D dataset on a square grid")
    parser.add_argument("--rollout", type=int, default=10, help="rollout steps scored (default: 10)")
    parser.add_argument("--windows", type=int, default=32, help="test windows for the equivariance error (32)")
    args = parser.parse_args()
    print(machine())
    checkpoints = dict(args.checkpoints)
    rows = []
    for label, path in checkpoints.items():
        errors = equivariance_errors(path, args.data, args.windows)
        n = weights(load_surrogate(path).model)
        rows.append([label, f"{n:,}", *(f"{e:.1e}" for e in errors.values())])
        print(" | ".join(rows[-1]), flush=True)
    print()
    print(markdown_table(["model", "weights", "90°", "180°", "270°", "reflections (worst)", "45° (bilinear)"], rows))
    scores = {}
    for orientation in ORIENTATIONS:
        models = evaluate_checkpoints(checkpoints, args.data, split="test", rollout=args.rollout,
                                      orientation=orientation)["models"]  # fmt: skip
        scores[orientation] = {k: (m["one_step"]["nrmse"], m["rollout"]["nrmse_final"]) for k, m in models.items()}
        print(orientation, {k: f"{a:.4f} / {b:.4f}" for k, (a, b) in scores[orientation].items()}, flush=True)
    rows = []
    for label in [*checkpoints, "persistence"]:
        cells = [label]
        for which in (0, 1):
            seen = scores["identity"][label][which]
            turned = [scores[o][label][which] for o in ORIENTATIONS if o != "identity"]
            cells += [f"{seen:.4f}", f"{sum(turned) / len(turned):.4f}", f"{max(turned):.4f}"]
        rows.append(cells)
    print()
    print(markdown_table(["model", "one-step, as trained", "one-step, turned (mean)", "one-step, turned (worst)",
                          f"{args.rollout}-step, as trained", f"{args.rollout}-step, turned (mean)",
                          f"{args.rollout}-step, turned (worst)"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
