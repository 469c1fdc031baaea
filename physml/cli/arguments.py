"""argparse types shared by the subcommands."""

from __future__ import annotations

import argparse

__all__ = ["floats", "pair"]


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
