"""The Schrödinger problem: grid, potential, constants, and the state."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from physml.simulators.grid import Grid
from physml.simulators.schrodinger.absorber import AbsorbingLayer
from physml.simulators.schrodinger.potentials import Free, Potential, as_potential

__all__ = ["SchrodingerState", "SchrodingerSystem"]


def check_positive(name: str, value: float) -> float:
    """Return ``float(value)`` or raise ``ValueError`` unless it is finite and > 0."""
    if not (isinstance(value, int | float | np.floating | np.integer) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r} is invalid: must be finite and > 0")
    return float(value)


@dataclass(frozen=True, eq=False)
class SchrodingerSystem:
    """``i hbar dpsi/dt = [-(hbar^2 / 2m) nabla^2 + V(x, t) - i W(x)] psi`` on a periodic grid.

    Parameters
    ----------
    grid
        The periodic box (1D or 2D).
    potential
        A :class:`Potential`, an array on the grid, or a callable ``V(x[, y])``.
    hbar, mass
        Reduced Planck constant and particle mass (> 0); both default to 1.
    absorber
        Optional :class:`AbsorbingLayer` adding ``-i W`` at the box edges.

    Examples
    --------
    >>> from physml.simulators import Grid
    >>> from physml.simulators.schrodinger import Harmonic
    >>> system = SchrodingerSystem(Grid(n=128, length=20.0), Harmonic(omega=1.0))
    >>> float(system.potential_at(0.0).min()) >= 0.0
    True
    """

    grid: Grid
    potential: Potential = field(default_factory=Free)
    hbar: float = 1.0
    mass: float = 1.0
    absorber: AbsorbingLayer | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.grid, Grid):
            raise ValueError(f"grid must be a physml Grid, got {type(self.grid).__name__}")
        object.__setattr__(self, "hbar", check_positive("hbar", self.hbar))
        object.__setattr__(self, "mass", check_positive("mass", self.mass))
        object.__setattr__(self, "potential", as_potential(self.potential))
        self._evaluate_potential(0.0)  # validates shape and finiteness up front
        if self.absorber is not None:
            self.absorption  # noqa: B018 - validates the layer against the box

    def potential_at(self, t: float) -> np.ndarray:
        """``V(x, t)`` on the grid: the cached array when static, else evaluated and checked to be finite."""
        return self.static_potential if self.static_potential is not None else self._evaluate_potential(t)

    def _evaluate_potential(self, t: float) -> np.ndarray:
        v = np.asarray(self.potential(self.grid, t, mass=self.mass), dtype=np.float64)
        if v.shape != self.grid.shape:
            raise ValueError(f"potential has shape {v.shape}, grid needs {self.grid.shape}")
        if not np.all(np.isfinite(v)):
            bad = int(np.size(v) - np.count_nonzero(np.isfinite(v)))
            raise ValueError(f"potential is invalid at t = {t}: {bad} non-finite values (allowed: finite real numbers)")
        return v

    @cached_property
    def static_potential(self) -> np.ndarray | None:
        """``V`` when it does not depend on time, else ``None``."""
        return None if self.potential.time_dependent else self._evaluate_potential(0.0)

    @cached_property
    def absorption(self) -> np.ndarray | None:
        """``W(x) >= 0`` of the absorbing layer, or ``None``."""
        return None if self.absorber is None else self.absorber(self.grid)

    @cached_property
    def kinetic(self) -> np.ndarray:
        """Kinetic energy ``hbar^2 |k|^2 / 2m`` per Fourier mode, FFT order."""
        return self.hbar**2 * self.grid.k_squared / (2 * self.mass)

    def effective_potential(self, t: float) -> np.ndarray:
        """``V(x, t) - i W(x)`` (complex when an absorber is present)."""
        v = self.potential_at(t)
        return v if self.absorption is None else v - 1j * self.absorption


@dataclass(frozen=True, eq=False)
class SchrodingerState:
    """Wave function ``psi`` (complex128, shaped like the grid) at time ``t``."""

    psi: np.ndarray
    t: float = 0.0
