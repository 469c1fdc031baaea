"""Kerr geodesics in Hamiltonian form (Boyer-Lindquist coordinates, ``G = c = 1``; Schwarzschild at ``a = 0``).

With ``p_t = -E`` and ``p_phi = L`` conserved, the super-Hamiltonian
``H = g^{mu nu} p_mu p_nu / 2`` (Carter 1968, Phys. Rev. 174, 1559; MTW eq. 33.27) is

    H = -E^2 / 2 + G / (2 Sigma),
    G = Delta p_r^2 + p_theta^2 + L^2 / sin^2(theta) - W / Delta,
    W = 2 M r (E^2 (r^2 + a^2) - 2 a E L) + a^2 L^2,

``Sigma = r^2 + a^2 cos^2(theta)``, ``Delta = r^2 - 2 M r + a^2``, using
``g^tt = -1 - 2 M r (r^2 + a^2) / (Sigma Delta)``, ``g^{t phi} = -2 M a r / (Sigma Delta)``,
``g^{phi phi} = 1 / (Sigma sin^2) - a^2 / (Sigma Delta)``. Splitting off the
constant ``-E^2 / 2`` matters far from the hole: the usual
``F / (2 Sigma)`` form has terms of size ``E^2`` cancelling in every derivative
down to the Newtonian force ``M / r^2`` (at Mercury's ``r ~ 4e7 M`` that loses
eight digits); in ``G`` every term is already of the size of ``M r``.

The state is ``y = (t, r, theta, phi, p_r, p_theta)``, the affine parameter
``lambda`` (proper time over the rest mass for timelike geodesics) and
``dy/dlambda = (dH/dp_t, dH/dp_r, dH/dp_theta, dH/dL, -dH/dr, -dH/dtheta)``.
The mass shell ``mu^2 = -2H = E^2 - G / Sigma`` (1 timelike, 0 null) and Carter's
``Q = p_theta^2 + cos^2(theta) (a^2 (mu^2 - E^2) + L^2 / sin^2(theta))`` are
conserved by the exact flow; their drift measures the integration error.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["carter_constant", "covariant_metric", "kerr_rhs", "mass_shell", "polar_potential", "radial_potential"]


@njit(cache=True)
def kerr_rhs(lam: float, y: np.ndarray, params: np.ndarray, out: np.ndarray) -> None:
    """Hamilton's equations into ``out``, ``params = (M, a, E, L)`` (an ``rhs`` for the Dormand-Prince kernels)."""
    m, a, e, ell = params[0], params[1], params[2], params[3]
    r, th, pr, pth = y[1], y[2], y[4], y[5]
    s, c = math.cos(0.5 * math.pi - th), math.sin(0.5 * math.pi - th)  # see _sin_cos
    s2 = s * s
    sigma = r * r + a * a * c * c
    delta = r * r - 2.0 * m * r + a * a
    ddelta = 2.0 * r - 2.0 * m
    ra2 = r * r + a * a
    w = 2.0 * m * r * (e * e * ra2 - 2.0 * a * e * ell) + a * a * ell * ell
    dw = 2.0 * m * (e * e * (3.0 * r * r + a * a) - 2.0 * a * e * ell)
    # L^2 / sin^2 and its derivative vanish identically for L = 0 (orbits through the poles).
    l_s2 = ell * ell / s2 if ell != 0.0 else 0.0
    dl_s2 = -2.0 * ell * ell * c / (s2 * s) if ell != 0.0 else 0.0
    g = delta * pr * pr + pth * pth + l_s2 - w / delta
    dg_dr = ddelta * pr * pr - dw / delta + w * ddelta / (delta * delta)
    out[0] = e + 2.0 * m * r * (e * ra2 - a * ell) / (sigma * delta)
    out[1] = delta * pr / sigma
    out[2] = pth / sigma
    out[3] = ((ell / s2 if ell != 0.0 else 0.0) + a * (2.0 * m * r * e - a * ell) / delta) / sigma
    # -dH/dx = -G_x / (2 Sigma) + G Sigma_x / (2 Sigma^2): the second term keeps H exact off the mass shell.
    out[4] = -dg_dr / (2.0 * sigma) + g * r / (sigma * sigma)
    out[5] = -dl_s2 / (2.0 * sigma) - g * a * a * s * c / (sigma * sigma)


