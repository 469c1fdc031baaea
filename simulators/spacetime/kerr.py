"""Kerr (and Kerr–Newman, with charge): the black-hole type of physml, in Boyer–Lindquist and Kerr–Schild charts.

``Kerr(mass, spin, charge=0)``: mass ``M`` (length, ``G = c = 1``), dimensionless spin
``spin = a/M = J/M²`` (signed: ``spin > 0`` rotates towards ``+φ``) and dimensionless charge
``charge = Q/M``, with ``|spin| <= 1`` and ``spin² + charge² <= 1`` (beyond extremal there is
no horizon). :attr:`Kerr.a` ``= spin · M`` and :attr:`Kerr.q` ``= charge · M`` are the same in
length units, the ``a`` and ``Q`` of the formulas below. The same object is the metric (curvature
from :class:`~physml.simulators.spacetime.metric.Metric`), the hole whose geodesics
:mod:`~physml.simulators.spacetime.geodesics` integrates, and the hole the ray tracer
(:mod:`physml.simulators.bh_images`) images; closed-form horizons and orbits are in
:mod:`~physml.simulators.spacetime.kerr_orbits`. ``Σ = r² + a² cos²θ``, ``Δ = r² − 2Mr + a² + Q²``.

``boyer-lindquist``  ``(t, r, θ, φ)`` (Misner, Thorne & Wheeler eq. 33.2):
    ``g_tt = −(1 − (2Mr − Q²)/Σ)``, ``g_tφ = −a sin²θ (2Mr − Q²)/Σ``, ``g_rr = Σ/Δ``, ``g_θθ = Σ``,
    ``g_φφ = (r² + a² + a² sin²θ (2Mr − Q²)/Σ) sin²θ``; singular where ``Δ = 0``: needs ``r > r₊``.
``kerr-schild``  ``(t, x, y, z)`` (Visser, arXiv:0706.0622, eq. 5.1; Kerr–Newman: ``2Mr → 2Mr − Q²``):
    ``g = η + H l l``, ``H = r² (2Mr − Q²)/(r⁴ + a² z²)``,
    ``l = (1, (r x + a y)/(r² + a²), (r y − a x)/(r² + a²), z/r)``, where ``r(x, y, z) >= 0`` solves
    ``x² + y² + z² = r² + a² (1 − z²/r²)``; regular across both horizons, singular on the ring
    ``x² + y² = a², z = 0``. Points on the disk ``z = 0, x² + y² <= a²`` (``r = 0``, a branch cut) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from physml.simulators.spacetime.curvature import LineElement
from physml.simulators.spacetime.kerr_orbits import horizon_radius
from physml.simulators.spacetime.metric import (
    Coordinates,
    Metric,
    check_finite,
    check_positive,
    require,
    require_polar_angle,
)

__all__ = ["Kerr", "kerr_newman_kretschmann", "kerr_schild_radius"]


def kerr_schild_radius(x: np.ndarray, y: np.ndarray, z: np.ndarray, a: float) -> np.ndarray:
    """``r >= 0`` with ``x² + y² + z² = r² + a² (1 − z²/r²)``: the larger root of ``r⁴ − (ρ² − a²) r² − a² z² = 0``.

    ``a`` in length units (:attr:`Kerr.a`). Written without cancellation on either side of ``ρ² = a²``.
    """
    w = x * x + y * y + z * z - a * a
    root = np.sqrt(w * w + 4 * a * a * z * z)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(w >= 0, (w + root) / 2, 2 * a * a * z * z / (root - w))
    return np.sqrt(np.nan_to_num(r2, nan=0.0))


def kerr_newman_kretschmann(r: np.ndarray, cos_theta: np.ndarray, mass: float, a: float, q: float = 0.0) -> np.ndarray:
    """Closed-form ``R_abcd R^abcd`` of Kerr–Newman in Boyer–Lindquist ``(r, θ)`` (Henry 2000, ApJ 535, 350, eq. 9).

    ``8/Σ⁶ [6M²(r⁶ − 15a²r⁴c² + 15a⁴r²c⁴ − a⁶c⁶) − 12MQ²r(r⁴ − 10a²r²c² + 5a⁴c⁴) + Q⁴(7r⁴ − 34a²r²c² + 7a⁴c⁴)]``
    with ``c = cos θ``, ``a`` and ``Q = q`` in length units (:attr:`Kerr.a`, :attr:`Kerr.q`): ``48M²/r⁶`` for
    Schwarzschild, ``(48M²r² − 96MQ²r + 56Q⁴)/r⁸`` for Reissner–Nordström.
    """
    m = mass
    r2, ac2 = r * r, (a * cos_theta) ** 2
    kerr = r2**3 - 15 * ac2 * r2**2 + 15 * ac2**2 * r2 - ac2**3
    cross = r * (r2 * r2 - 10 * ac2 * r2 + 5 * ac2 * ac2)
    coulomb = 7 * r2 * r2 - 34 * ac2 * r2 + 7 * ac2 * ac2
    return 8 * (6 * m * m * kerr - 12 * m * q * q * cross + q**4 * coulomb) / (r2 + ac2) ** 6


@dataclass(frozen=True)
class Kerr(Metric):
    """A rotating, optionally charged (Kerr–Newman) black hole: ``spin = a/M``, ``charge = Q/M`` (module docstring).

    Parameters are checked here, once for every use: ``mass`` finite and > 0, ``spin`` and
    ``charge`` finite with ``|spin| <= 1`` and ``spin² + charge² <= 1``. A consumer that needs
    less (the geodesic integrator and the orbit formulas: ``charge = 0``; the ray tracer also
    ``|spin| < 1``) says so with its own ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> bh = Kerr(mass=2.0, spin=0.9, chart="kerr-schild")
    >>> bh.a, round(float(bh.horizon), 6)
    (1.8, 2.87178)
    >>> bh.ricci(np.array([0.0, 3.0, 1.0, 2.0])).shape  # vacuum: zero to round-off
    (4, 4)
    """

    mass: float = 1.0
    spin: float = 0.0
    charge: float = 0.0
    chart: str = "boyer-lindquist"
    charts: ClassVar[tuple[str, ...]] = ("boyer-lindquist", "kerr-schild")

    def __post_init__(self) -> None:
        mass = check_positive("mass", self.mass)
        spin = check_finite("spin", self.spin)
        charge = check_finite("charge", self.charge)
        if abs(spin) > 1.0:
            raise ValueError(f"spin = {spin!r} is invalid: need |spin| <= 1 (spin = a/M; beyond extremal: no horizon)")
        if spin * spin + charge * charge > 1.0:
            raise ValueError(
                f"charge = {charge!r} is invalid: need spin² + charge² <= 1 with spin = {spin!r} "
                "(charge = Q/M; beyond extremal: no horizon)"
            )
        for name, value in (("mass", mass), ("spin", spin), ("charge", charge)):
            object.__setattr__(self, name, value)
        self._check_chart()

    @property
    def a(self) -> float:
        """Spin parameter ``a = J/M = spin · M`` in length units."""
        return self.spin * self.mass

    @property
    def q(self) -> float:
        """Charge ``Q = charge · M`` in length units (``G = c = 1``, Gaussian units)."""
        return self.charge * self.mass

    @property
    def horizon(self) -> float:
        """Outer horizon ``r₊ = M + √(M² − a² − Q²)`` (Boyer–Lindquist / Kerr–Schild ``r``)."""
        return horizon_radius(self)

    @classmethod
    def line_element(cls, chart: str) -> LineElement:
        import sympy as sp  # here: the ray tracer imports Kerr but derives no curvature

        _t, _r, _th, _ph = sp.symbols("t r theta phi", real=True)
        _x, _y, _z = sp.symbols("x y z", real=True)
        _M = sp.Symbol("M", positive=True)
        _a, _Q = sp.symbols("a Q", real=True)
        if chart == "boyer-lindquist":
            s2 = sp.sin(_th) ** 2
            sigma = _r**2 + _a**2 * sp.cos(_th) ** 2
            delta = _r**2 - 2 * _M * _r + _a**2 + _Q**2
            source = 2 * _M * _r - _Q**2
            g_tp = -_a * s2 * source / sigma
            g = sp.Matrix(
                [
                    [-(1 - source / sigma), 0, 0, g_tp],
                    [0, sigma / delta, 0, 0],
                    [0, 0, sigma, 0],
                    [g_tp, 0, 0, (_r**2 + _a**2 + _a**2 * s2 * source / sigma) * s2],
                ]
            )
            # MTW eq. 33.3 (with 2Mr -> 2Mr - Q²): the t-φ block inverts in closed form.
            ginv_tp = -_a * source / (sigma * delta)
            ginv = sp.Matrix(
                [
                    [-((_r**2 + _a**2) ** 2 - _a**2 * delta * s2) / (sigma * delta), 0, 0, ginv_tp],
                    [0, delta / sigma, 0, 0],
                    [0, 0, 1 / sigma, 0],
                    [ginv_tp, 0, 0, (delta - _a**2 * s2) / (sigma * delta * s2)],
                ]
            )
            return LineElement((_t, _r, _th, _ph), (_M, _a, _Q), g, ginv)
        if chart == "kerr-schild":
            eta = sp.diag(-1, 1, 1, 1)
            den = _r**4 + _a**2 * _z**2
            # ∂r/∂(x, y, z) from differentiating r⁴ − (x² + y² + z² − a²) r² − a² z² = 0.
            grads = (sp.S.Zero, _x * _r**3 / den, _y * _r**3 / den, _z * _r * (_r**2 + _a**2) / den)
            h = _r**2 * (2 * _M * _r - _Q**2) / den
            l_lower = [sp.S.One, (_r * _x + _a * _y) / (_r**2 + _a**2), (_r * _y - _a * _x) / (_r**2 + _a**2), _z / _r]
            l_upper = [eta[i, i] * l_lower[i] for i in range(4)]
            g = eta + h * sp.Matrix(4, 4, lambda i, j: l_lower[i] * l_lower[j])
            ginv = eta - h * sp.Matrix(4, 4, lambda i, j: l_upper[i] * l_upper[j])  # exact: l is null
            return LineElement((_t, _x, _y, _z), (_M, _a, _Q), g, ginv, ((_r, grads),))
        raise ValueError(f"chart = {chart!r} is invalid: choose one of {', '.join(cls.charts)}")

    def parameter_values(self) -> tuple[float, ...]:
        return (self.mass, self.a, self.q)

    def auxiliary_values(self, x: Coordinates) -> tuple[np.ndarray, ...]:
        if self.chart == "kerr-schild":
            return (kerr_schild_radius(x[1], x[2], x[3], self.a),)
        return ()

    def radius_and_cos_theta(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boyer–Lindquist ``(r, cos θ)`` of ``points`` (Kerr–Schild: ``cos θ = z/r``)."""
        pts = np.asarray(points, dtype=np.float64)
        if self.chart == "kerr-schild":
            r = kerr_schild_radius(pts[..., 1], pts[..., 2], pts[..., 3], self.a)
            # On the r = 0 disk (z = 0) the angle is the equator's.
            return r, np.divide(pts[..., 3], r, out=np.zeros_like(r), where=r > 0)
        return pts[..., 1], np.cos(pts[..., 2])

    def check_points(self, x: Coordinates) -> None:
        if self.chart == "boyer-lindquist":
            require("r", x[1], x[1] > self.horizon, f"Boyer-Lindquist coordinates need r > r+ = {self.horizon}")
            require_polar_angle(x[2])
            return
        r = kerr_schild_radius(x[1], x[2], x[3], self.a)
        require("r", r, r > 0, f"Kerr-Schild coordinates need r > 0: off the disk z = 0, x² + y² <= a² = {self.a**2}")
