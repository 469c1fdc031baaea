"""argparse pieces shared by the subcommands: number-list types and the ``--progress`` option."""

from __future__ import annotations

import argparse

__all__ = ["add_progress", "floats", "pair"]


def floats(text: str) -> list[float]:
    """``"1,2.5,-3"`` -> ``[1.0, 2.5, -3.0]``."""
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def pair(text: str) -> tuple[float, float]:
    """``"LOW,HIGH"`` -> ``(LOW, HIGH)``."""
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers LOW,HIGH, got {text!r}") from None
    return low, high


def add_progress(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--progress/--no-progress`` (``args.progress``, default on): a bar on a terminal, plain lines in logs."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show progress: a bar on a terminal, otherwise a line every ~10%% or 30 s (default: on)",
    )
