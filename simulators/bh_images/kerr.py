"""What a ray carries from the disk to the camera: the disk's redshift, and the invariants checked along rays.

Units of the mass (``M = 1``), signed dimensionless spin ``spin = a/M``; the disk turns
about ``+z`` (prograde for ``spin >= 0``). The circular-orbit formulas behind the
redshift are :mod:`physml.simulators.spacetime.kerr_orbits`'s (Bardeen, Press &
Teukolsky 1972); Carter (1968) for the constant ``Q``.

``horizon_radius``, ``circular_photon_orbit``, ``isco_radius``, ``keplerian_omega`` and
``emitter_ut`` of ``spin`` alone are deprecated aliases of those formulas (they warn),
removed in the next release.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from physml.simulators.spacetime import kerr_orbits
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import circular_omega, circular_ut

__all__ = ["carter_constant", "disk_redshift", "null_hamiltonian"]


@njit(cache=True)
def disk_redshift(r: float, spin: float, xi: float) -> float:
    """``g = nu_obs / nu_em = 1 / (u^t (1 - Omega xi))`` for a photon of ``E = 1, L = xi`` leaving the disk at ``r``.

    Gravitational redshift, transverse and longitudinal Doppler shift in one
    factor (Cunningham 1975, ApJ 202, 788, eq. 9), for an observer at rest at infinity.
    """
    return 1.0 / (circular_ut(r, spin) * (1.0 - circular_omega(r, spin) * xi))


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


# -- deprecated aliases (removed in the next release) ----------------------------------------


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"physml.simulators.bh_images.kerr.{old} is deprecated and will be removed in the next release: use {new}",
        DeprecationWarning,
        stacklevel=3,
    )


def horizon_radius(spin: float) -> float:
    """Deprecated: ``physml.simulators.spacetime.horizon_radius(Kerr(spin=spin))``."""
    _deprecated("horizon_radius(spin)", "physml.simulators.spacetime.horizon_radius(Kerr(spin=spin))")
    return kerr_orbits.horizon_radius(Kerr(spin=spin))


def circular_photon_orbit(spin: float) -> float:
    """Deprecated: ``physml.simulators.spacetime.circular_photon_orbit(hole, prograde=spin >= 0)`` (about ``+z``)."""
    _deprecated("circular_photon_orbit(spin)", "physml.simulators.spacetime.circular_photon_orbit(hole, prograde=...)")
    return kerr_orbits.circular_photon_orbit(Kerr(spin=spin), prograde=spin >= 0)


def isco_radius(spin: float) -> float:
    """Deprecated: ``physml.simulators.bh_images.disk_isco(Kerr(spin=spin))`` (the ISCO about ``+z``)."""
    _deprecated("isco_radius(spin)", "physml.simulators.bh_images.disk_isco(Kerr(spin=spin))")
    return kerr_orbits.isco_radius(Kerr(spin=spin), prograde=spin >= 0)


def keplerian_omega(r: float, spin: float) -> float:
    """Deprecated: ``physml.simulators.spacetime.kerr_orbits.circular_omega(r, spin)``."""
    _deprecated("keplerian_omega(r, spin)", "physml.simulators.spacetime.kerr_orbits.circular_omega(r, spin)")
    return circular_omega(r, spin)


def emitter_ut(r: float, spin: float) -> float:
    """Deprecated: ``physml.simulators.spacetime.kerr_orbits.circular_ut(r, spin)``."""
    _deprecated("emitter_ut(r, spin)", "physml.simulators.spacetime.kerr_orbits.circular_ut(r, spin)")
    return circular_ut(r, spin)
