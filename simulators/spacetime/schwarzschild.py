"""Schwarzschild in four charts, and Reissner–Nordström.

Schwarzschild (mass ``M``), ``f = 1 − 2M/r`` (MTW §31; Poisson, *A Relativist's Toolkit*, §5.1):

``schwarzschild``  ``(t, r, θ, φ)``: ``−f dt² + dr²/f + r² dΩ²``; singular at ``r = 2M``: needs ``r > 2M``.
``isotropic``  ``(t, ρ, θ, φ)``, ``r = ρ (1 + M/2ρ)²``:
    ``−((1 − M/2ρ)/(1 + M/2ρ))² dt² + (1 + M/2ρ)⁴ (dρ² + ρ² dΩ²)``; needs ``ρ > M/2`` (the horizon; ``ρ < M/2``
    is a second copy of the exterior, refused).
``kerr-schild``  ``(t, x, y, z)`` (ingoing Eddington–Finkelstein, Cartesian), ``r = |x|``:
    ``η + (2M/r) l l`` with ``l = (1, x/r, y/r, z/r)``; regular across the horizon: needs ``r > 0``.
``painleve-gullstrand``  ``(t, r, θ, φ)``: ``−dt² + (dr + √(2M/r) dt)² + r² dΩ²``; regular across the horizon.

Reissner–Nordström (mass ``M``, charge ``Q``, ``|Q| <= M``), chart ``schwarzschild``:
``f = 1 − 2M/r + Q²/r²``, needs ``r > r₊ = M + √(M² − Q²)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from physml.simulators.spacetime.curvature import LineElement
from physml.simulators.spacetime.metric import (
    Coordinates,
    Metric,
    check_finite,
    check_positive,
    require,
    require_polar_angle,
)

__all__ = ["ReissnerNordstrom", "Schwarzschild"]

_t, _r, _th, _ph, _rho = sp.symbols("t r theta phi rho", real=True)
_x, _y, _z = sp.symbols("x y z", real=True)
_M, _Q = sp.symbols("M Q", positive=True)


def _spherical(
    g_tt: sp.Expr, g_rr: sp.Expr, areal: sp.Expr, radius: sp.Symbol, g_tr: sp.Expr = sp.S.Zero
) -> LineElement:
    g = sp.Matrix([[g_tt, g_tr, 0, 0], [g_tr, g_rr, 0, 0], [0, 0, areal**2, 0], [0, 0, 0, areal**2 * sp.sin(_th) ** 2]])
    return LineElement((_t, radius, _th, _ph), (_M,), g)


def _cartesian_kerr_schild(h: sp.Expr, l_lower: list[sp.Expr], params: tuple, aux: tuple) -> LineElement:
    """``g = η + h l l`` with null ``l``; then ``g^ab = η^ab − h l^a l^b`` exactly (``l^a = η^ab l_b``)."""
    eta = sp.diag(-1, 1, 1, 1)
    l_upper = [eta[i, i] * l_lower[i] for i in range(4)]
    g = eta + h * sp.Matrix(4, 4, lambda i, j: l_lower[i] * l_lower[j])
    ginv = eta - h * sp.Matrix(4, 4, lambda i, j: l_upper[i] * l_upper[j])
    return LineElement((_t, _x, _y, _z), params, g, ginv, aux)


@dataclass(frozen=True)
class Schwarzschild(Metric):
    """Schwarzschild spacetime of mass ``mass`` in one of four charts (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> bh = Schwarzschild(mass=1.0, chart="painleve-gullstrand")
    >>> round(float(bh.kretschmann(np.array([0.0, 1.5, 1.0, 0.0]))) * 1.5**6, 9)  # 48 M² / r⁶, inside r = 2M
    48.0
    """

    mass: float = 1.0
    chart: str = "schwarzschild"
    charts: ClassVar[tuple[str, ...]] = ("schwarzschild", "isotropic", "kerr-schild", "painleve-gullstrand")

    def __post_init__(self) -> None:
        object.__setattr__(self, "mass", check_positive("mass", self.mass))
        self._check_chart()

    @classmethod
    def line_element(cls, chart: str) -> LineElement:
        f = 1 - 2 * _M / _r
        if chart == "schwarzschild":
            return _spherical(-f, 1 / f, _r, _r)
        if chart == "isotropic":
            psi = 1 + _M / (2 * _rho)
            return _spherical(-(((1 - _M / (2 * _rho)) / psi) ** 2), psi**4, _rho * psi**2, _rho)
        if chart == "painleve-gullstrand":
            return _spherical(-f, sp.S.One, _r, _r, g_tr=sp.sqrt(2 * _M / _r))
        if chart == "kerr-schild":
            grads = (sp.S.Zero, _x / _r, _y / _r, _z / _r)
            return _cartesian_kerr_schild(2 * _M / _r, [1, _x / _r, _y / _r, _z / _r], (_M,), ((_r, grads),))
        raise ValueError(f"chart = {chart!r} is invalid: choose one of {', '.join(cls.charts)}")

    def parameter_values(self) -> tuple[float, ...]:
        return (self.mass,)

    def auxiliary_values(self, x: Coordinates) -> tuple[np.ndarray, ...]:
        if self.chart == "kerr-schild":
            return (np.sqrt(x[1] ** 2 + x[2] ** 2 + x[3] ** 2),)
        return ()

    def areal_radius(self, points: np.ndarray) -> np.ndarray:
        """The areal radius ``r`` (``4π r²`` is the area of the sphere through the point) at ``points`` ``(..., 4)``."""
        pts = np.asarray(points, dtype=np.float64)
        if self.chart == "isotropic":
            return pts[..., 1] * (1 + self.mass / (2 * pts[..., 1])) ** 2
        if self.chart == "kerr-schild":
            return np.linalg.norm(pts[..., 1:], axis=-1)
        return pts[..., 1]

    def check_points(self, x: Coordinates) -> None:
        m = self.mass
        if self.chart == "schwarzschild":
            require(
                "r", x[1], x[1] > 2 * m, f"Schwarzschild coordinates need r > 2M = {2 * m} (singular at the horizon)"
            )
        elif self.chart == "isotropic":
            require("rho", x[1], x[1] > m / 2, f"isotropic coordinates need rho > M/2 = {m / 2} (the horizon)")
        elif self.chart == "painleve-gullstrand":
            require("r", x[1], x[1] > 0, "Painleve-Gullstrand coordinates need r > 0 (curvature singularity at 0)")
        else:
            r = np.sqrt(x[1] ** 2 + x[2] ** 2 + x[3] ** 2)
            require("r", r, r > 0, "Kerr-Schild coordinates need r = |(x, y, z)| > 0 (curvature singularity)")
            return
        require_polar_angle(x[2])


@dataclass(frozen=True)
class ReissnerNordstrom(Metric):
    """A charged, non-rotating black hole (``G = c = 1``, Gaussian units: ``G_ab = 8π T_ab`` of its Coulomb field).

    ``charge = Q/M`` is dimensionless, as for :class:`~physml.simulators.spacetime.Kerr` (``.q`` is ``Q``
    in length units); ``|charge| <= 1`` (beyond extremal the singularity is naked). Chart
    ``schwarzschild`` ``(t, r, θ, φ)`` needs ``r > r₊ = M + √(M² − Q²)``. Kretschmann:
    ``(48 M² r² − 96 M Q² r + 56 Q⁴)/r⁸``.
    """

    mass: float = 1.0
    charge: float = 0.0
    chart: str = "schwarzschild"
    charts: ClassVar[tuple[str, ...]] = ("schwarzschild",)

    def __post_init__(self) -> None:
        mass = check_positive("mass", self.mass)
        charge = check_finite("charge", self.charge)
        if abs(charge) > 1.0:
            raise ValueError(
                f"charge = {charge!r} is invalid: need |charge| <= 1 (charge = Q/M; beyond extremal: naked singularity)"
            )
        object.__setattr__(self, "mass", mass)
        object.__setattr__(self, "charge", charge)
        self._check_chart()

    @property
    def q(self) -> float:
        """Charge ``Q = charge · M`` in length units (``G = c = 1``, Gaussian units)."""
        return self.charge * self.mass

    @property
    def horizon(self) -> float:
        """Outer horizon radius ``r₊ = M + √(M² − Q²)``."""
        return self.mass * (1.0 + math.sqrt(max(1.0 - self.charge**2, 0.0)))

    @classmethod
    def line_element(cls, chart: str) -> LineElement:
        if chart != "schwarzschild":
            raise ValueError(f"chart = {chart!r} is invalid: choose one of {', '.join(cls.charts)}")
        f = 1 - 2 * _M / _r + _Q**2 / _r**2
        g = sp.diag(-f, 1 / f, _r**2, _r**2 * sp.sin(_th) ** 2)
        return LineElement((_t, _r, _th, _ph), (_M, _Q), g)

    def parameter_values(self) -> tuple[float, ...]:
        return (self.mass, self.q)

    def check_points(self, x: Coordinates) -> None:
        require("r", x[1], x[1] > self.horizon, f"Reissner-Nordstrom coordinates need r > r+ = {self.horizon}")
        require_polar_angle(x[2])
