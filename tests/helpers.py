"""Small numerical helpers shared by the tests."""

from __future__ import annotations

import numpy as np

from physml.simulators import Grid


def l2(grid: Grid, a: np.ndarray) -> float:
    """Continuous L2 norm of ``a`` on ``grid``."""
    return float(np.sqrt(grid.integrate(np.abs(a) ** 2)))
