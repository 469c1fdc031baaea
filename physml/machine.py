"""What this machine has, for refusing work that cannot fit before it starts: memory, and a size in words."""

from __future__ import annotations

import os

__all__ = ["check_fits", "format_bytes", "physical_memory"]


def physical_memory() -> int | None:
    """Bytes of RAM (``None`` where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX
        return None


def format_bytes(n: float) -> str:
    """``1234567`` -> ``"1.23 MB"`` (decimal units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} PB"


def check_fits(n_bytes: float, *, what: str) -> None:
    """``ValueError`` naming ``what`` if ``n_bytes`` exceed this machine's memory (before allocating them)."""
    memory = physical_memory()
    if memory is not None and n_bytes > memory:
        raise ValueError(
            f"{what} is invalid: it needs {format_bytes(n_bytes)} of memory; this machine has {format_bytes(memory)}"
        )
