"""``physml evaluate CHECKPOINT DATA.h5``: errors of trained models and of persistence, with plots and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate trained models against persistence on a held-out split",
        description="Score a trained model (and optional trained baselines) against persistence on a held-out "
        "split: one-step nRMSE, VRMSE and low/mid/high Fourier-band errors; rollout nRMSE per step; drift of the "
        "family's conserved quantities (norm and energy for Schrödinger) along rollouts. Writes metrics.json, "
        "PNG plots (rollout error, drift, space-time diagrams, spectra) and report.md to --out.",
    )
    parser.add_argument("checkpoint", type=Path, help="a checkpoint written by physml train (best.pt or last.pt)")
    parser.add_argument("data", type=Path, metavar="DATA.h5", help="dataset file")
    parser.add_argument("--baseline", type=Path, action="append", default=[], metavar="CHECKPOINT",
                        help="another trained model to score alongside (repeatable), e.g. a ResNet")  # fmt: skip
    parser.add_argument("--split", default="test", choices=("train", "val", "test", "extrapolation"))
    parser.add_argument("--rollout", type=int, default=20, help="autoregressive steps (default: 20)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from physml.training.evaluate import evaluate_checkpoints

    if args.rollout < 1:
        raise ValueError(f"--rollout = {args.rollout} is invalid: must be >= 1")
    evaluate_checkpoints(
        [args.checkpoint, *args.baseline], args.data, split=args.split, rollout=args.rollout, out=args.out,
        device=args.device,
    )  # fmt: skip
    print((args.out / "report.md").read_text())
    return 0
