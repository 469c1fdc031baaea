"""``physml demo``: the main job, from simulation to a trained and evaluated surrogate in a few minutes."""

from __future__ import annotations

import argparse
from pathlib import Path

from physml.cli.arguments import add_progress, integer, path

__all__ = ["register"]

DEMO_TRAJECTORIES = 128  # physml.demo.DEMO_TRAJECTORIES, without importing torch for --help


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build a small dataset, train a ResNet and an FNO, evaluate them against persistence",
        description="The main job, a few minutes on a laptop CPU: simulate 128 Schrödinger trajectories "
        "(schrodinger-1d), train a ResNet (the best model at this budget) and the shipped FNO recipe (both "
        "shortened), and score them and persistence on held-out test trajectories, one step and along rollouts. "
        "Writes data.h5, the runs resnet/ and fno/ (log.csv, TensorBoard, checkpoints), metrics.json, plots and "
        "report.md to --out, and prints a summary table. Rerunning resumes whatever an interruption left unfinished.",
    )
    parser.add_argument("--out", type=path, default=Path("runs/demo"), help="output directory (default: runs/demo)")
    parser.add_argument("--trajectories", type=integer, default=DEMO_TRAJECTORIES,
                        help=f"dataset size (default: {DEMO_TRAJECTORIES})")  # fmt: skip
    parser.add_argument(
        "--epochs", type=integer, default=14, help="ResNet training epochs; the FNO trains half as many (default: 14)"
    )
    parser.add_argument("--rollout", type=integer, default=20, help="rollout steps evaluated (default: 20)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    add_progress(parser)
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from physml.demo import run_demo, summary

    for name in ("trajectories", "epochs", "rollout"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} = {getattr(args, name)} is invalid: must be >= 1")
    metrics = run_demo(
        args.out, n_trajectories=args.trajectories, epochs=args.epochs, rollout=args.rollout, device=args.device,
        progress=args.progress,
    )  # fmt: skip
    print(summary(metrics))
    print(f"report: {args.out / 'report.md'}")
    return 0
