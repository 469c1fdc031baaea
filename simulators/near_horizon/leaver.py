"""Schwarzschild quasinormal frequencies to machine precision: Leaver's continued fraction.

The evolutions of this package measure a quasinormal frequency to 1e-5..1e-4
(``docs/black_holes.md``); the laws in ``l`` that discovery fits
(:mod:`physml.discovery.qnm`) need a reference at any ``(s, l)``, not only the
published table of :data:`~physml.simulators.near_horizon.analysis.REFERENCE_QNMS`.

Leaver (Proc. R. Soc. A 402, 285, 1985) writes the outgoing solution of the
Regge–Wheeler equation as a series whose coefficients obey a three-term
recurrence ``α_n a_{n+1} + β_n a_n + γ_n a_{n-1} = 0``; ``ω`` is a quasinormal
frequency when the series converges at spatial infinity, i.e. when the
continued fraction

    0 = β_0 − α_0 γ_1 / (β_1 − α_1 γ_2 / (β_2 − …))

vanishes. In units ``2M = 1`` with ``ρ = −iω`` (``e^{−iωt}``, ``Im ω < 0``)::

    α_n = n² + (2ρ + 2) n + 2ρ + 1
    β_n = −(2n² + (8ρ + 2) n + 8ρ² + 4ρ + l(l + 1) + 1 − s²)
    γ_n = n² + 4ρ n + 4ρ² − s²

The fraction is evaluated bottom-up from depth ``N``, starting from Nollert's
large-``n`` asymptotic remainder (Phys. Rev. D 47, 5253, 1993), which makes the
tail error of a finite depth negligible; the depth doubles until ``ω`` stops
changing. The Zerilli potential (s = 2, polar) has the same spectrum.
"""

from __future__ import annotations

import cmath
import math

import numpy as np

__all__ = ["leaver_qnm"]

#: Depth of the continued fraction to start from; doubled until the root moves less than ``tol``.
START_DEPTH = 300
MAX_DEPTH = 100_000
#: Round-off in the fraction grows with l: ~1e-11 relative at l = 200, where the doubling still converges.
MAX_ELL = 200


def _coefficients(omega: complex, s: int, ell: int, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``α_n, β_n, γ_n`` for ``ω`` in units ``2M = 1``."""
    rho = -1j * omega
    alpha = n * n + (2 * rho + 2) * n + 2 * rho + 1
    beta = -(2 * n * n + (8 * rho + 2) * n + 8 * rho * rho + 4 * rho + ell * (ell + 1) + 1 - s * s)
    gamma = n * n + 4 * rho * n + 4 * rho * rho - s * s
    return alpha, beta, gamma


def _remainder(omega: complex, depth: int) -> complex:
    """Nollert's asymptotic ``R_N = a_{N+1}/a_N ≈ −1 ± √(−2iω)/√N + (3/4 + 2iω)/N`` (``2M = 1``), root with Re > 0.

    Written for ``ρ = −iω``: ``R_N = −1 + √(2ρ) N^{−1/2} + (3/4 − 2ρ) N^{−1}``, the branch of the square root
    with positive real part (the convergent, "minimal" solution).
    """
    root = cmath.sqrt(-2j * omega)
    if root.real < 0:
        root = -root
    return -1 + root / math.sqrt(depth) + (0.75 + 2j * omega) / depth


def _fraction(omega: complex, s: int, ell: int, depth: int) -> complex:
    """``β_0 − α_0 γ_1 / (β_1 − α_1 γ_2 / (…))`` truncated at ``depth`` with Nollert's remainder."""
    n = np.arange(depth + 1, dtype=np.float64)
    alpha, beta, gamma = _coefficients(omega, s, ell, n)
    # a_{N+1}/a_N = R_N  =>  the fraction below level N is -γ_{N+1}... written as the ratio of the tail:
    # level N satisfies β_N + α_N R_N = -γ_N / R_{N-1}, so we carry t_N = β_N + α_N R_N upward.
    value = beta[depth] + alpha[depth] * _remainder(omega, depth)
    for k in range(depth, 0, -1):
        value = beta[k - 1] - alpha[k - 1] * gamma[k] / value
    return value


def _solve(s: int, ell: int, guess: complex, depth: int, tol: float) -> complex:
    """Secant iteration on the continued fraction, in units ``2M = 1``."""
    from scipy.optimize import newton

    def f(w: complex) -> complex:
        # Divide by the leading growth so the function is O(1) near the root whatever l is.
        return _fraction(w, s, ell, depth) / (ell * (ell + 1) + 1)

    return complex(newton(f, guess, x1=guess * (1 + 1e-4), tol=tol, maxiter=200))


def leaver_qnm(s: int, ell: int, *, mass: float = 1.0, tol: float = 1e-10, guess: complex | None = None) -> complex:
    """The fundamental (n = 0) Schwarzschild quasinormal frequency ``ω`` of spin ``s`` and multipole ``ell``.

    Parameters
    ----------
    s
        Spin of the field: 0 (scalar), 1 (electromagnetic) or 2 (gravitational; Regge–Wheeler and
        Zerilli share it).
    ell
        Multipole, ``ell >= s`` (and >= 0).
    mass
        Hole mass ``M``: ``ω`` scales as ``1/M``.
    tol
        Relative change of ``ω`` between continued-fraction depths that ends the doubling.
    guess
        Starting ``M ω`` (default: the eikonal estimate ``(l + 1/2 − i/2)/√27``).

    Returns
    -------
    complex
        ``ω`` (``Re ω > 0``, ``Im ω < 0``: ``e^{−iωt}``) for a hole of mass ``mass``, so ``mass * ω`` is
        the dimensionless ``M ω``.
    """
    if s not in (0, 1, 2):
        raise ValueError(f"s = {s!r} is invalid: the spin must be 0, 1 or 2")
    if isinstance(ell, bool) or int(ell) != ell or not s <= ell <= MAX_ELL:
        raise ValueError(f"ell = {ell!r} is invalid: need an integer with s = {s} <= ell <= {MAX_ELL}")
    if not (math.isfinite(mass) and mass > 0):
        raise ValueError(f"mass = {mass!r} is invalid: need a finite M > 0")
    if not 0 < tol < 1e-3:
        raise ValueError(f"tol = {tol!r} is invalid: need 0 < tol < 1e-3")
    ell = int(ell)
    big_l = ell + 0.5
    start = (big_l - 0.5j) / math.sqrt(27) if guess is None else complex(guess)
    omega = 2 * start  # units 2M = 1
    depth, previous = START_DEPTH, None
    while depth <= MAX_DEPTH:
        omega = _solve(s, ell, omega, depth, tol * 1e-2 * abs(omega))
        if previous is not None and abs(omega - previous) <= tol * abs(omega):
            break
        previous, depth = omega, 2 * depth
    else:
        raise ValueError(f"ell = {ell!r}: the continued fraction did not converge by depth {MAX_DEPTH}")
    if not (omega.real > 0 and omega.imag < 0):
        raise ValueError(f"guess = {guess!r} is invalid: the root found, M omega = {omega / 2}, is not a decaying mode")
    return omega / 2 / mass
