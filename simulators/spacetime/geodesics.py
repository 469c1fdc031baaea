"""Timelike and null geodesics of Kerr (Schwarzschild at ``spin = 0``): initial data, integration, invariants.

The hole is a :class:`~physml.simulators.spacetime.kerr.Kerr` (``spin = a/M``; a charged
hole is refused). Geometric units ``G = c = 1``, lengths in the unit of ``mass``;
Boyer-Lindquist coordinates; the state is ``(t, r, theta, phi, p_r, p_theta)`` with
``E = -p_t`` and ``L = p_phi`` conserved exactly (equations in
:mod:`physml.simulators.spacetime.geodesic_equations`); integration by an
adaptive Dormand-Prince 8(5,3) in Numba (:mod:`physml.kernels.dop853`).

Examples
--------
>>> from physml.simulators.spacetime import Kerr
>>> hole = Kerr(mass=1.0, spin=0.5)
>>> y0 = initial_state(hole, r=10.0, theta=1.2, energy=0.96, angular_momentum=3.0, carter_q=3.0)
>>> orbit = integrate_geodesic(hole, y0, energy=0.96, angular_momentum=3.0, lam_end=2000.0)
>>> bool(orbit.drift() < 1e-9)
True
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from physml.simulators.spacetime.geodesic_equations import (
    carter_constant,
    covariant_metric,
    mass_shell,
    polar_potential,
    radial_potential,
)
from physml.simulators.spacetime.geodesic_integrator import CAPTURED, ESCAPED, FINISHED, UNFINISHED, integrate_kernel
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import require_uncharged

__all__ = [
    "CAPTURED",
    "ESCAPED",
    "FINISHED",
    "UNFINISHED",
    "Geodesic",
    "check_number",
    "initial_state",
    "integrate_geodesic",
    "state_from_velocity",
]


def check_number(name: str, value: object, rule: str, ok) -> float:
    """``float(value)`` if it is a finite real number with ``ok(value)``; else ``ValueError`` naming ``rule``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
        raise ValueError(f"{name} = {value!r} is invalid: must be {rule}")
    return float(value)


def BlackHole(mass: float = 1.0, spin: float = 0.0) -> Kerr:
    """Deprecated: use :class:`~physml.simulators.spacetime.kerr.Kerr` (the same ``spin = a/M``); removed next release.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     BlackHole(mass=2.0, spin=0.5) == Kerr(mass=2.0, spin=0.5)
    True
    """
    warnings.warn(
        "BlackHole is deprecated and will be removed in the next release: use Kerr(mass, spin) (spin = a/M)",
        DeprecationWarning,
        stacklevel=2,
    )
    return Kerr(mass=mass, spin=spin)


@dataclass(frozen=True)
class Geodesic:
    """An integrated geodesic: accepted states (thinned by powers of two to fit), periapsides, constants.

    ``lam`` ``(n,)`` affine parameter (proper time per unit rest mass when timelike);
    ``states`` ``(n, 6)`` columns ``(t, r, theta, phi, p_r, p_theta)``, the last row the end state;
    ``periapsides`` ``(k, 7)`` rows ``(lambda, *state)`` at each periapsis met; ``mu2`` and
    ``carter_q`` are those of the initial state; ``status`` one of ``FINISHED, ESCAPED, CAPTURED, UNFINISHED``.
    """

    hole: Kerr
    energy: float
    angular_momentum: float
    mu2: float
    carter_q: float
    lam: np.ndarray
    states: np.ndarray
    periapsides: np.ndarray
    status: int
    steps: int

    def mass_shell(self) -> np.ndarray:
        """``mu^2 = -g^{mu nu} p_mu p_nu`` along the path, ``(n,)`` (1 timelike, 0 null)."""
        return mass_shell(self.states, self.hole.mass, self.hole.a, self.energy, self.angular_momentum)

    def carter_constant(self) -> np.ndarray:
        """Carter's ``Q`` along the path, ``(n,)``."""
        return carter_constant(self.states, self.hole.a, self.energy, self.angular_momentum, self.mu2)

    def drift(self) -> float:
        """Largest drift of ``mu^2`` (relative to ``E^2``) and of ``Q`` (relative to ``|Q| + L^2 + M^2 E^2``)."""
        shell = np.max(np.abs(self.mass_shell() - self.mu2)) / self.energy**2
        scale = abs(self.carter_q) + self.angular_momentum**2 + (self.hole.mass * self.energy) ** 2
        return float(max(shell, np.max(np.abs(self.carter_constant() - self.carter_q)) / scale))


