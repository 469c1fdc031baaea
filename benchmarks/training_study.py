"""Variants of a training recipe, trained alike and scored alike: physics losses, complex weights.

Trains each variant of a shipped (or given) training config on the same data,
with the same seed, batches and schedule, then evaluates all of them on the
test split with ``physml.training.evaluate_checkpoints`` (one-step errors,
rollout nRMSE, drift of norm and energy along rollouts). Variants:

``shipped``      the config as it is
``no-physics``   the same with the data loss only (the physics-loss ablation)
``complex``      ``complex_fno`` (complex weights on psi as one complex channel) in place of the
                 real-channel FNO, at the same width: the spectral weights, which hold nearly all the
                 parameters, are complex in both (the real FNO's act on rfft modes), so the counts match
``real-channels``  the same FNO without physics losses, to pair with ``complex`` (both data loss only)

Each run lives in ``--out/VARIANT`` and resumes, so an interrupted study
continues where it stopped. Record results with the machine in docs/benchmarks.md.

    python benchmarks/training_study.py --data data/schrodinger-1d.h5 --variants shipped no-physics
    python benchmarks/training_study.py --data data/schrodinger-1d.h5 --variants real-channels complex --epochs 5
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from _report import machine, markdown_table

from physml.training import Trainer, evaluate_checkpoints, load_train_config
from physml.training.report import constraint_terms

VARIANTS = ("shipped", "no-physics", "real-channels", "complex")


def variant(config, name: str):
    """The training config of variant ``name`` of ``config``."""
    if name == "shipped":
        return config
    data_only = dataclasses.replace(config, losses={"data": 1.0})
    if name in ("no-physics", "real-channels"):
        return data_only
    params = {**config.model.params, "n_complex": config.data.n_input}
    return dataclasses.replace(data_only, model=dataclasses.replace(config.model, name="complex_fno", params=params))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="fno-schrodinger-1d", help="shipped training config or YAML file")
    parser.add_argument("--data", type=Path, help="dataset file (default: the config's)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["shipped", "no-physics"])
    parser.add_argument("--epochs", type=int, help="override the config's epochs")
    parser.add_argument("--rollout", type=int, default=20, help="rollout steps evaluated (default 20)")
    parser.add_argument("--out", type=Path, default=Path("runs/study"), help="runs and report (default runs/study)")
    args = parser.parse_args()

    base = load_train_config(args.config)
    if args.data is not None:
        base = dataclasses.replace(base, data=dataclasses.replace(base.data, path=str(args.data)))
    if args.epochs is not None:
        base = dataclasses.replace(base, epochs=args.epochs)
    print(machine())
    rows, checkpoints, seconds, params = [], {}, {}, {}
    for name in args.variants:
        config = variant(base, name)
        start = time.perf_counter()
        trainer = Trainer(config, args.out / name)
        result = trainer.train()
        seconds[name] = time.perf_counter() - start
        params[name] = sum(p.numel() for p in trainer.model.parameters())
        checkpoints[name] = args.out / name / "best.pt"
        print(f"{name}: {result}, {seconds[name]:.0f} s (0 if it was already trained)")
    metrics = evaluate_checkpoints(checkpoints, base.data.path, rollout=args.rollout, out=args.out / "eval")
    first = metrics["models"]["persistence"]["rollout"]
    drifts = [k.removesuffix("_drift_final_mean") for k in first if k.endswith("_drift_final_mean")]
    terms = constraint_terms(first)
    steps = metrics["rollout_steps"]

    def ends(values: list[float]) -> str:
        return f"{values[0]:.2g} / {values[-1]:.2g}"

    for name in [*args.variants, "persistence"]:
        m = metrics["models"][name]
        one, roll = m["one_step"], m["rollout"]
        rows.append([
            name, f"{params.get(name, 0):,}", f"{seconds.get(name, 0):.0f}", f"{one['nrmse']:.3g}",
            f"{metrics['gain_over_persistence'][name]:.1f}x", f"{roll['nrmse_final']:.3g}",
            *(f"{roll[f'{d}_drift_final_mean']:.2g}" for d in drifts),
            *(ends(roll[f"constraint_{t}_per_step"]) for t in terms),
        ])  # fmt: skip
    truth = [ends(first[f"constraint_truth_{t}_per_step"]) for t in terms]
    rows.append(["simulator", "", "", "", "", "", *("" for _ in drifts), *truth])
    header = ["variant", "parameters", "train s", "one-step nRMSE", "gain", f"rollout nRMSE ({steps})",
              *(f"{d} drift ({steps})" for d in drifts), *(f"{t}, step 1 / {steps}" for t in terms)]  # fmt: skip
    print(f"\n{base.data.path}, test split, epochs {base.epochs}\n")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
