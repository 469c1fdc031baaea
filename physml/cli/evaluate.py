"""``physml evaluate CHECKPOINT DATA.h5``: errors of a trained model and of persistence, with plots and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained model against persistence on a held-out split",
        description="One-step nRMSE, VRMSE and low/mid/high Fourier-band errors, rollout nRMSE per step and norm "
        "drift, for the checkpoint's model and for persistence; writes metrics.json, PNG plots and report.md.",
    )
    parser.add_argument("checkpoint", type=Path, help="a checkpoint written by physml train (best.pt or last.pt)")
    parser.add_argument("data", type=Path, metavar="DATA.h5", help="dataset file")
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "extrapolation"))
    parser.add_argument("--rollout", type=int, default=20, help="autoregressive steps (default: 20)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from physml.training.evaluate import evaluate_checkpoint

    if args.rollout < 1:
        raise ValueError(f"--rollout = {args.rollout} is invalid: must be >= 1")
    evaluate_checkpoint(
        args.checkpoint, args.data, split=args.split, rollout=args.rollout, out=args.out, device=args.device
    )
    print((args.out / "report.md").read_text())
    return 0
