"""Where a result came from: package version, git commit, time, host."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from pathlib import Path

from physml._version import __version__

__all__ = ["provenance"]


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, timeout=5)
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance() -> dict[str, str]:
    """``physml_version``, ``git_commit`` (``unknown`` outside a checkout), ``created`` (UTC ISO 8601), ``host``."""
    return {
        "physml_version": __version__,
        "git_commit": _git_commit(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
    }
