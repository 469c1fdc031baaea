"""Equatorial circular orbits of Kerr and the innermost stable one (ISCO), in closed form and numerically.

Bardeen, Press & Teukolsky (1972), ApJ 178, 347 (BPT), in units of ``M``,
``a = |spin|`` (upper signs prograde, i.e. co-rotating with the hole; ``L`` then
has the sign of the spin, positive for Schwarzschild):

    E = (r^{3/2} - 2 r^{1/2} ± a) / (r^{3/4} sqrt(r^{3/2} - 3 r^{1/2} ± 2 a))         (eq. 2.12)
    L = ±(r^2 ∓ 2 a r^{1/2} + a^2) / (r^{3/4} sqrt(r^{3/2} - 3 r^{1/2} ± 2 a))       (eq. 2.13)

with the circular photon orbit ``r_ph = 2 (1 + cos(2/3 arccos(∓a)))`` (eq. 2.18)
where both diverge, and the ISCO in closed form (eq. 2.21). Numerically the ISCO is
where the circular orbits lose stability: ``R''(r) = 0`` for the radial potential
``R = (E^2 - 1) r^4 + 2 r^3 + (a^2 (E^2 - 1) - L^2) r^2 + 2 (L - a E)^2 r`` (``Q = 0``)
evaluated on the circular ``(E(r), L(r))`` (a stable orbit sits at a maximum of ``R = 0``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from physml.simulators.spacetime.geodesics import BlackHole, check_number

__all__ = ["circular_orbit", "circular_photon_orbit", "isco_radius", "isco_radius_numerical"]


def _sign(prograde: bool) -> float:
    return 1.0 if prograde else -1.0


def _orientation(hole: BlackHole) -> float:
    """+1 if the hole rotates about +z (or not at all), -1 about -z: prograde orbits have L of this sign."""
    return 1.0 if hole.spin >= 0 else -1.0


def circular_photon_orbit(hole: BlackHole, *, prograde: bool = True) -> float:
    """Equatorial circular photon orbit (BPT eq. 2.18): 3M for Schwarzschild; M / 4M prograde / retrograde at a = M."""
    return hole.mass * 2.0 * (1.0 + math.cos(2.0 / 3.0 * math.acos(-_sign(prograde) * abs(hole.spin))))


def isco_radius(hole: BlackHole, *, prograde: bool = True) -> float:
    """ISCO radius in closed form (BPT eq. 2.21): 6M for Schwarzschild; M / 9M prograde / retrograde at a = M."""
    a = abs(hole.spin)
    z1 = 1.0 + (1.0 - a * a) ** (1.0 / 3.0) * ((1.0 + a) ** (1.0 / 3.0) + (1.0 - a) ** (1.0 / 3.0))
    z2 = math.sqrt(3.0 * a * a + z1 * z1)
    return hole.mass * (3.0 + z2 - _sign(prograde) * math.sqrt(max((3.0 - z1) * (3.0 + z1 + 2.0 * z2), 0.0)))


def circular_orbit(hole: BlackHole, r: np.ndarray | float, *, prograde: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(E, L)`` per unit rest mass of the equatorial circular orbit at ``r`` (BPT eqs. 2.12-2.13).

    ``r`` must lie outside the circular photon orbit (else ``ValueError``); ``L`` in units of length.
    """
    x = np.asarray(r, dtype=np.float64) / hole.mass
    r_ph = circular_photon_orbit(hole, prograde=prograde) / hole.mass
    if not np.all(x > r_ph):
        raise ValueError(f"r = {r!r} is invalid: circular timelike orbits need r > r_ph = {r_ph * hole.mass:.6g}")
    sa = _sign(prograde) * abs(hole.spin)
    with np.errstate(divide="ignore", invalid="ignore"):  # r -> r_ph: E, L -> inf
        root = x**0.75 * np.sqrt(x**1.5 - 3.0 * np.sqrt(x) + 2.0 * sa)
        energy = (x**1.5 - 2.0 * np.sqrt(x) + sa) / root
        ang = _sign(prograde) * (x * x - 2.0 * sa * np.sqrt(x) + sa * sa) / root
    return energy, _orientation(hole) * ang * hole.mass


def _stability(r: float, hole: BlackHole, prograde: bool) -> float:
    """``R''(r) / (2 r^2)`` on the circular orbit at ``r`` (units of ``M``): > 0 unstable, < 0 stable."""
    energy, ang = circular_orbit(hole, r * hole.mass, prograde=prograde)
    a, ell = hole.spin, float(ang) / hole.mass
    e2m1 = float(energy) ** 2 - 1.0
    return 6.0 * e2m1 + 6.0 / r + (a * a * e2m1 - ell * ell) / (r * r)


def isco_radius_numerical(hole: BlackHole, *, prograde: bool = True, r_max: float = 50.0) -> float:
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
