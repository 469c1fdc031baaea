"""The Gundlach–Price–Pullin double-null scheme (PRD 49, 883, 1994, eq. 3.3).

In null coordinates ``u = t - r*``, ``v = t + r*`` the wave equation reads
``-4 ∂u∂v ψ = V ψ``. On a grid of null cells of side ``h`` (in ``u`` and in
``v``), with ``S = (u, v)``, ``E = (u, v + h)``, ``W = (u + h, v)`` and
``N = (u + h, v + h)``,

    ψ_N = ψ_W + ψ_E - ψ_S - (h²/8) V(r*_c) (ψ_W + ψ_E),

where ``r*_c = (v - u)/2`` is the cell centre. The local error is O(h⁴) per cell
and there are O(h⁻²) cells, so the scheme is second order overall. It needs no
boundary conditions: data on the two null rays ``u = u0`` and ``v = v0`` fix the
solution in the whole quadrant of cells, which is marched one ``u`` row at a
time, keeping one row in memory.

Every cell centre on a diagonal ``j - i = k`` has the same ``r*``, so the
potential is tabulated once per diagonal, and a waveform at fixed ``r*`` is one
diagonal, sampled every ``h`` in ``t = (u + v)/2``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["march_double_null"]


@njit(cache=True, nogil=True)
def march_double_null(
    on_u0: np.ndarray,
    on_v0: np.ndarray,
    potential: np.ndarray,
    h: float,
    diagonals: np.ndarray,
) -> np.ndarray:
    """March the GPP scheme over the ``(n_u, n_v)`` quadrant and record ψ on chosen diagonals.

    Parameters
    ----------
    on_u0
        ``(n_v,)`` data ``ψ(u0, v0 + j h)`` on the outgoing null ray ``u = u0`` (it carries an
        ingoing pulse as a function of ``v``).
    on_v0
        ``(n_u,)`` data ``ψ(u0 + i h, v0)`` on the ingoing null ray ``v = v0``; ``on_v0[0]`` must equal
        ``on_u0[0]``.
    potential
        ``(n_u + n_v - 1,)`` ``V`` at the cell centres of diagonal ``k = j - i``, stored at index ``k + n_u - 1``.
    h
        Null grid spacing.
    diagonals
        ``(n_obs,)`` diagonals ``k`` to record.

    Returns
    -------
    ndarray
        ``(n_obs, n_u)``: row ``o``, column ``i`` holds ``ψ(u_i, v_{i + k_o})`` (NaN where ``j`` is off the grid).
    """
    n_u, n_v = on_v0.shape[0], on_u0.shape[0]
    out = np.full((diagonals.shape[0], n_u), np.nan)
    row = on_u0.copy()  # psi(u_i, v_j) for the current i, all j
    c = h * h / 8.0
    offset = n_u - 1
    for o in range(diagonals.shape[0]):
        if 0 <= diagonals[o] < n_v:
            out[o, 0] = row[diagonals[o]]
    for i in range(n_u - 1):
        # Advance row i -> i + 1. west = psi(u_{i+1}, v_j); south = psi(u_i, v_j) before it is overwritten.
        west = on_v0[i + 1]
        south = row[0]
        row[0] = west
        for j in range(n_v - 1):
            east = row[j + 1]
            north = west + east - south - c * potential[j - i + offset] * (west + east)
            south = east
            row[j + 1] = north
            west = north
        for o in range(diagonals.shape[0]):
            j = i + 1 + diagonals[o]
            if 0 <= j < n_v:
                out[o, i + 1] = row[j]
    return out
