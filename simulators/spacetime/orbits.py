"""Bound timelike orbits of Kerr: constants from turning points, integration from periapsis, periapsis precession.

Units ``G = c = 1``, lengths in the unit of the hole's mass, ``mu = 1``. The
radial motion obeys ``(Sigma dr/dlambda)^2 = R(r)``, a quartic whose two largest
roots outside the horizon are the apoapsis ``r_a`` and periapsis ``r_p`` of a
bound orbit; the next root ``r_3 < r_p`` must exist too, or the particle
plunges. The precession per orbit is ``Delta phi - 2 pi`` over one radial period
(periapsis to periapsis), measured on the integrated orbit with periapsides
located to rounding; for equatorial orbits it is also given by quadrature
(:func:`equatorial_precession`) and for Schwarzschild in closed form
(:func:`schwarzschild_precession`, Cutler, Kennefick & Poisson 1994, PRD 50, 3816, eq. 2.8).
Circular orbits and the ISCO are in :mod:`physml.simulators.spacetime.kerr_orbits`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ellipk

from physml.simulators.spacetime.geodesic_equations import radial_potential
from physml.simulators.spacetime.geodesics import Geodesic, check_number, integrate_geodesic
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import require_uncharged

__all__ = [
    "Precession",
    "bound_orbit_constants",
    "equatorial_precession",
    "periapsis_precession",
    "schwarzschild_precession",
    "turning_points",
]


@dataclass(frozen=True)
class Precession:
    """Periapsis advance of an integrated bound orbit, per radial period.

    ``advances`` ``(n_orbits,)``: ``sign(L) Delta phi - 2 pi`` for each successive
    radial period (rad); ``per_orbit`` their mean; ``radial_period`` and
    ``coordinate_period`` the mean proper time and coordinate time per radial period.
    """

    per_orbit: float
    advances: np.ndarray
    radial_period: float
    coordinate_period: float
    orbit: Geodesic


def _schwarzschild_constants(p: float, e: float) -> tuple[float, float]:
    """``(E, L_total)`` of the Schwarzschild orbit of semi-latus rectum ``p`` and eccentricity ``e`` (``M = 1``)."""
    d = p - 3.0 - e * e
    return math.sqrt(((p - 2.0) ** 2 - 4.0 * e * e) / (p * d)), p / math.sqrt(d)


def bound_orbit_constants(
    hole: Kerr, periapsis: float, apoapsis: float, *, carter_q: float = 0.0, prograde: bool = True
) -> tuple[float, float]:
    """``(E, L)`` of the bound orbit with turning points ``r_p < r_a`` and Carter constant ``Q``.

    ``prograde``: co-rotating with the hole (``L`` of the sign of the spin; ``L > 0`` for spin 0).
    Closed form for Schwarzschild (``L^2 + Q = p^2 / (p - 3 - e^2)``, ``M = 1``);
    for Kerr, Newton's method on ``R(r_p) = R(r_a) = 0`` from the Schwarzschild
    values. Raises ``ValueError`` when no stable bound orbit has those turning points.
    """
    require_uncharged(hole, "bound orbits")
    m = hole.mass
    r_p = check_number("periapsis", periapsis, f"outside the horizon {hole.horizon:.6g}", lambda v: v > hole.horizon)
    r_a = check_number("apoapsis", apoapsis, f"> periapsis = {r_p!r}", lambda v: v > r_p)
    q = check_number("carter_q", carter_q, "finite and >= 0", lambda v: v >= 0)
    p, e = 2.0 * r_p * r_a / ((r_p + r_a) * m), (r_a - r_p) / (r_a + r_p)
    if p <= 6.0 + 2.0 * e:
        raise ValueError(
            f"periapsis = {periapsis!r} is invalid: p = {p:.6g} M <= 6 + 2e: the orbit is unstable even for spin 0"
        )
    energy, l_tot = _schwarzschild_constants(p, e)
    if l_tot * l_tot * m * m <= q:
        raise ValueError(f"carter_q = {carter_q!r} is invalid: must be < L_total^2 = {l_tot**2 * m * m:.6g}")
    sign = (1.0 if prograde else -1.0) * (1.0 if hole.spin >= 0 else -1.0)  # prograde: co-rotating
    x = np.array([energy, sign * math.sqrt(l_tot * l_tot * m * m - q)])
    a = hole.a
    for _ in range(50 if a != 0.0 else 0):
        residual, jac = np.empty(2), np.empty((2, 2))
        for i, r in enumerate((r_p, r_a)):
            big_p = x[0] * (r * r + a * a) - a * x[1]
            delta = r * r - 2.0 * m * r + a * a
            residual[i] = float(radial_potential(r, m, a, x[0], x[1], q, 1.0)) / r**4
            jac[i] = (
                (2 * big_p * (r * r + a * a) + 2 * a * delta * (x[1] - a * x[0])) / r**4,
                (-2 * a * big_p - 2 * delta * (x[1] - a * x[0])) / r**4,
            )
        dx = np.linalg.solve(jac, -residual)
        x = x + dx
        if np.all(np.abs(dx) <= 1e-15 * np.abs(x)):
            break
    energy, ang = float(x[0]), float(x[1])
    mid = 0.5 * (r_p + r_a)
    if not (energy < 1.0 and radial_potential(mid, m, a, energy, ang, q, 1.0) > 0 and np.sign(ang) == sign):
        raise ValueError(
            f"periapsis, apoapsis = {periapsis!r}, {apoapsis!r} are invalid: "
            f"no stable bound orbit for spin {hole.spin!r}"
        )
    return energy, ang


def turning_points(hole: Kerr, energy: float, angular_momentum: float, carter_q: float = 0.0) -> tuple[float, float]:
    """Periapsis and apoapsis ``(r_p, r_a)`` of the bound timelike orbit with constants ``(E, L, Q)``.

    Raises ``ValueError`` if the orbit is unbound (``E >= 1``) or plunges (fewer
    than three roots of ``R`` outside the horizon: nothing stops the fall).
    """
    require_uncharged(hole, "bound orbits")
    check_number("energy", energy, "in (0, 1): a bound orbit (E >= 1 is unbound)", lambda v: 0 < v < 1)
    m, a, e, ell, q = hole.mass, hole.a, energy, angular_momentum, carter_q
    k = (ell - a * e) ** 2 + q
    coeffs = [e * e - 1.0, 2.0 * m, a * a * (e * e - 1.0) - ell * ell - q, 2.0 * m * k, -a * a * q]
    roots = np.roots(coeffs)
    real = np.sort(roots[np.abs(roots.imag) <= 1e-7 * np.abs(roots)].real)
    for _ in range(3):  # polish with Newton: the quartic's roots span many decades at large r
        real = real - np.polyval(coeffs, real) / np.polyval(np.polyder(coeffs), real)
    outside = real[real > hole.horizon]
    if outside.size < 3 or not outside[-2] < outside[-1]:
        raise ValueError(
            f"energy, angular_momentum = {energy!r}, {angular_momentum!r} are invalid: "
            "the orbit plunges (no periapsis outside the horizon)"
        )
    return float(outside[-2]), float(outside[-1])


def periapsis_precession(
    hole: Kerr,
    energy: float,
    angular_momentum: float,
    carter_q: float = 0.0,
    *,
    n_orbits: int = 1,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    periapsis: float | None = None,
) -> Precession:
    """Integrate ``n_orbits`` radial periods from periapsis (on the equator) and measure the periapsis advance.

    ``periapsis``: the known ``r_p`` when the roots of ``R`` are ill-conditioned
    (e.g. Mercury, ``r ~ 4e7 M``); by default from :func:`turning_points`.
    The orbit starts with ``p_r = 0``; its mass shell is that of this state.
    """
    r_p, _ = turning_points(hole, energy, angular_momentum, carter_q)
    r_p = r_p if periapsis is None else periapsis
    n_orbits = int(check_number("n_orbits", n_orbits, "an integer >= 1", lambda v: v >= 1 and v == int(v)))
    y0 = np.array([0.0, r_p, 0.5 * math.pi, 0.0, 0.0, math.sqrt(carter_q)])
    orbit = integrate_geodesic(
        hole, y0, energy=energy, angular_momentum=angular_momentum, n_periapsides=n_orbits, rtol=rtol, atol=atol
    )
    if orbit.periapsides.shape[0] < n_orbits:
        raise RuntimeError(f"found {orbit.periapsides.shape[0]} of {n_orbits} periapsides (status {orbit.status})")
    peri = np.concatenate([[np.concatenate([[0.0], y0])], orbit.periapsides])  # (n_orbits + 1, 7)
    advances = math.copysign(1.0, angular_momentum) * np.diff(peri[:, 4]) - 2.0 * math.pi
    return Precession(
        float(np.mean(advances)), advances, float(peri[-1, 0] / n_orbits), float(peri[-1, 1] / n_orbits), orbit
    )


def schwarzschild_precession(semi_latus_rectum: float, eccentricity: float) -> float:
    """Exact Schwarzschild periapsis advance per orbit, ``4 sqrt(p / (p - 6 + 2e)) K(4e / (p - 6 + 2e)) - 2 pi``.

    ``p`` in units of ``M``, ``K(m)`` the complete elliptic integral of the
    first kind with parameter ``m``; ``6 pi / p`` to leading order in ``1 / p``.
    """
    p = check_number("semi_latus_rectum", semi_latus_rectum, "> 6 + 2e (a stable orbit)", lambda v: v > 6.0)
    e = check_number("eccentricity", eccentricity, "in [0, 1)", lambda v: 0.0 <= v < 1.0)
    d = p - 6.0 + 2.0 * e
    if d <= 4.0 * e:
        raise ValueError(f"semi_latus_rectum = {p!r} is invalid: must be > 6 + 2e = {6 + 2 * e:.6g}")
    return 4.0 * math.sqrt(p / d) * float(ellipk(4.0 * e / d)) - 2.0 * math.pi


def equatorial_precession(
    hole: Kerr, periapsis: float, apoapsis: float, *, prograde: bool = True, n: int = 256
) -> float:
    """Periapsis advance per orbit of an equatorial Kerr orbit by quadrature of ``dphi/dr`` over a radial period.

    ``R(r) = (1 - E^2) r (r_a - r)(r - r_p)(r - r_3)`` for ``Q = 0``; with
    ``r = p / (1 + e cos chi)`` the endpoint singularities cancel and

        Delta phi = 2 int_0^pi (a P/Delta - a E + L) sqrt(1 - e^2) dchi / ((1 + e cos chi) sqrt((1-E^2) r (r - r_3))),

    a smooth periodic integrand: the ``n``-point midpoint rule converges geometrically.
    """
    m, a = hole.mass, hole.a
    energy, ang = bound_orbit_constants(hole, periapsis, apoapsis, prograde=prograde)
    p, e = 2.0 * periapsis * apoapsis / (periapsis + apoapsis), (apoapsis - periapsis) / (apoapsis + periapsis)
    one_minus_e2 = (1.0 - energy) * (1.0 + energy)
    r3 = 2.0 * m / one_minus_e2 - periapsis - apoapsis
    chi = (np.arange(n) + 0.5) * math.pi / n
    r = p / (1.0 + e * np.cos(chi))
    delta = r * r - 2.0 * m * r + a * a
    dphi_dmino = a * (energy * (r * r + a * a) - a * ang) / delta - a * energy + ang
    integrand = dphi_dmino * math.sqrt(1.0 - e * e) / ((1.0 + e * np.cos(chi)) * np.sqrt(one_minus_e2 * r * (r - r3)))
    return math.copysign(1.0, ang) * 2.0 * math.pi * float(np.mean(integrand)) - 2.0 * math.pi
