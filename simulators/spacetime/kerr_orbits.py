"""Closed forms of a Kerr hole: horizons, and the equatorial circular orbits (photon orbit, ISCO, E, L, Ω).

One definition of each formula, for every caller. The functions take the hole
(:class:`~physml.simulators.spacetime.kerr.Kerr`) and return lengths in the unit of its
mass. Orbits are Bardeen, Press & Teukolsky (1972), ApJ 178, 347 (BPT); in units of ``M``
with ``s = ±|a/M|`` (upper sign prograde, i.e. co-rotating with the hole):

    r_ph = 2 (1 + cos(2/3 arccos(-s)))                                          (eq. 2.18)
    E = (r^{3/2} - 2 r^{1/2} + s) / (r^{3/4} sqrt(r^{3/2} - 3 r^{1/2} + 2 s))      (eq. 2.12)
    L = ±(r^2 - 2 s r^{1/2} + s^2) / (r^{3/4} sqrt(r^{3/2} - 3 r^{1/2} + 2 s))   (eq. 2.13)
    Omega = ±1 / (r^{3/2} + s)                                                  (eq. 2.16)

and the ISCO in closed form (eq. 2.21). Orbit formulas are Kerr's: a charged hole is refused.
The ray tracer's Numba kernels use the raw forms :func:`circular_omega` and
:func:`circular_ut` (``M = 1``, an orbit rotating towards ``+φ`` about a hole of signed
``s``: ``s < 0`` is a retrograde orbit).

Examples
--------
>>> from physml.simulators.spacetime import Kerr
>>> isco_radius(Kerr(spin=0.0)), isco_radius(Kerr(spin=1.0), prograde=False)
(6.0, 9.0)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from physml.simulators.spacetime.kerr import Kerr

__all__ = [
    "circular_omega",
    "circular_orbit",
    "circular_photon_orbit",
    "circular_ut",
    "horizon_radius",
    "isco_radius",
    "keplerian_omega",
    "require_uncharged",
]


def require_uncharged(hole: Kerr, what: str) -> None:
    """``ValueError`` unless ``hole.charge`` is 0: ``what`` (a formula, an integrator) is Kerr's, not Kerr-Newman's."""
    if hole.charge != 0.0:
        raise ValueError(f"charge = {hole.charge!r} is invalid for {what}: must be 0 (Kerr-Newman is not supported)")


def _sign(prograde: bool) -> float:
    return 1.0 if prograde else -1.0


def _orientation(hole: Kerr) -> float:
    """+1 if the hole rotates about +z (or not at all), -1 about -z: prograde orbits turn this way about +z."""
    return 1.0 if hole.spin >= 0 else -1.0


def horizon_radius(hole: Kerr, *, inner: bool = False) -> float:
    """Outer (``inner``: inner) horizon ``r± = M ± sqrt(M^2 - a^2 - Q^2)``; 2M and 0 for Schwarzschild."""
    root = math.sqrt(max(1.0 - hole.spin**2 - hole.charge**2, 0.0))
    return hole.mass * (1.0 - root if inner else 1.0 + root)


def circular_photon_orbit(hole: Kerr, *, prograde: bool = True) -> float:
    """Equatorial circular photon orbit (BPT eq. 2.18): 3M for Schwarzschild; M / 4M prograde / retrograde at a = M."""
    require_uncharged(hole, "the circular photon orbit")
    return hole.mass * 2.0 * (1.0 + math.cos(2.0 / 3.0 * math.acos(-_sign(prograde) * abs(hole.spin))))


def isco_radius(hole: Kerr, *, prograde: bool = True) -> float:
    """ISCO radius in closed form (BPT eq. 2.21): 6M for Schwarzschild; M / 9M prograde / retrograde at a = M."""
    require_uncharged(hole, "the ISCO")
    a = abs(hole.spin)
    z1 = 1.0 + (1.0 - a * a) ** (1.0 / 3.0) * ((1.0 + a) ** (1.0 / 3.0) + (1.0 - a) ** (1.0 / 3.0))
    z2 = math.sqrt(3.0 * a * a + z1 * z1)
    return hole.mass * (3.0 + z2 - _sign(prograde) * math.sqrt(max((3.0 - z1) * (3.0 + z1 + 2.0 * z2), 0.0)))


def _outside_photon_orbit(hole: Kerr, r: np.ndarray | float, prograde: bool) -> np.ndarray:
    x = np.asarray(r, dtype=np.float64) / hole.mass
    r_ph = circular_photon_orbit(hole, prograde=prograde) / hole.mass
    if not np.all(x > r_ph):
        raise ValueError(f"r = {r!r} is invalid: circular timelike orbits need r > r_ph = {r_ph * hole.mass:.6g}")
    return x


def circular_orbit(hole: Kerr, r: np.ndarray | float, *, prograde: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(E, L)`` per unit rest mass of the equatorial circular orbit at ``r`` (BPT eqs. 2.12-2.13).

    ``r`` must lie outside the circular photon orbit (else ``ValueError``); ``L`` in units of
    length, with the sign of the orbit's sense about ``+z`` (prograde: the sign of the spin).
    """
    x = _outside_photon_orbit(hole, r, prograde)
    sa = _sign(prograde) * abs(hole.spin)
    with np.errstate(divide="ignore", invalid="ignore"):  # r -> r_ph: E, L -> inf
        root = x**0.75 * np.sqrt(x**1.5 - 3.0 * np.sqrt(x) + 2.0 * sa)
        energy = (x**1.5 - 2.0 * np.sqrt(x) + sa) / root
        ang = _sign(prograde) * (x * x - 2.0 * sa * np.sqrt(x) + sa * sa) / root
    return energy, _orientation(hole) * ang * hole.mass


