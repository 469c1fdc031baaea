"""Christoffel symbols from finite differences of the evaluated metric: an independent check of the derivation.

    ∂_c g_ab ≈ [g(x − 2h e_c) − 8 g(x − h e_c) + 8 g(x + h e_c) − g(x + 2h e_c)] / (12 h)    (error O(h⁴)),
    Γ^a_bc = ½ g^ad (∂_b g_dc + ∂_c g_db − ∂_d g_bc),

with ``g^ad`` from ``numpy.linalg.inv`` of the evaluated ``g_ab`` (so the symbolic inverse is checked too).
"""

from __future__ import annotations

import numpy as np

from physml.simulators.spacetime.metric import Metric, check_positive

__all__ = ["finite_difference_christoffel"]

#: Central 4th-order first-derivative stencil: offsets (in h) and weights (times 1/(12 h)).
STENCIL = ((-2, 1.0), (-1, -8.0), (1, 8.0), (2, -1.0))


def finite_difference_christoffel(metric: Metric, points: np.ndarray, h: float) -> np.ndarray:
    """``Γ^a_bc`` ``(..., 4, 4, 4)`` at ``points`` ``(..., 4)`` from 4th-order central differences of step ``h``.

    Every stencil point must lie in the chart's regular domain (it is checked like any evaluation).
    """
    h = check_positive("h", h)
    pts = np.asarray(points, dtype=np.float64)
    g = metric.metric(pts)
    dg = np.zeros((*pts.shape[:-1], 4, 4, 4))  # dg[..., a, b, c] = ∂_c g_ab
    for c in range(4):
        for offset, weight in STENCIL:
            shifted = pts.copy()
            shifted[..., c] += offset * h
            dg[..., c] += weight * metric.metric(shifted)
    dg /= 12 * h
    low = 0.5 * (dg + np.swapaxes(dg, -1, -2) - np.moveaxis(dg, -1, -3))  # Γ_dbc = ½(∂_c g_db + ∂_b g_dc − ∂_d g_bc)
    return np.einsum("...ad,...dbc->...abc", np.linalg.inv(g), low)
