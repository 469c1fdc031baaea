"""argparse pieces shared by the subcommands: the parser, number-list types and the ``--progress`` option."""

from __future__ import annotations

import argparse
import math

__all__ = ["Parser", "add_progress", "floats", "number", "pair"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (what a log or a script's ``2>`` keeps): status 2,
    the command, the option and what is wrong with it, and where the usage is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number(text: str) -> float:
    """A finite real number (``nan`` and ``inf`` parse as floats but mean nothing as a parameter)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def floats(text: str) -> list[float]:
    """``"1,2.5,-3"`` -> ``[1.0, 2.5, -3.0]`` (finite numbers)."""
    try:
        return [number(v) for v in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers, got {text!r}") from None


def pair(text: str) -> tuple[float, float]:
    """``"LOW,HIGH"`` -> ``(LOW, HIGH)`` (finite numbers)."""
    values = floats(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers LOW,HIGH, got {text!r}")
    return values[0], values[1]


def add_progress(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--progress/--no-progress`` (``args.progress``, default on): a bar on a terminal, plain lines in logs."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show progress: a bar on a terminal, otherwise a line every ~10%% or 30 s (default: on)",
    )
