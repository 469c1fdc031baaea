"""Potentials ``V(x, t)`` for the Schrödinger simulator.

Each potential is a frozen dataclass whose fields are its physical parameters
(with units and help text in the field metadata, which the CLI turns into
``--help``). Calling one on a grid returns ``V`` in energy units, float64,
shaped like the grid. Barriers, wells and drives act along ``x`` (axis 0);
in 2D the ``y`` direction is free unless a parameter says otherwise.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from physml.simulators.grid import Grid

__all__ = [
    "POTENTIALS",
    "ArrayPotential",
    "DoubleWell",
    "Driven",
    "Free",
    "FunctionPotential",
    "GaussianBarrier",
    "Harmonic",
    "Lattice",
    "Potential",
    "SoftCoulomb",
    "SquareBarrier",
    "as_potential",
    "parameter_docs",
]


def param(default: Any, unit: str, help: str) -> Any:
    """A dataclass field carrying its unit and help text for the CLI."""
    return field(default=default, metadata={"unit": unit, "help": help})


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        for v in np.atleast_1d(value):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{type(obj).__name__}.{name} = {value!r} is invalid: must be finite and > 0")


def _finite(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{type(obj).__name__}.{name} = {value!r} is invalid: must be finite")


class Potential(ABC):
    """A real potential energy ``V(x, t)`` on a :class:`~physml.simulators.Grid`."""

    #: Whether ``V`` changes with time (the stepper then re-evaluates it each kick).
    time_dependent: ClassVar[bool] = False

    @abstractmethod
    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        """``V`` on ``grid`` at time ``t`` (energy units), shaped ``grid.shape``."""

    def transmission_edge(self) -> float | None:
        """Position along ``x`` past which probability counts as transmitted, if any."""
        return None


@dataclass(frozen=True)
class Free(Potential):
    """``V = 0``."""

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        return np.zeros(grid.shape)


@dataclass(frozen=True)
class Harmonic(Potential):
    """``V = (m/2) sum_i omega_i^2 x_i^2``; ``omega_y`` makes a 2D trap anisotropic."""

    omega: float = param(1.0, "1/time", "angular frequency along x (and y unless omega_y is set)")
    omega_y: float | None = param(None, "1/time", "angular frequency along y in 2D (default: omega)")

    def __post_init__(self) -> None:
        _positive(self, "omega")
        if self.omega_y is not None:
            _positive(self, "omega_y")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        omegas = (self.omega, self.omega if self.omega_y is None else self.omega_y)
        return sum(0.5 * mass * w**2 * x**2 for w, x in zip(omegas, grid.coords)) * np.ones(grid.shape)


@dataclass(frozen=True)
class DoubleWell(Potential):
    """Quartic double well ``V = V0 ((x/a)^2 - 1)^2`` with minima at ``x = +-a``."""

    barrier: float = param(1.0, "energy", "barrier height V0 at x = 0")
    separation: float = param(2.0, "length", "half-distance a between the two minima")

    def __post_init__(self) -> None:
        _positive(self, "barrier", "separation")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        x = grid.coords[0]
        return self.barrier * ((x / self.separation) ** 2 - 1.0) ** 2 * np.ones(grid.shape)


@dataclass(frozen=True)
class SquareBarrier(Potential):
    """``V = V0`` for ``|x - c| < w/2``, else 0."""

    height: float = param(1.0, "energy", "barrier height V0 (negative for a well)")
    width: float = param(1.0, "length", "barrier width w")
    center: float = param(0.0, "length", "barrier centre c")

    def __post_init__(self) -> None:
        _positive(self, "width")
        _finite(self, "height", "center")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        inside = np.abs(grid.coords[0] - self.center) < self.width / 2
        return np.where(inside, self.height, 0.0) * np.ones(grid.shape)

    def transmission_edge(self) -> float:
        return self.center + self.width / 2


@dataclass(frozen=True)
class GaussianBarrier(Potential):
    """``V = V0 exp(-(x - c)^2 / (2 s^2))``."""

    height: float = param(1.0, "energy", "peak height V0 (negative for a well)")
    width: float = param(0.5, "length", "standard deviation s")
    center: float = param(0.0, "length", "centre c")

    def __post_init__(self) -> None:
        _positive(self, "width")
        _finite(self, "height", "center")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        x = grid.coords[0]
        return self.height * np.exp(-((x - self.center) ** 2) / (2 * self.width**2)) * np.ones(grid.shape)

    def transmission_edge(self) -> float:
        return self.center


@dataclass(frozen=True)
class Lattice(Potential):
    """Optical lattice ``V = V0 sum_i cos^2(pi x_i / a)`` (square lattice in 2D).

    Choose the box length as a multiple of ``a`` to keep ``V`` periodic.
    """

    depth: float = param(1.0, "energy", "lattice depth V0")
    period: float = param(1.0, "length", "lattice constant a")

    def __post_init__(self) -> None:
        _positive(self, "period")
        _finite(self, "depth")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        return sum(self.depth * np.cos(np.pi * x / self.period) ** 2 for x in grid.coords) * np.ones(grid.shape)


@dataclass(frozen=True)
class SoftCoulomb(Potential):
    """Softened Coulomb well ``V = -Z / sqrt(r^2 + eps^2)`` about the origin."""

    charge: float = param(1.0, "energy*length", "charge Z (coupling strength)")
    softening: float = param(1.0, "length", "softening length eps")

    def __post_init__(self) -> None:
        _positive(self, "softening")
        _finite(self, "charge")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        r2 = sum(x**2 for x in grid.coords)
        return -self.charge / np.sqrt(r2 + self.softening**2) * np.ones(grid.shape)


@dataclass(frozen=True)
class Driven(Potential):
    """A potential under a uniform field: ``V = V0(x) + E0 x sin(Omega t + phi)``.

    Length gauge: ``x`` jumps at the periodic boundary, so keep the wave
    function away from the box edges or use an absorbing layer.
    """

    base: Potential = field(default_factory=Free, metadata={"unit": "", "help": "static potential V0"})
    field_strength: float = param(0.1, "energy/length", "field amplitude E0")
    frequency: float = param(1.0, "1/time", "drive angular frequency Omega")
    phase: float = param(0.0, "rad", "drive phase phi")

    time_dependent: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _finite(self, "field_strength", "frequency", "phase")
        if not isinstance(self.base, Potential) or self.base.time_dependent:
            raise ValueError(f"Driven.base must be a static Potential, got {self.base!r}")

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        drive = self.field_strength * math.sin(self.frequency * t + self.phase)
        return self.base(grid, t, mass=mass) + drive * grid.coords[0]

    def transmission_edge(self) -> float | None:
        return self.base.transmission_edge()


@dataclass(frozen=True, eq=False)
class ArrayPotential(Potential):
    """A static potential given as an array on the grid."""

    values: np.ndarray

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        values = np.asarray(self.values, dtype=float)
        if values.shape != grid.shape:
            raise ValueError(f"potential array has shape {values.shape}, grid needs {grid.shape}")
        return values


@dataclass(frozen=True, eq=False)
class FunctionPotential(Potential):
    """A user function ``fn(x[, y])`` or, if ``time_dependent``, ``fn(x[, y], t)``."""

    fn: Callable[..., Any]
    is_time_dependent: bool = False

    @property
    def time_dependent(self) -> bool:  # type: ignore[override]
        return self.is_time_dependent

    def __call__(self, grid: Grid, t: float = 0.0, *, mass: float = 1.0) -> np.ndarray:
        args = (*grid.coords, t) if self.is_time_dependent else grid.coords
        return np.asarray(self.fn(*args), dtype=float) * np.ones(grid.shape)


#: Potentials by CLI name.
POTENTIALS: dict[str, type[Potential]] = {
    "free": Free,
    "harmonic": Harmonic,
    "double-well": DoubleWell,
    "square-barrier": SquareBarrier,
    "gaussian-barrier": GaussianBarrier,
    "lattice": Lattice,
    "soft-coulomb": SoftCoulomb,
}


def as_potential(obj: Potential | np.ndarray | Callable[..., Any] | None) -> Potential:
    """Accept a :class:`Potential`, an array on the grid, a static callable ``fn(x[, y])`` or ``None`` (free)."""
    if obj is None:
        return Free()
    if isinstance(obj, Potential):
        return obj
    if isinstance(obj, np.ndarray):
        return ArrayPotential(obj)
    if callable(obj):
        return FunctionPotential(obj)
    raise ValueError(f"potential must be a Potential, an array or a callable, got {type(obj).__name__}")


def parameter_docs(cls: type) -> list[tuple[str, str, Any, str]]:
    """``(name, unit, default, help)`` for each documented dataclass field of ``cls``."""
    rows = []
    for f in fields(cls):
        if "unit" in f.metadata:
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            rows.append((f.name, f.metadata["unit"], default, f.metadata["help"]))
    return rows
