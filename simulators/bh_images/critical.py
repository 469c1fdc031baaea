"""Bardeen's critical curve: the analytic edge of a Kerr black hole's shadow seen from far away.

Rays on the curve approach a spherical photon orbit of radius ``r`` between
the prograde and retrograde equatorial photon orbits. With ``M = 1``
(Bardeen 1973, in *Black Holes*, Les Houches, eqs. 3.14-3.16; Chandrasekhar
1983, section 63)::

    xi(r)  = -(r^3 - 3 r^2 + a^2 r + a^2) / (a (r - 1))
    eta(r) = r^3 (4 a^2 - r (r - 3)^2) / (a^2 (r - 1)^2)
    alpha  = -xi / sin i,   beta = +-sqrt(eta + a^2 cos^2 i - xi^2 cot^2 i)

For ``a -> 0`` it is the circle of radius ``sqrt(27) M``.
"""

from __future__ import annotations

import math

import numpy as np

from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import circular_photon_orbit, require_uncharged

__all__ = ["SCHWARZSCHILD_SHADOW_RADIUS", "critical_curve", "critical_radius"]

#: Critical impact parameter of Schwarzschild, ``sqrt(27) M``.
SCHWARZSCHILD_SHADOW_RADIUS = math.sqrt(27.0)
# Below this |a/M| the circle is used: the curve's r-range (width ~ a) then loses too many digits.
_TINY_SPIN = 1e-8


def _alpha_beta2(r: np.ndarray, a: float, incl: float) -> tuple[np.ndarray, np.ndarray]:
    xi = -(r**3 - 3 * r**2 + a * a * r + a * a) / (a * (r - 1.0))
    eta = r**3 * (4 * a * a - r * (r - 3.0) ** 2) / (a * a * (r - 1.0) ** 2)
    return -xi / math.sin(incl), eta + a * a * math.cos(incl) ** 2 - xi * xi / math.tan(incl) ** 2


def _branch(black_hole: Kerr, incl: float) -> tuple[float, float]:
    """The photon-orbit radii ``r1 < r2`` (units of M) between which ``beta^2 >= 0`` (the curve's upper half)."""
    from scipy.optimize import brentq  # here: importing scipy.optimize costs start-up time of every CLI call

    a = black_hole.spin
    lo, hi = (circular_photon_orbit(black_hole, prograde=p) / black_hole.mass for p in (True, False))
    r = np.linspace(lo, hi, 4001)
    b2 = _alpha_beta2(r, a, incl)[1]
    inside = np.flatnonzero(b2 >= 0)
    if inside.size == 0:
        raise ValueError(f"no critical curve for spin = {a!r}, inclination = {math.degrees(incl)!r}")
    i, j = inside[0], inside[-1]

    def f(x: float) -> float:
        return float(_alpha_beta2(np.array([x]), a, incl)[1][0])

    r1 = lo if i == 0 else brentq(f, r[i - 1], r[i], xtol=1e-15, rtol=1e-15)
    r2 = hi if j == len(r) - 1 else brentq(f, r[j], r[j + 1], xtol=1e-15, rtol=1e-15)
    return r1, r2


def critical_curve(black_hole: Kerr, inclination: float, n: int = 1001) -> tuple[np.ndarray, np.ndarray]:
    """The closed critical curve ``(alpha, beta)``, ``2 n`` points in length units (``inclination`` in degrees).

    Points cluster at the ends of each half (``r`` on a cosine grid), where ``beta`` varies fastest.

    Examples
    --------
    >>> alpha, beta = critical_curve(Kerr(spin=0.0), 90.0, n=8)
    >>> bool(np.allclose(np.hypot(alpha, beta), 27**0.5))
    True
    """
    require_uncharged(black_hole, "the critical curve")
    m, a, incl = black_hole.mass, black_hole.spin, math.radians(inclination)
    t = np.linspace(0.0, math.pi, n)
    if abs(a) < _TINY_SPIN:
        psi = np.concatenate([math.pi - t, -t])  # upper half right to left, then lower half back: closed
        return m * SCHWARZSCHILD_SHADOW_RADIUS * np.cos(psi), m * SCHWARZSCHILD_SHADOW_RADIUS * np.sin(psi)
    r1, r2 = _branch(black_hole, incl)
    r = r1 + (r2 - r1) * 0.5 * (1.0 - np.cos(t))
    alpha, b2 = _alpha_beta2(r, a, incl)
    beta = np.sqrt(np.maximum(b2, 0.0))
    return m * np.concatenate([alpha, alpha[::-1]]), m * np.concatenate([beta, -beta[::-1]])


def critical_radius(black_hole: Kerr, inclination: float, psi: np.ndarray) -> np.ndarray:
    """Polar radius ``rho(psi)`` of the critical curve about the image centre, ``psi = atan2(beta, alpha)``.

    The curve is star-shaped about the centre (the origin lies inside every
    Kerr shadow), so ``rho`` is single-valued. Solved to round-off by bisection
    on the photon-orbit radius (vectorised over ``psi``); length units.
    """
    require_uncharged(black_hole, "the critical curve")
    m, a, incl = black_hole.mass, black_hole.spin, math.radians(inclination)
    psi = np.mod(np.asarray(psi, dtype=np.float64), 2 * math.pi)
    if abs(a) < _TINY_SPIN:
        return np.full(psi.shape, m * SCHWARZSCHILD_SHADOW_RADIUS)
    target = np.where(psi > math.pi, 2 * math.pi - psi, psi)  # mirror symmetry beta -> -beta
    r1, r2 = _branch(black_hole, incl)

    def angle(r: np.ndarray) -> np.ndarray:
        alpha, b2 = _alpha_beta2(r, a, incl)
        return np.arctan2(np.sqrt(np.maximum(b2, 0.0)), alpha)

    # The angle runs monotonically along the upper half, from pi to 0 for a > 0 (alpha grows with r).
    decreasing = angle(np.array([r1]))[0] > angle(np.array([r2]))[0]
    lo, hi = np.full(psi.shape, r1), np.full(psi.shape, r2)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        beyond = (angle(mid) > target) == decreasing  # the target lies at larger r
        lo, hi = np.where(beyond, mid, lo), np.where(beyond, hi, mid)
    alpha, b2 = _alpha_beta2(0.5 * (lo + hi), a, incl)
    return m * np.hypot(alpha, np.sqrt(np.maximum(b2, 0.0)))
