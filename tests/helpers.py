"""Small numerical helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from physml.simulators import Grid


def l2(grid: Grid, a: np.ndarray) -> float:
    """Continuous L2 norm of ``a`` on ``grid``."""
    return float(np.sqrt(grid.integrate(np.abs(a) ** 2)))


#: The fields of a Schrödinger dataset file.
FIELDS = ("psi_real", "psi_imag", "potential")


def fields_of(path: Path) -> dict[str, np.ndarray]:
    """Every stored field of a Schrödinger dataset file, by name."""
    with h5py.File(path) as f:
        return {name: f["t0_fields"][name][...] for name in FIELDS}


def assert_same_fields(a: Path, b: Path, trajectories=slice(None)) -> None:
    """The two files hold bit-identical fields (for ``trajectories``)."""
    fa, fb = fields_of(a), fields_of(b)
    for name in FIELDS:
        assert np.array_equal(fa[name][trajectories], fb[name][trajectories]), name
