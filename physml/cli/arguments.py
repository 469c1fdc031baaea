"""argparse pieces shared by the subcommands: the parser, number-list types and the ``--progress`` option."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

__all__ = [
    "FIGURE_SUFFIXES",
    "MAGNITUDE",
    "MAX_INTEGER",
    "Parser",
    "add_command",
    "add_progress",
    "figure",
    "floats",
    "integer",
    "number",
    "pair",
    "path",
    "split_name",
]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (what a log or a script's ``2>`` keeps): status 2,
    the command, the option and what is wrong with it, and where the usage is."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


#: Magnitudes a number option takes: 0, or 1e-30 .. 1e30. The parameters of physml's physics (in units
#: where G = c = hbar = 1 or M = 1) live far inside; beyond, a few products or powers of them leave float64
#: (1e308, or denormals below 1e-308) and a run would fail deep inside a kernel instead of here.
MAGNITUDE = (1e-30, 1e30)
#: Largest integer option (a count, a grid size, a multipole): 2^31.
MAX_INTEGER = 2**31


def add_command(
    subparsers: argparse._SubParsersAction, name: str, *, help: str, description: str, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose description is one paragraph wrapped to 100 columns and whose epilog (examples)
    keeps its lines as written."""
    return subparsers.add_parser(
        name,
        help=help,
        description=textwrap.fill(description, 100),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def number(text: str) -> float:
    """A finite real number of magnitude 0 or within :data:`MAGNITUDE` (``nan``, ``inf``, ``1e308`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    low, high = MAGNITUDE
    if not (value == 0 or low <= abs(value) <= high):
        raise argparse.ArgumentTypeError(f"expected a number of magnitude {low:g} to {high:g} (or 0), got {text!r}")
    return value


def integer(text: str) -> int:
    """A whole number of magnitude below :data:`MAX_INTEGER`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if abs(value) >= MAX_INTEGER:
        raise argparse.ArgumentTypeError(f"expected an integer of magnitude below 2^31, got {text!r}")
    return value


def path(text: str) -> Path:
    """A file or folder name: not empty (``--out ""`` would write into the current folder)."""
    if not text.strip() or "\x00" in text:
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    return Path(text)


#: File types a figure is saved as (what matplotlib writes everywhere).
FIGURE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def figure(text: str) -> Path:
    """Where to save a figure: a path ending in one of :data:`FIGURE_SUFFIXES` (checked before any work)."""
    name = path(text)
    if name.suffix.lower() not in FIGURE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"expected a figure file ({', '.join(FIGURE_SUFFIXES)}), got {text!r}")
    return name


def floats(text: str) -> list[float]:
    """``"1,2.5,-3"`` -> ``[1.0, 2.5, -3.0]`` (finite numbers)."""
    try:
        return [number(v) for v in text.split(",")]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (in {text!r})") from None


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


def split_name(text: str) -> str:
    """A split (``train``, ``val``, ``test``, ``extrapolation``) or a part of one, ``extrapolation[:0.5]``."""
    from physml.datasets.config import parse_split

    try:
        parse_split(text, "")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
