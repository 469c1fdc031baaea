"""The metric functions a and α from the constraints, the mass function, the constraint residual.

In polar-areal coordinates (Choptuik, PRL 70, 9, 1993, eqs. 2–5)

    ds² = -α² dt² + a² dr² + r² dΩ²,

the Hamiltonian constraint and the polar slicing condition are ODEs in ``r``:

    a'/a = 2π r (Φ² + Π²) - (a² - 1) / 2r,                                       (H)
    α'/α = a'/a + (a² - 1) / r = 2π r (Φ² + Π²) + (a² - 1) / 2r.                 (S)

Both are integrated outward in ``x`` (``d/dx = r'(x) d/dr``) by classical RK4
from ``a(0) = 1`` (no conical singularity) and ``ln α(0) = 0``; ``Φ² + Π²`` at the
interval midpoints comes from cubic interpolation, so ``a`` and ``α`` are fourth
order. ``(a² - 1)/2r`` is ``O(r)`` and set to its limit 0 at ``r = 0``.

The slicing condition fixes α only up to a constant factor. It is chosen so that
``α(r_max) = 1 / a(r_max)``: outside the matter the metric is Schwarzschild with
``α a = 1``, so ``t`` is the proper time of observers at rest far out (the
normalisation of Choptuik 1993). The mass function is ``m = (r/2)(1 - 1/a²)``,
so ``2m/r = 1 - 1/a²``: a horizon forms where ``a → ∞``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from physml.simulators.collapse.grid import RadialGrid
from physml.simulators.collapse.stencils import GHOSTS, d_dx, fill_ghosts, ghosted, midpoint_value

__all__ = ["hamiltonian_residual", "mass_function", "solve_metric", "solve_metric_ghosted"]


@njit(cache=True, nogil=True)
def _coefficients(r: float, drdx: float, rho: float) -> tuple[float, float, float]:
    """``(B, C, S)`` with ``da/dx = a (C - B a²)`` and ``d ln α/dx = S + B (a² - 1)`` from (H) and (S).

    ``B = r' / 2r`` (0 at ``r = 0``, where ``(a² - 1)/2r`` vanishes), ``S = r' 2π r ρ``, ``C = S + B``.
    Written so that the chain of dependent operations through ``a`` has no division: the outward
    integration is sequential, so its latency sets the cost of the whole solve.
    """
    b = 0.0 if r == 0.0 else drdx / (2.0 * r)
    source = drdx * 2.0 * math.pi * r * rho
    return b, source + b, source


@njit(cache=True, nogil=True)
def solve_metric_ghosted(
    Phi: np.ndarray,
    Pi: np.ndarray,
    r: np.ndarray,
    drdx: np.ndarray,
    r_mid: np.ndarray,
    drdx_mid: np.ndarray,
    h: float,
    rho: np.ndarray,
    a: np.ndarray,
    alpha: np.ndarray,
) -> None:
    """Fill ghosted ``a`` and ``alpha`` (ghosts included, even parity) from ghosted ``Phi`` and ``Pi``.

    ``r``, ``drdx`` are ghosted; ``r_mid``, ``drdx_mid`` hold the ``n`` interval midpoints; ``rho`` is
    ghosted work space. The ghosts of ``Phi`` and ``Pi`` must be filled.
    """
    m = Phi.shape[0]
    for j in range(m):
        rho[j] = Phi[j] * Phi[j] + Pi[j] * Pi[j]
    a[GHOSTS] = 1.0
    alpha[GHOSTS] = 0.0  # ln α while integrating
    b1, c1, s1 = _coefficients(r[GHOSTS], drdx[GHOSTS], rho[GHOSTS])
    for j in range(GHOSTS, m - 1):
        i = j - GHOSTS
        b0, c0, s0 = b1, c1, s1
        bm, cm, sm = _coefficients(r_mid[i], drdx_mid[i], midpoint_value(rho, j))
        b1, c1, s1 = _coefficients(r[j + 1], drdx[j + 1], rho[j + 1])
        a0 = a[j]
        a1 = a0
        k1 = a1 * (c0 - b0 * a1 * a1)
        a2 = a0 + 0.5 * h * k1
        k2 = a2 * (cm - bm * a2 * a2)
        a3 = a0 + 0.5 * h * k2
        k3 = a3 * (cm - bm * a3 * a3)
        a4 = a0 + h * k3
        k4 = a4 * (c1 - b1 * a4 * a4)
        a[j + 1] = a0 + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        l1 = s0 + b0 * (a1 * a1 - 1.0)
        l2 = sm + bm * (a2 * a2 - 1.0)
        l3 = sm + bm * (a3 * a3 - 1.0)
        l4 = s1 + b1 * (a4 * a4 - 1.0)
        alpha[j + 1] = alpha[j] + h / 6.0 * (l1 + 2.0 * l2 + 2.0 * l3 + l4)
    # Normalise: α(r_max) a(r_max) = 1, so t is the proper time of distant static observers.
    shift = -math.log(a[m - 1]) - alpha[m - 1]
    for j in range(GHOSTS, m):
        alpha[j] = math.exp(alpha[j] + shift)
    fill_ghosts(a, 1.0)
    fill_ghosts(alpha, 1.0)


def _ghosted_coordinates(grid: RadialGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ghosted ``r`` and ``r'`` (mirror points included) and the midpoint ``r``, ``r'``."""
    x = np.arange(-GHOSTS, grid.n + 1) / grid.n
    r = grid.radius(x)
    r[GHOSTS:] = grid.r
    x_mid = (np.arange(grid.n) + 0.5) / grid.n
    return r, grid.jacobian(x), grid.radius(x_mid), grid.jacobian(x_mid)