def initial_state(
    hole: Kerr,
    *,
    r: float,
    theta: float,
    energy: float,
    angular_momentum: float,
    carter_q: float = 0.0,
    mu2: float = 1.0,
    outgoing: bool = True,
    northward: bool = False,
    t: float = 0.0,
    phi: float = 0.0,
) -> np.ndarray:
    """State ``(t, r, theta, phi, p_r, p_theta)`` of the geodesic with constants ``(E, L, Q)`` at ``(r, theta)``.

    ``p_r = ± sqrt(R(r)) / Delta``, ``p_theta = ± sqrt(Theta(theta))`` (signs from
    ``outgoing``; ``northward`` means decreasing ``theta``). ``mu2`` is 1 for
    timelike, 0 for null geodesics. Raises ``ValueError`` if ``r`` is not outside
    the horizon or the motion is forbidden there (``R < 0`` or ``Theta < 0``).
    """
    require_uncharged(hole, "geodesics")
    r = check_number("r", r, f"outside the horizon r_+ = {hole.horizon:.6g}", lambda v: v > hole.horizon)
    theta = check_number("theta", theta, "in (0, pi)", lambda v: 0.0 < v < math.pi)
    mu2 = check_number("mu2", mu2, "1 (timelike) or 0 (null)", lambda v: v in (0.0, 1.0))
    e, ell, q = energy, angular_momentum, carter_q
    big_r = float(radial_potential(r, hole.mass, hole.a, e, ell, q, mu2))
    big_th = float(polar_potential(theta, hole.a, e, ell, q, mu2))
    # Turning points given to rounding: accept R, Theta down to -1e-12 of their terms' size.
    r_scale = (e * (r * r + hole.a**2)) ** 2 + abs(r * r - 2 * hole.mass * r) * (
        mu2 * r * r + (ell - hole.a * e) ** 2 + abs(q)
    )
    if big_r < -1e-12 * r_scale:
        raise ValueError(f"r = {r!r} is invalid: radial motion is forbidden there, R(r) = {big_r:.6g} < 0")
    if big_th < -1e-12 * (abs(q) + ell * ell + hole.a**2 * (mu2 + e * e)):
        raise ValueError(f"theta = {theta!r} is invalid: polar motion is forbidden there, Theta = {big_th:.6g} < 0")
    delta = r * r - 2 * hole.mass * r + hole.a**2
    p_r = math.copysign(math.sqrt(max(big_r, 0.0)) / delta, 1.0 if outgoing else -1.0)
    p_th = math.copysign(math.sqrt(max(big_th, 0.0)), -1.0 if northward else 1.0)
    return np.array([t, r, theta, phi, p_r, p_th])


