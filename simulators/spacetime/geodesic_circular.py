"""The innermost stable circular orbit of Kerr found numerically, from where circular orbits lose stability.

A check on the closed form (:func:`~physml.simulators.spacetime.kerr_orbits.isco_radius`,
Bardeen, Press & Teukolsky 1972, eq. 2.21): the ISCO is where ``R''(r) = 0`` for the radial
potential ``R = (E^2 - 1) r^4 + 2 r^3 + (a^2 (E^2 - 1) - L^2) r^2 + 2 (L - a E)^2 r``
(``Q = 0``, units of ``M``) evaluated on the circular ``(E(r), L(r))``
(:func:`~physml.simulators.spacetime.kerr_orbits.circular_orbit`); a stable orbit sits at a
maximum of ``R = 0``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from physml.simulators.spacetime.geodesics import check_number
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import circular_orbit, circular_photon_orbit

__all__ = ["isco_radius_numerical"]


def _stability(r: float, hole: Kerr, prograde: bool) -> float:
    """``R''(r) / (2 r^2)`` on the circular orbit at ``r`` (units of ``M``): > 0 unstable, < 0 stable."""
    energy, ang = circular_orbit(hole, r * hole.mass, prograde=prograde)
    a, ell = hole.spin, float(ang) / hole.mass
    e2m1 = float(energy) ** 2 - 1.0
    return 6.0 * e2m1 + 6.0 / r + (a * a * e2m1 - ell * ell) / (r * r)


def isco_radius_numerical(hole: Kerr, *, prograde: bool = True, r_max: float = 50.0) -> float:
    """ISCO radius from marginal stability, ``R''(r) = 0`` on the circular orbits (Brent's method, to rounding).

    The sign change is bracketed by scanning ``r`` geometrically outwards from the
    circular photon orbit (where ``R'' -> +inf``) to ``r_max`` M (stable there).
    At ``|a| = M`` prograde the ISCO, photon orbit and horizon all meet at
    ``r = M`` and no bracket exists: use ``spin = 1 - eps`` (``r_isco - M ~ (4 eps)^{1/3} M``).
    """
    check_number("r_max", r_max, "> 9 (beyond every ISCO)", lambda v: v > 9.0)
    if prograde and abs(hole.spin) == 1.0:
        raise ValueError(
            f"spin = {hole.spin!r} is invalid here: at |spin| = 1 the prograde ISCO merges with the "
            "horizon at r = M (no marginally stable orbit to bracket); use 1 - eps"
        )
    r_ph = circular_photon_orbit(hole, prograde=prograde) / hole.mass
    radii = r_ph + (r_max - r_ph) * np.geomspace(1e-12, 1.0, 400)
    values = np.array([_stability(r, hole, prograde) if r > r_ph else np.nan for r in radii])
    ok = np.isfinite(values)
    radii, values = radii[ok], values[ok]
    change = np.flatnonzero((values[:-1] > 0) & (values[1:] <= 0))
    if change.size == 0:
        raise ValueError(f"r_max = {r_max!r} is invalid: no marginally stable orbit between r_ph and r_max")
    i = change[0]
    root = brentq(_stability, radii[i], radii[i + 1], args=(hole, prograde), xtol=1e-15, rtol=8.9e-16, maxiter=200)
    return float(root) * hole.mass
