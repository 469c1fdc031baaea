"""Shared fixtures: small grids and systems that keep the suite fast."""

from __future__ import annotations

import pytest

from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerSystem


@pytest.fixture
def harmonic_1d() -> SchrodingerSystem:
    """omega = 1 trap on [-12, 12) with 128 points: spectrally converged for |x0| <= 3."""
    return SchrodingerSystem(Grid(n=128, length=24.0), Harmonic(omega=1.0))
