"""FLRW cosmologies and de Sitter space.

FLRW, chart ``comoving`` ``(t, r, θ, φ)`` with ``a = 1`` today (``t = 0``):

    ds² = −dt² + a(t)² [dr² / (1 − K r²) + r² dΩ²],     K = −Ω_k H₀²  (k = sign K),

which is the textbook ``k = 0, ±1`` form with ``r`` measured in units of ``1/√|K|``
rescaled to today's length unit. ``a`` comes from :class:`~physml.simulators.spacetime.friedmann.Friedmann`
numerically, so ``a, ȧ, ä`` enter the symbolic derivation as auxiliary symbols
(``∂_t a = ȧ``, ``∂_t ȧ = ä``) and take their numerical values on the grid. With
``G = c = 1``: ``G_tt = 8πρ`` and ``G_ij = 8πp g_ij``. Needs ``r > 0``, ``0 < θ < π``,
``K r² < 1`` and ``t`` within the universe's life.

de Sitter with cosmological constant ``Λ > 0`` (``R_ab = Λ g_ab``), ``ℓ = √(3/Λ)``:

``static``  ``(t, r, θ, φ)``: ``−(1 − r²/ℓ²) dt² + dr²/(1 − r²/ℓ²) + r² dΩ²``;
    needs ``0 < r < ℓ`` (the cosmological horizon).
``flat``  ``(t, x, y, z)``: ``−dt² + e^{2t/ℓ} (dx² + dy² + dz²)``; regular everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import sympy as sp

from physml.simulators.spacetime.curvature import LineElement
from physml.simulators.spacetime.friedmann import Friedmann
from physml.simulators.spacetime.metric import Coordinates, Metric, check_positive, require, require_polar_angle

__all__ = ["FLRW", "DeSitter"]

_t, _r, _th, _ph = sp.symbols("t r theta phi", real=True)
_x, _y, _z = sp.symbols("x y z", real=True)
_K = sp.Symbol("K", real=True)
_lam = sp.Symbol("Lambda", positive=True)
_a, _adot, _addot = sp.symbols("a adot addot", real=True)


@dataclass(frozen=True)
class FLRW(Metric):
    """A Friedmann–Lemaître–Robertson–Walker universe with the expansion of ``model``.

    Examples
    --------
    >>> import numpy as np
    >>> lcdm = FLRW(Friedmann(hubble=1.0, omega_m=0.3, omega_lambda=0.7))
    >>> g = lcdm.metric(np.array([0.0, 0.5, 1.0, 0.0]))  # today: a = 1
    >>> round(float(g[1, 1]), 12)
    1.0
    """

    model: Friedmann = field(default_factory=lambda: Friedmann(omega_m=1.0))
    chart: str = "comoving"
    charts: ClassVar[tuple[str, ...]] = ("comoving",)

    def __post_init__(self) -> None:
        if not isinstance(self.model, Friedmann):
            raise ValueError(f"model = {self.model!r} is invalid: must be a Friedmann model")
        self._check_chart()

    @classmethod
    def line_element(cls, chart: str) -> LineElement:
        if chart != "comoving":
            raise ValueError(f"chart = {chart!r} is invalid: choose one of {', '.join(cls.charts)}")
        g = sp.diag(-1, _a**2 / (1 - _K * _r**2), _a**2 * _r**2, _a**2 * _r**2 * sp.sin(_th) ** 2)
        zero = sp.S.Zero
        aux = ((_a, (_adot, zero, zero, zero)), (_adot, (_addot, zero, zero, zero)), (_addot, None))
        return LineElement((_t, _r, _th, _ph), (_K,), g, None, aux)

    def parameter_values(self) -> tuple[float, ...]:
        return (self.model.curvature,)

    def auxiliary_values(self, x: Coordinates) -> tuple[np.ndarray, ...]:
        return self.model.scale_factor(x[0])

    def check_points(self, x: Coordinates) -> None:
        self.model.scale_factor(np.array([np.min(x[0]), np.max(x[0])]))  # the life of the universe
        require("r", x[1], x[1] > 0, "comoving spherical coordinates need r > 0")
        curvature = self.model.curvature
        if curvature > 0:
            limit = 1 / math.sqrt(curvature)
            require("r", x[1], x[1] < limit, f"a closed universe's chart needs r < 1/sqrt(K) = {limit}")
        require_polar_angle(x[2])


@dataclass(frozen=True)
class DeSitter(Metric):
    """de Sitter space of cosmological constant ``cosmological_constant`` (1/length²); see the module docstring."""

    cosmological_constant: float = 1.0
    chart: str = "static"
    charts: ClassVar[tuple[str, ...]] = ("static", "flat")

    def __post_init__(self) -> None:
        value = check_positive("cosmological_constant", self.cosmological_constant)
        object.__setattr__(self, "cosmological_constant", value)
        self._check_chart()

    @property
    def radius(self) -> float:
        """de Sitter radius ``ℓ = √(3/Λ)`` (the static chart's horizon)."""
        return math.sqrt(3 / self.cosmological_constant)

    @classmethod
    def line_element(cls, chart: str) -> LineElement:
        if chart == "static":
            f = 1 - _lam * _r**2 / 3
            return LineElement((_t, _r, _th, _ph), (_lam,), sp.diag(-f, 1 / f, _r**2, _r**2 * sp.sin(_th) ** 2))
        if chart == "flat":
            scale = sp.exp(2 * _t * sp.sqrt(_lam / 3))
            return LineElement((_t, _x, _y, _z), (_lam,), sp.diag(-1, scale, scale, scale))
        raise ValueError(f"chart = {chart!r} is invalid: choose one of {', '.join(cls.charts)}")

    def parameter_values(self) -> tuple[float, ...]:
        return (self.cosmological_constant,)

    def check_points(self, x: Coordinates) -> None:
        if self.chart == "flat":
            return
        require("r", x[1], (x[1] > 0) & (x[1] < self.radius), f"the static chart needs 0 < r < l = {self.radius}")
        require_polar_angle(x[2])