def keplerian_omega(hole: Kerr, r: np.ndarray | float, *, prograde: bool = True) -> np.ndarray:
    """Angular velocity ``dphi/dt`` of the equatorial circular orbit at ``r`` (BPT eq. 2.16), in units of 1/length.

    Signed like ``L``: positive for an orbit turning towards ``+φ``. ``r`` outside the circular photon orbit.
    """
    x = _outside_photon_orbit(hole, r, prograde)
    sense = _orientation(hole) * _sign(prograde)
    return sense * np.vectorize(circular_omega, otypes=[np.float64])(x, _sign(prograde) * abs(hole.spin)) / hole.mass


@njit(cache=True)
def circular_omega(x: float, s: float) -> float:
    """``M dphi/dt = 1 / (x^{3/2} + s)`` of the circular orbit at ``x = r/M`` turning towards ``+φ`` (BPT eq. 2.16).

    ``s = a/M`` signed (``s < 0``: the orbit is retrograde). A raw-scalar kernel for Numba code.
    """
    return 1.0 / (x**1.5 + s)


@njit(cache=True)
def circular_ut(x: float, s: float) -> float:
    """``u^t`` of the circular orbit at ``x = r/M`` turning towards ``+φ``, ``s = a/M`` signed (``M = 1``).

    From ``-1 = g_tt + 2 g_tphi Omega + g_phiphi Omega^2`` at ``theta = pi/2``; real only outside
    the circular photon orbit, NaN inside it. Equal to BPT's
    ``(x^{3/2} + s) / (x^{3/4} sqrt(x^{3/2} - 3 x^{1/2} + 2 s))``.
    """
    om = circular_omega(x, s)
    g_tt = -(1.0 - 2.0 / x)
    g_tp = -2.0 * s / x
    g_pp = x * x + s * s + 2.0 * s * s / x
    norm = -(g_tt + 2.0 * g_tp * om + g_pp * om * om)
    return 1.0 / math.sqrt(norm) if norm > 0.0 else math.nan
