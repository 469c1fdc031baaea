"""Shared helpers of the benchmark scripts: the machine line and markdown tables."""

from __future__ import annotations

import argparse
import os
import platform
from importlib.metadata import version
from pathlib import Path


def machine() -> str:
    """CPU model, usable cores and library versions, for the record."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)
    libraries = ", ".join(f"{name} {version(name)}" for name in ("numpy", "h5py", "torch"))
    return (
        f"machine: {model or platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, {libraries}"
    )


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def modes_width(text: str, *, max_modes: int | None = None) -> tuple[int, int]:
    """An argparse type for FNO settings written ``MODES:WIDTH`` (e.g. ``16:32``)."""
    try:
        modes, width = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: write MODES:WIDTH, e.g. 16:32") from None
    if modes < 1 or width < 1 or (max_modes is not None and modes > max_modes):
        limit = f"1 <= modes <= {max_modes}" if max_modes is not None else "modes >= 1"
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: {limit}, width >= 1")
    return modes, width
