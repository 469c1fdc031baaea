"""Closed-form Kerr quantities in units of the mass (``M = 1``), signed dimensionless spin ``spin = a/M``.

Orbits here rotate about ``+z``: for ``spin >= 0`` they are prograde, for
``spin < 0`` retrograde. References: Bardeen, Press & Teukolsky (1972),
ApJ 178, 347, eqs. (2.12)-(2.21) (circular orbits, ISCO, photon orbit);
Carter (1968) for the constant ``Q``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "carter_constant",
    "circular_photon_orbit",
    "disk_redshift",
    "emitter_ut",
    "horizon_radius",
    "isco_radius",
    "keplerian_omega",
    "null_hamiltonian",
]


def horizon_radius(spin: float) -> float:
    """Outer horizon ``r_+ = 1 + sqrt(1 - spin^2)``."""
    return 1.0 + math.sqrt(max(1.0 - spin * spin, 0.0))


def circular_photon_orbit(spin: float) -> float:
    """Equatorial circular photon orbit about ``+z``: ``2 (1 + cos(2/3 arccos(-spin)))`` (BPT eq. 2.18).

    3 for ``spin = 0``; 1 (prograde) and 4 (retrograde) for ``spin = +1, -1``.
    """
    return 2.0 * (1.0 + math.cos(2.0 / 3.0 * math.acos(-max(-1.0, min(1.0, spin)))))


def isco_radius(spin: float) -> float:
    """Innermost stable circular orbit about ``+z`` (BPT eq. 2.21): 6 at ``spin = 0``, 1 / 9 at ``spin = +1 / -1``."""
    a = max(-1.0, min(1.0, spin))
    z1 = 1.0 + (1.0 - a * a) ** (1.0 / 3.0) * ((1.0 + a) ** (1.0 / 3.0) + (1.0 - a) ** (1.0 / 3.0))
    z2 = math.sqrt(3.0 * a * a + z1 * z1)
    return 3.0 + z2 - math.copysign(1.0, a) * math.sqrt(max((3.0 - z1) * (3.0 + z1 + 2.0 * z2), 0.0))


@njit(cache=True)
def keplerian_omega(r: float, spin: float) -> float:
    """Angular velocity ``dphi/dt = 1 / (r^{3/2} + spin)`` of a circular orbit about ``+z`` (BPT eq. 2.16)."""
    return 1.0 / (r**1.5 + spin)


@njit(cache=True)
def emitter_ut(r: float, spin: float) -> float:
    """``u^t`` of the Keplerian emitter, from ``-1 = g_tt + 2 g_tphi Omega + g_phiphi Omega^2`` at ``theta = pi/2``.

    Real only outside the circular photon orbit; NaN inside it.
    """
    om = keplerian_omega(r, spin)
    g_tt = -(1.0 - 2.0 / r)
    g_tp = -2.0 * spin / r
    g_pp = r * r + spin * spin + 2.0 * spin * spin / r
    norm = -(g_tt + 2.0 * g_tp * om + g_pp * om * om)
    return 1.0 / math.sqrt(norm) if norm > 0.0 else math.nan


@njit(cache=True)
def disk_redshift(r: float, spin: float, xi: float) -> float:
    """``g = nu_obs / nu_em = 1 / (u^t (1 - Omega xi))`` for a photon of ``E = 1, L = xi`` leaving the disk at ``r``.

    Gravitational redshift, transverse and longitudinal Doppler shift in one
    factor (Cunningham 1975, ApJ 202, 788, eq. 9), for an observer at rest at infinity.
    """
    return 1.0 / (emitter_ut(r, spin) * (1.0 - keplerian_omega(r, spin) * xi))


def null_hamiltonian(state: np.ndarray, spin: float, xi: float) -> np.ndarray:
    """``2 Sigma H = Delta p_r^2 + p_theta^2 - W^2/Delta + (xi - a sin^2 theta)^2 / sin^2 theta`` (0 on null rays).

    ``state`` is ``(..., 4)`` holding ``(r, theta, p_r, p_theta)`` with ``E = 1``;
    returns ``2 Sigma H`` divided by the sum of the magnitudes of its terms (a relative figure).
    """
    r, th, pr, pth = np.moveaxis(np.asarray(state, dtype=np.float64), -1, 0)
    delta = r * r - 2.0 * r + spin * spin
    w = r * r + spin * spin - spin * xi
    s2 = np.sin(th) ** 2
    terms = (delta * pr * pr, pth * pth, -w * w / delta, (xi - spin * s2) ** 2 / s2)
    return sum(terms) / sum(np.abs(t) for t in terms)


def carter_constant(state: np.ndarray, spin: float, xi: float) -> np.ndarray:
    """Carter's ``Q = p_theta^2 - a^2 cos^2 theta + xi^2 cot^2 theta`` (``E = 1``), conserved along every geodesic."""
    _, th, _, pth = np.moveaxis(np.asarray(state, dtype=np.float64), -1, 0)
    return pth * pth - spin * spin * np.cos(th) ** 2 + xi * xi / np.tan(th) ** 2