def state_from_velocity(
    hole: Kerr,
    *,
    position: tuple[float, float, float, float],
    velocity: tuple[float, float, float],
    null: bool = False,
) -> tuple[np.ndarray, float, float]:
    """State and ``(E, L)`` from ``position = (t, r, theta, phi)`` and ``velocity = (dr, dtheta, dphi) / dlambda``.

    ``u^t`` is the future-directed root of ``g_{mu nu} u^mu u^nu = -mu^2`` (``mu^2 = 0``
    if ``null`` else 1); then ``p_mu = g_{mu nu} u^nu``. Returns ``(state, E, L)``.
    """
    require_uncharged(hole, "geodesics")
    t, r, theta, phi = (float(v) for v in position)
    check_number("r", r, f"outside the horizon r_+ = {hole.horizon:.6g}", lambda v: v > hole.horizon)
    check_number("theta", theta, "in (0, pi)", lambda v: 0.0 < v < math.pi)
    ur, uth, uph = (float(v) for v in velocity)
    g = covariant_metric(r, theta, hole.mass, hole.a)
    rest = g[1, 1] * ur * ur + g[2, 2] * uth * uth + g[3, 3] * uph * uph + (0.0 if null else 1.0)
    disc = (g[0, 3] * uph) ** 2 - g[0, 0] * rest
    if not disc > 0.0 or g[0, 0] == 0.0:
        kind = "null" if null else "timelike"
        raise ValueError(f"velocity = {velocity!r} is invalid: no future-directed u^t makes it {kind} at r = {r!r}")
    energy = math.sqrt(disc)  # -p_t = -(g_tt u^t + g_tphi u^phi), future-directed root
    ut = (-g[0, 3] * uph - energy) / g[0, 0]
    ang = g[0, 3] * ut + g[3, 3] * uph
    return np.array([t, r, theta, phi, g[1, 1] * ur, g[2, 2] * uth]), energy, ang


def _check_tolerances(rtol: float, atol: float) -> None:
    check_number("rtol", rtol, "in [1e-15, 0.1]: a positive relative tolerance", lambda v: 1e-15 <= v <= 0.1)
    check_number("atol", atol, "finite and >= 0", lambda v: v >= 0)


def integrate_geodesic(
    hole: Kerr,
    state: np.ndarray,
    *,
    energy: float,
    angular_momentum: float,
    lam_end: float = math.inf,
    n_periapsides: int = 0,
    r_escape: float = math.inf,
    r_capture: float | None = None,
    rtol: float = 1e-12,
    atol: float = 1e-20,
    max_steps: int = 1_000_000,
    max_records: int = 100_000,
) -> Geodesic:
    """Integrate the geodesic from ``state`` until ``lam_end``, the ``n_periapsides``-th periapsis, escape or capture.

    Escape: ``r`` crosses ``r_escape`` outwards; capture: ``r < r_capture``
    (default ``1.001 r_+``; the Boyer-Lindquist equations are singular at the
    horizon). Local error per step below ``atol + rtol |y|`` (scipy's norm); the
    drift of ``mu^2`` and ``Q`` grows like the number of steps times ``rtol``.
    """
    require_uncharged(hole, "geodesics")
    _check_tolerances(rtol, atol)
    y = np.array(state, dtype=np.float64)
    if y.shape != (6,):
        raise ValueError(f"state shape = {y.shape!r} is invalid: must be (6,) = (t, r, theta, phi, p_r, p_theta)")
    check_number("r", y[1], f"outside the horizon r_+ = {hole.horizon:.6g}", lambda v: v > hole.horizon)
    r_capture = 1.001 * hole.horizon if r_capture is None else r_capture
    if not (math.isinf(lam_end) or lam_end > 0) or not (math.isinf(r_escape) or r_escape >= y[1]):
        raise ValueError(f"lam_end = {lam_end!r}, r_escape = {r_escape!r} are invalid: need lam_end > 0, r_escape >= r")
    params = np.array([hole.mass, hole.a, energy, angular_momentum], dtype=np.float64)
    mu2 = float(mass_shell(y, hole.mass, hole.a, energy, angular_momentum))
    q = float(carter_constant(y, hole.a, energy, angular_momentum, mu2))
    peri = np.empty((max(n_periapsides, 1024), 7))
    path = np.empty((max(max_records, 2), 7))
    status, lam, steps, n_peri, n_path = integrate_kernel(
        y, params, float(lam_end), rtol, atol, max_steps, r_capture, float(r_escape), n_periapsides, peri, path
    )
    path = path[:n_path]
    if n_path == 0 or path[-1, 0] != lam:  # keep the end state as the last row
        path = np.concatenate([path, np.concatenate([[lam], y])[None]])
    return Geodesic(
        hole,
        float(energy),
        float(angular_momentum),
        mu2,
        q,
        path[:, 0].copy(),
        path[:, 1:].copy(),
        peri[: min(n_peri, peri.shape[0])].copy(),
        int(status),
        int(steps),
    )
