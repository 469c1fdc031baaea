"""Figures, in one place: a module per simulator family and one for evaluations.

- ``physml.plots.<family>.plot_run(run, path)`` draws a :class:`~physml.datasets.SimulatedRun`
  (``physml simulate FAMILY --plot``) of :mod:`~physml.plots.schrodinger`,
  :mod:`~physml.plots.near_horizon`, :mod:`~physml.plots.collapse` or :mod:`~physml.plots.bh_images`;
  those modules also draw the family's analyses (ringdown fits, critical-collapse scaling and echoes,
  field maps).
- :mod:`~physml.plots.evaluation` draws the figures of ``physml evaluate`` reports.

matplotlib is imported (headless, Agg) only when a figure is drawn: importing physml never loads it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot", "save"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(figure: Any, path: Any) -> Any:
    """Save ``figure`` to ``path`` (directories created; 120 dpi), close it and return ``path`` as a ``Path``."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    pyplot().close(figure)
    return path