def _sin_cos(theta):
    """``(sin, cos)`` of ``theta`` through ``x = pi/2 - theta``.

    ``cos`` is then exactly 0 at ``theta = pi/2`` in floating point (``math.cos(math.pi / 2)`` is 6e-17), so
    equatorial geodesics stay exactly in the plane with ``p_theta = 0`` (else ``p_theta`` is rounding noise of
    size 1e-14 that an absolute tolerance below it chases with 10x more steps).
    """
    x = 0.5 * np.pi - np.asarray(theta, dtype=np.float64)
    return np.cos(x), np.sin(x)


def _columns(states: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(np.moveaxis(np.asarray(states, dtype=np.float64), -1, 0))


def mass_shell(states: np.ndarray, mass: float, a: float, energy: float, angular_momentum: float) -> np.ndarray:
    """``mu^2 = -g^{mu nu} p_mu p_nu = E^2 - G / Sigma`` for states ``(..., 6)``; shape ``(...)``."""
    _, r, th, _, pr, pth = _columns(states)
    e, ell = energy, angular_momentum
    s2, c2 = (v**2 for v in _sin_cos(th))
    delta = r * r - 2.0 * mass * r + a * a
    w = 2.0 * mass * r * (e * e * (r * r + a * a) - 2.0 * a * e * ell) + a * a * ell * ell
    g = delta * pr * pr + pth * pth + (ell * ell / s2 if ell != 0.0 else 0.0) - w / delta
    return e * e - g / (r * r + a * a * c2)


def carter_constant(states: np.ndarray, a: float, energy: float, angular_momentum: float, mu2: float) -> np.ndarray:
    """``Q = p_theta^2 + cos^2(theta) (a^2 (mu^2 - E^2) + L^2 / sin^2(theta))`` for states ``(..., 6)``."""
    _, _, th, _, _, pth = _columns(states)
    s2, c2 = (v**2 for v in _sin_cos(th))
    l2_s2 = angular_momentum**2 / s2 if angular_momentum != 0.0 else 0.0
    return pth * pth + c2 * (a * a * (mu2 - energy**2) + l2_s2)


def radial_potential(
    r: np.ndarray | float, mass: float, a: float, energy: float, angular_momentum: float, carter_q: float, mu2: float
) -> np.ndarray:
    """Radial potential ``R(r) = P^2 - Delta (mu^2 r^2 + (L - a E)^2 + Q)``, so that ``(Sigma dr/dlambda)^2 = R``.

    ``P = E (r^2 + a^2) - a L``; ``r`` any shape, returned alike.
    """
    r = np.asarray(r, dtype=np.float64)
    p = energy * (r * r + a * a) - a * angular_momentum
    delta = r * r - 2.0 * mass * r + a * a
    return p * p - delta * (mu2 * r * r + (angular_momentum - a * energy) ** 2 + carter_q)


def polar_potential(
    theta: np.ndarray | float, a: float, energy: float, angular_momentum: float, carter_q: float, mu2: float
) -> np.ndarray:
    """``Theta(theta) = Q - cos^2 (a^2 (mu^2 - E^2) + L^2 / sin^2)``: ``(Sigma dtheta/dlambda)^2 = Theta``."""
    s2, c2 = (v**2 for v in _sin_cos(theta))
    return carter_q - c2 * (a * a * (mu2 - energy**2) + (angular_momentum**2 / s2 if angular_momentum != 0 else 0.0))


def covariant_metric(r: float, theta: float, mass: float, a: float) -> np.ndarray:
    """Boyer-Lindquist ``g_{mu nu}`` at ``(r, theta)``, ``(4, 4)`` in the order ``(t, r, theta, phi)``."""
    s2, c2 = (float(v) ** 2 for v in _sin_cos(theta))
    sigma = r * r + a * a * c2
    delta = r * r - 2.0 * mass * r + a * a
    g = np.zeros((4, 4))
    g[0, 0] = -(1.0 - 2.0 * mass * r / sigma)
    g[0, 3] = g[3, 0] = -2.0 * mass * a * r * s2 / sigma
    g[1, 1] = sigma / delta
    g[2, 2] = sigma
    g[3, 3] = (r * r + a * a + 2.0 * mass * a * a * r * s2 / sigma) * s2
    return g
