"""Method of lines in ``(t, r*)``: fourth-order finite differences and classical RK4.

The wave equation ``∂²ψ/∂t² = ∂²ψ/∂r*² - V ψ`` is written as the first-order
system ``∂t ψ = π``, ``∂t π = D₂ψ - V ψ`` with the centred fourth-order stencil

    D₂ψ_i = (-ψ_{i-2} + 16ψ_{i-1} - 30ψ_i + 16ψ_{i+1} - ψ_{i+2}) / (12 h²),

and advanced by RK4, so the scheme is fourth order in ``h`` at fixed Courant
number ``dt / h``. The Fourier symbol of ``D₂`` reaches ``-16/(3h²)``, so the
system's eigenvalues reach ``±i √(16/3) / h``; RK4 is stable on the imaginary
axis up to ``2√2``, which gives the Courant limit ``dt / h < √(3/2) ≈ 1.2247``.

The two outermost points at each end are held at zero. The caller sizes the
domain so that nothing reflected there can reach an extraction point before
the run ends (see :func:`physml.simulators.near_horizon.run.causal_domain`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["MAX_COURANT", "interpolation_stencil", "mol_advance", "second_derivative"]

#: RK4 stability limit of the fourth-order wave operator, ``dt / h < sqrt(3/2)``.
MAX_COURANT = math.sqrt(1.5)

#: Points of the Lagrange interpolation used to read ψ between grid points (order 6).
STENCIL = 6


def second_derivative(psi: np.ndarray, h: float) -> np.ndarray:
    """``D₂ψ`` along the last axis at the interior points (two fewer at each end): the scheme's stencil."""
    stencil = -psi[..., :-4] + 16 * psi[..., 1:-3] - 30 * psi[..., 2:-2] + 16 * psi[..., 3:-1] - psi[..., 4:]
    return stencil / (12 * h * h)


@njit(cache=True, nogil=True)
def mol_advance(
    psi: np.ndarray,
    pi: np.ndarray,
    potential: np.ndarray,
    h: float,
    dt: float,
    n_steps: int,
    sample_every: int,
    stencil_index: np.ndarray,
    stencil_weight: np.ndarray,
    samples: np.ndarray,
    first_sample: int,
    first_step: int,
) -> int:
    """Take ``n_steps`` RK4 steps in place, recording interpolated ψ every ``sample_every`` steps.

    Parameters
    ----------
    psi, pi
        ``(n,)`` ψ and ∂tψ on the uniform ``r*`` grid, updated in place; points 0, 1, n-2, n-1 stay as given.
    potential
        ``(n,)`` ``V`` on the grid.
    h, dt
        Grid spacing and time step.
    n_steps, sample_every, first_step
        Steps to take; a sample is taken after every step whose global index
        (``first_step`` + steps taken) is a multiple of ``sample_every``.
    stencil_index, stencil_weight
        ``(n_obs, STENCIL)`` interpolation stencils of the extraction points.
    samples
        ``(n_obs, n_samples)`` output; columns from ``first_sample`` on are filled.

    Returns
    -------
    int
        Index of the next sample column.
    """
    # One fused pass per RK4 stage: read the stage input, accumulate the weighted slope into the
    # result, and write the next stage's input into the other buffer (ping-pong, since the stencil
    # reads neighbours). 4.5x faster than separate slope and update passes (docs/benchmarks.md).
    n = psi.shape[0]
    c = 1.0 / (12.0 * h * h)
    weights = (dt / 6.0, dt / 3.0, dt / 3.0, dt / 6.0)
    offsets = (0.5 * dt, 0.5 * dt, dt, 0.0)
    stage_psi, stage_pi = psi.copy(), pi.copy()
    next_psi, next_pi = psi.copy(), pi.copy()
    sum_psi, sum_pi = psi.copy(), pi.copy()
    column = first_sample
    for step in range(n_steps):
        for i in range(n):
            stage_psi[i] = sum_psi[i] = psi[i]
            stage_pi[i] = sum_pi[i] = pi[i]
        for stage in range(4):
            w, offset = weights[stage], offsets[stage]
            for i in range(2, n - 2):
                slope_psi = stage_pi[i]
                slope_pi = (
                    -stage_psi[i - 2]
                    + 16.0 * stage_psi[i - 1]
                    - 30.0 * stage_psi[i]
                    + 16.0 * stage_psi[i + 1]
                    - stage_psi[i + 2]
                ) * c - potential[i] * stage_psi[i]
                sum_psi[i] += w * slope_psi
                sum_pi[i] += w * slope_pi
                next_psi[i] = psi[i] + offset * slope_psi
                next_pi[i] = pi[i] + offset * slope_pi
            stage_psi, next_psi = next_psi, stage_psi
            stage_pi, next_pi = next_pi, stage_pi
        for i in range(2, n - 2):
            psi[i] = sum_psi[i]
            pi[i] = sum_pi[i]
        if (first_step + step + 1) % sample_every == 0:
            for o in range(stencil_index.shape[0]):
                value = 0.0
                for s in range(stencil_index.shape[1]):
                    value += stencil_weight[o, s] * psi[stencil_index[o, s]]
                samples[o, column] = value
            column += 1
    return column


def interpolation_stencil(grid: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Lagrange weights reading a uniform-grid function at ``points`` to order ``STENCIL``.

    Returns ``(index, weight)``, each ``(len(points), STENCIL)``; the stencil is
    centred on the point and shifted inwards near the ends.
    """
    if len(grid) < STENCIL:
        raise ValueError(f"grid has {len(grid)} points: interpolation needs at least {STENCIL}")
    h = grid[1] - grid[0]
    points = np.atleast_1d(np.asarray(points, dtype=np.float64))
    outside = points[(points < grid[0] - 1e-9 * h) | (points > grid[-1] + 1e-9 * h)]
    if outside.size:
        raise ValueError(
            f"points = {outside.tolist()[:3]} are invalid: outside the grid [{grid[0]:g}, {grid[-1]:g}] "
            "(interpolation does not extrapolate)"
        )
    start = np.floor((points - grid[0]) / h).astype(np.int64) - (STENCIL // 2 - 1)
    start = np.clip(start, 0, len(grid) - STENCIL)
    index = start[:, None] + np.arange(STENCIL)[None, :]
    nodes = grid[index]
    weight = np.ones_like(nodes)
    for a in range(STENCIL):
        for b in range(STENCIL):
            if a != b:
                weight[:, a] *= (points - nodes[:, b]) / (nodes[:, a] - nodes[:, b])
    return index, weight
