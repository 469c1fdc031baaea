"""Finite differences on the mapped radial grid: fourth-order derivatives, parity ghosts, dissipation.

All kernels act on *ghosted* arrays: index ``j = i + GHOSTS`` holds grid point
``i = 0 .. n`` and indices ``0 .. GHOSTS - 1`` hold the mirror points
``x = -x_k``. Derivatives are the standard fourth-order stencils in the uniform
coordinate ``x`` (spacing ``h``):

    centred      f'_i = (f_{i-2} - 8 f_{i-1} + 8 f_{i+1} - f_{i+2}) / 12h          (i <= n - 2)
    one-sided    f'_{n-1} = (-f_{n-4} + 6 f_{n-3} - 18 f_{n-2} + 10 f_{n-1} + 3 f_n) / 12h
                 f'_n = (3 f_{n-4} - 16 f_{n-3} + 36 f_{n-2} - 48 f_{n-1} + 25 f_n) / 12h

and the radial derivative is ``f'_i / r'(x_i)`` (fourth order in ``h``). Near the
centre the stencils read the ghosts, which hold ``f(-x_k) = ±f(x_k)`` for even
(``+``: Π, φ, a, α) or odd (``-``: Φ) fields: that is the regularity condition at
``r = 0`` (Φ(0) = 0 and even fields have zero slope follow automatically).

Kreiss–Oliger dissipation of order six (Kreiss & Oliger 1973; Gustafsson,
Kreiss & Oliger §12) adds ``σ / (64 Δr_i) Δ⁶ f_i`` to each right-hand side, with
``Δ⁶`` the undivided sixth difference in ``x`` and ``Δr_i = h r'(x_i)`` the local
spacing. It damps the grid-scale mode at rate ``σ / Δr`` and is ``O(h⁵)`` on smooth
fields, below the scheme's truncation error; it reads the parity ghosts at the
centre and is switched off on the three outermost points.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["GHOSTS", "add_dissipation", "d_dx", "fill_ghosts", "ghosted", "midpoint_value"]

#: Ghost points in front of ``r = 0`` (the sixth-order dissipation stencil reaches three points).
GHOSTS = 3


def ghosted(values: np.ndarray, parity: float) -> np.ndarray:
    """Copy ``(n + 1,)`` grid values into a ghosted ``(n + 1 + GHOSTS,)`` array with parity ghosts."""
    out = np.empty(values.shape[0] + GHOSTS)
    out[GHOSTS:] = values
    fill_ghosts(out, parity)
    return out


@njit(cache=True, nogil=True)
def fill_ghosts(f: np.ndarray, parity: float) -> None:
    """Set ``f(-x_k) = parity · f(x_k)`` for ``k = 1 .. GHOSTS`` (``parity`` is ``+1`` or ``-1``)."""
    for k in range(1, GHOSTS + 1):
        f[GHOSTS - k] = parity * f[GHOSTS + k]


@njit(cache=True, nogil=True)
def d_dx(f: np.ndarray, inv_12h: float, out: np.ndarray) -> None:
    """Fourth-order ``∂_x f`` at every grid point (ghosts of ``f`` must be filled; ghosts of ``out`` untouched)."""
    m = f.shape[0]
    for j in range(GHOSTS, m - 2):
        out[j] = (f[j - 2] - 8.0 * f[j - 1] + 8.0 * f[j + 1] - f[j + 2]) * inv_12h
    j = m - 2
    out[j] = (-f[j - 3] + 6.0 * f[j - 2] - 18.0 * f[j - 1] + 10.0 * f[j] + 3.0 * f[j + 1]) * inv_12h
    j = m - 1
    out[j] = (3.0 * f[j - 4] - 16.0 * f[j - 3] + 36.0 * f[j - 2] - 48.0 * f[j - 1] + 25.0 * f[j]) * inv_12h


@njit(cache=True, nogil=True)
def add_dissipation(f: np.ndarray, coefficient: np.ndarray, out: np.ndarray) -> None:
    """``out_j += coefficient_j · Δ⁶ f_j`` for all but the three outermost points (``coefficient = σ / 64 Δr``)."""
    m = f.shape[0]
    for j in range(GHOSTS, m - 3):
        out[j] += coefficient[j] * (
            f[j - 3] - 6.0 * f[j - 2] + 15.0 * f[j - 1] - 20.0 * f[j] + 15.0 * f[j + 1] - 6.0 * f[j + 2] + f[j + 3]
        )


@njit(cache=True, nogil=True)
def midpoint_value(f: np.ndarray, j: int) -> float:
    """Fourth-order value of ``f`` half-way between ghosted indices ``j`` and ``j + 1`` (cubic Lagrange).

    Centred weights ``(-1, 9, 9, -1) / 16``; in the last interval, where ``j + 2`` is off the grid,
    the stencil shifts inwards: ``(1, -5, 15, 5) / 16`` on ``j - 2 .. j + 1``.
    """
    if j + 2 < f.shape[0]:
        return (-f[j - 1] + 9.0 * f[j] + 9.0 * f[j + 1] - f[j + 2]) * 0.0625
    return (f[j - 2] - 5.0 * f[j - 1] + 15.0 * f[j] + 5.0 * f[j + 1]) * 0.0625
