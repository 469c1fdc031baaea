"""Radial grids on ``0 <= r <= r_max``: uniform, or sinh-stretched to resolve the centre.

Every grid is the image of a uniform grid ``x_i = i / n`` on ``[0, 1]`` under a map

    r(x) = r_max sinh(s x) / sinh(s)        (s > 0),        r(x) = r_max x        (s = 0),

so derivatives are taken in ``x`` (uniform spacing ``h = 1 / n``, where centred
stencils keep their order) and converted with the chain rule
``∂_r f = (∂_x f) / r'(x)``, using the exact ``r'(x)``. Since ``r(x)`` is odd in
``x``, ghost points at ``x = -x_k`` sit at ``r = -r_k`` and a field of definite
parity in ``r`` has the same parity in ``x``: the regularity conditions at the
origin become parity ghost points (:mod:`physml.simulators.collapse.stencils`).

The spacing grows from ``Δr(0) = h r_max s / sinh(s)`` at the centre to about
``h r_max s coth(s)`` at the outer edge: ``s = 5`` puts points ~74 times closer at
the centre than at the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from physml.machine import check_fits

__all__ = ["MAX_STRETCH", "MIN_INTERVALS", "RadialGrid"]

#: Fewest intervals a radial grid may have (the 4th-order stencils and their ghosts need room).
MIN_INTERVALS = 16

#: Largest stretch ``s``: the centre-to-edge spacing ratio (~e^s / 2s) reaches ~2e11, a core of
#: ``r_max 1e-12``, far below any echo a float64 bisection can reach (refinement zooms up to it).
MAX_STRETCH = 30.0


@dataclass(frozen=True)
class RadialGrid:
    """``n + 1`` radii ``r_0 = 0 < r_1 < ... < r_n = r_max``, the image of a uniform grid in ``x``.

    Parameters
    ----------
    n
        Number of intervals, at least :data:`MIN_INTERVALS`.
    r_max
        Outer radius (the length unit of the problem; ``G = c = 1``).
    stretch
        ``s`` of the map ``r = r_max sinh(s x) / sinh(s)``; ``0`` gives a uniform grid. Larger values
        concentrate points at the centre: ``Δr(0) / Δr(r_max) = 1 / cosh(s)``.

    Examples
    --------
    >>> g = RadialGrid(n=100, r_max=10.0)
    >>> float(g.r[1]), float(g.min_spacing)
    (0.1, 0.1)
    >>> s = RadialGrid(n=100, r_max=10.0, stretch=4.0)
    >>> round(float(s.min_spacing), 5), round(float(s.r[-1]), 12)
    (0.01466, 10.0)
    """

    n: int
    r_max: float
    stretch: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < MIN_INTERVALS:
            raise ValueError(f"n = {self.n!r} is invalid: need an integer number of intervals >= {MIN_INTERVALS}")
        check_fits(8 * 64 * (int(self.n) + 1), what=f"n = {self.n!r}")  # the run's ~64 radial float64 arrays
        if not (isinstance(self.r_max, int | float | np.number) and math.isfinite(self.r_max) and self.r_max > 0):
            raise ValueError(f"r_max = {self.r_max!r} is invalid: must be finite and > 0")
        if not (
            isinstance(self.stretch, int | float | np.number)
            and math.isfinite(self.stretch)
            and 0 <= self.stretch <= MAX_STRETCH
        ):
            raise ValueError(f"stretch = {self.stretch!r} is invalid: must be in [0, {MAX_STRETCH}]")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "r_max", float(self.r_max))
        object.__setattr__(self, "stretch", float(self.stretch))

    @property
    def h(self) -> float:
        """Spacing of the uniform coordinate ``x`` on ``[0, 1]``."""
        return 1.0 / self.n

    def radius(self, x: np.ndarray | float) -> np.ndarray:
        """``r(x)`` for any ``x`` (odd in ``x``: negative ``x`` give the mirror points of the ghosts)."""
        x = np.asarray(x, dtype=np.float64)
        s = self.stretch
        return self.r_max * x if s == 0 else self.r_max * np.sinh(s * x) / math.sinh(s)

    def jacobian(self, x: np.ndarray | float) -> np.ndarray:
        """``r'(x) = dr/dx`` (even in ``x``)."""
        x = np.asarray(x, dtype=np.float64)
        s = self.stretch
        return np.full_like(x, self.r_max) if s == 0 else self.r_max * s * np.cosh(s * x) / math.sinh(s)

    @cached_property
    def x(self) -> np.ndarray:
        """``(n + 1,)`` uniform coordinates ``i / n``."""
        return np.arange(self.n + 1) / self.n

    @cached_property
    def r(self) -> np.ndarray:
        """``(n + 1,)`` radii, ``r[0] = 0`` and ``r[-1] = r_max`` exactly."""
        r = self.radius(self.x)
        r[0], r[-1] = 0.0, self.r_max
        return r

    @cached_property
    def spacing(self) -> np.ndarray:
        """``(n,)`` interval lengths ``r_{i+1} - r_i``."""
        return np.diff(self.r)

    @property
    def min_spacing(self) -> float:
        """The smallest interval (at the centre); the time step is ``CFL`` times this."""
        return float(self.spacing[0])

    def index_of(self, radius: float) -> int:
        """Index of the grid point nearest ``radius``."""
        return int(np.argmin(np.abs(self.r - radius)))

    def describe(self) -> str:
        kind = "uniform" if self.stretch == 0 else f"sinh stretch {self.stretch:g}"
        return f"{self.n} intervals on [0, {self.r_max:g}] ({kind}, dr {self.min_spacing:.3g}..{self.spacing[-1]:.3g})"
