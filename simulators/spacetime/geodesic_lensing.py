"""Light deflection by a Kerr hole in its equatorial plane: integrated from far away to far away, and exact.

A null ray with ``E = 1`` and ``L = b`` (impact parameter; ``b > 0`` orbits
about ``+z``) starts inwards at ``r_start``, turns at the periapsis ``r_0`` and
is stopped where it crosses ``r_start`` outwards (located to rounding). The
total sweep is that ``Delta phi`` plus twice the tail ``r > r_start``, which is
the exact quadrature ``int_0^{1/r_start} dphi/du du`` of a smooth integrand
(``u = 1/r``):

    dphi/du = [L + (2 M a u - a^2 L u^2) / (1 - 2 M u + a^2 u^2)] / sqrt(1 + (a^2 - L^2) u^2 + 2 M (L - a)^2 u^3),

and the deflection is ``alpha = Delta phi_total - pi``.

For Schwarzschild the exact value is Darwin's (1959, Proc. R. Soc. A 249, 180;
e.g. Bozza et al. 2001, GRG 33, 1535, eq. 3):
``alpha = -pi + 4 sqrt(r_0 / P) (K(k^2) - F(psi, k^2))``, ``P = sqrt((r_0 - 2M)(r_0 + 6M))``,
``k^2 = (P - r_0 + 6M) / (2P)``, ``sin^2 psi = (P - r_0 + 2M) / (P - r_0 + 6M)``;
weak field ``4M/b + (15 pi / 4)(M/b)^2 + O((M/b)^3)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import ellipk, ellipkinc

from physml.simulators.spacetime.geodesics import ESCAPED, check_number, initial_state, integrate_geodesic
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import require_uncharged

__all__ = ["deflection_angle", "periapsis_of_ray", "schwarzschild_deflection"]


def periapsis_of_ray(hole: Kerr, impact_parameter: float) -> float:
    """Closest approach ``r_0`` of the equatorial ray with impact parameter ``b``: largest root of ``R(r) / r``.

    ``R(r) / r = r^3 + (a^2 - b^2) r + 2 M (b - a)^2`` (``E = 1``, ``Q = 0``).
    Raises ``ValueError`` if the ray is captured (no root outside the horizon).
    """
    require_uncharged(hole, "light deflection")
    b = check_number("impact_parameter", impact_parameter, "finite and nonzero", lambda v: v != 0)
    a, m = hole.a, hole.mass
    roots = np.roots([1.0, 0.0, a * a - b * b, 2.0 * m * (b - a) ** 2])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.abs(roots)].real
    outside = real[real > hole.horizon]
    if outside.size == 0:
        raise ValueError(
            f"impact_parameter = {impact_parameter!r} is invalid: below the critical impact parameter, "
            "the ray is captured"
        )
    r0 = float(outside.max())
    cubic = [1.0, 0.0, a * a - b * b, 2.0 * m * (b - a) ** 2]
    return r0 - float(np.polyval(cubic, r0) / np.polyval(np.polyder(cubic), r0))  # one Newton polish


def _tail(hole: Kerr, b: float, r_start: float) -> float:
    """Sweep ``|Delta phi|`` of one leg between ``r_start`` and infinity (exact quadrature in ``u = 1/r``)."""
    a, m = hole.a, hole.mass

    def dphi_du(u: float) -> float:
        num = b + (2.0 * m * a * u - a * a * b * u * u) / (1.0 - 2.0 * m * u + a * a * u * u)
        return num / math.sqrt(1.0 + (a * a - b * b) * u * u + 2.0 * m * (b - a) ** 2 * u**3)

    value, _ = quad(dphi_du, 0.0, 1.0 / r_start, epsabs=0.0, epsrel=1e-13, limit=200)
    return abs(value)


def deflection_angle(
    hole: Kerr, impact_parameter: float, *, r_start: float | None = None, rtol: float = 1e-12, atol: float = 1e-20
) -> float:
    """Deflection ``alpha`` (rad) of the equatorial light ray with impact parameter ``b``, by integration.

    ``r_start`` (default ``max(20 |b|, 1000 M)``) only moves the split between
    the integrated part and the exact tail; the result does not depend on it.
    """
    r0 = periapsis_of_ray(hole, impact_parameter)
    b = float(impact_parameter)
    r_start = max(20.0 * abs(b), 1000.0 * hole.mass) if r_start is None else r_start
    check_number("r_start", r_start, f"> the periapsis r_0 = {r0:.6g}", lambda v: v > r0)
    y0 = initial_state(hole, r=r_start, theta=0.5 * math.pi, energy=1.0, angular_momentum=b, mu2=0.0, outgoing=False)
    ray = integrate_geodesic(hole, y0, energy=1.0, angular_momentum=b, r_escape=r_start, rtol=rtol, atol=atol)
    if ray.status != ESCAPED:
        raise RuntimeError(f"the ray did not come back out to r_start (status {ray.status}, {ray.steps} steps)")
    return abs(ray.states[-1, 3]) + 2.0 * _tail(hole, b, r_start) - math.pi


def schwarzschild_deflection(impact_parameter: float, mass: float = 1.0) -> float:
    """Exact Schwarzschild deflection (Darwin's elliptic integrals), ``|b| > sqrt(27) M``; ``4M/b`` to leading order."""
    m = check_number("mass", mass, "finite and > 0", lambda v: v > 0)
    b = check_number(
        "impact_parameter",
        impact_parameter,
        f"> sqrt(27) M = {math.sqrt(27) * m:.6g} (else captured)",
        lambda v: abs(v) > math.sqrt(27.0) * m,
    )
    b = abs(b)
    # Largest root of r^3 - b^2 r + 2 M b^2 (trigonometric form of the cubic).
    r0 = 2.0 * b / math.sqrt(3.0) * math.cos(math.acos(-3.0 * math.sqrt(3.0) * m / b) / 3.0)
    p = math.sqrt((r0 - 2.0 * m) * (r0 + 6.0 * m))
    p_minus_r0 = (4.0 * m * r0 - 12.0 * m * m) / (p + r0)  # P - r_0 without cancellation (-> 2M as b -> inf)
    k2 = (p_minus_r0 + 6.0 * m) / (2.0 * p)
    psi = math.asin(math.sqrt((p_minus_r0 + 2.0 * m) / (p_minus_r0 + 6.0 * m)))
    return -math.pi + 4.0 * math.sqrt(r0 / p) * (float(ellipk(k2)) - float(ellipkinc(psi, k2)))