def solve_metric(grid: RadialGrid, Phi: np.ndarray, Pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``α`` on the grid from the Hamiltonian constraint and polar slicing, given Φ and Π.

    Parameters
    ----------
    grid
        The radial grid.
    Phi, Pi
        ``(n + 1,)`` ``Φ = ∂_r φ`` and ``Π = (a/α) ∂_t φ`` on the grid.

    Returns
    -------
    a, alpha
        ``(n + 1,)`` each, with ``a(0) = 1`` and ``α(r_max) a(r_max) = 1``.

    Examples
    --------
    >>> g = RadialGrid(n=64, r_max=10.0)
    >>> a, alpha = solve_metric(g, np.zeros(65), np.zeros(65))
    >>> float(a.max()), float(alpha.min())
    (1.0, 1.0)
    """
    r, drdx, r_mid, drdx_mid = _ghosted_coordinates(grid)
    m = grid.n + 1 + GHOSTS
    a, alpha, rho = np.empty(m), np.empty(m), np.empty(m)
    solve_metric_ghosted(ghosted(Phi, -1.0), ghosted(Pi, 1.0), r, drdx, r_mid, drdx_mid, grid.h, rho, a, alpha)
    return a[GHOSTS:], alpha[GHOSTS:]


def mass_function(grid: RadialGrid, a: np.ndarray) -> np.ndarray:
    """Misner–Sharp mass ``m(r) = (r/2)(1 - 1/a²)``; ``m(r_max)`` is the ADM mass while no field has left."""
    return 0.5 * grid.r * (1.0 - 1.0 / np.asarray(a) ** 2)


def hamiltonian_residual(grid: RadialGrid, a: np.ndarray, Phi: np.ndarray, Pi: np.ndarray) -> np.ndarray:
    """Dimensionless residual ``r [a'/a + (a² - 1)/2r - 2π r (Φ² + Π²)]`` of the Hamiltonian constraint.

    ``a'`` is an independent discretisation: the fourth-order finite difference of the given ``a``
    (not the RK4 integration that produced it), so the residual is the truncation error of the pair,
    ``O(h⁴)`` for smooth, resolved fields; it grows when the fields lose resolution. Multiplying by
    ``r`` makes it scale-free (a self-similar solution has the same residual at every echo).

    Returns
    -------
    numpy.ndarray
        ``(n + 1,)`` residual; 0 at ``r = 0``, where every term vanishes by regularity.
    """
    a = np.asarray(a, dtype=np.float64)
    da = np.empty(grid.n + 1 + GHOSTS)
    d_dx(ghosted(a, 1.0), 1.0 / (12.0 * grid.h), da)
    r = grid.r
    drdx = grid.jacobian(grid.x)
    residual = r * (da[GHOSTS:] / (drdx * a) - 2.0 * np.pi * r * (Phi**2 + Pi**2)) + 0.5 * (a**2 - 1.0)
    residual[0] = 0.0
    return residual
