"""Method of lines for the Einstein–massless-scalar system in polar-areal coordinates (Numba).

The evolved variables are ``Φ = ∂_r φ``, ``Π = (a/α) ∂_t φ`` and ``φ`` itself
(Choptuik, PRL 70, 9, 1993, eqs. 6–7):

    ∂_t Φ = ∂_r (α Π / a),
    ∂_t Π = r⁻² ∂_r (r² α Φ / a) = 3 ∂(r² α Φ / a) / ∂(r³),
    ∂_t φ = α Π / a.

Every right-hand side evaluation first solves the constraints for ``a`` and ``α``
(:mod:`physml.simulators.collapse.metric`). Spatial derivatives are fourth
order (:mod:`physml.simulators.collapse.stencils`); ``∂_t Π`` uses the
``d/d(r³)`` form, ``D_x(r² αΦ/a) / (r² r')``, which stays regular next to the
centre, and at ``r = 0`` its limit ``3 ∂_r(αΦ/a)``. Parity ghosts (Φ odd; Π, φ, a,
α even) impose regularity at the centre. At ``r_max`` the outgoing-radiation
(Sommerfeld) condition ``∂_t u + c (∂_r u + u / r) = 0`` with the local light
speed ``c = α / a`` holds for ``u = φ, Φ, Π``. Sixth-order Kreiss–Oliger
dissipation damps grid-scale noise. Time stepping is classical RK4, so the
scheme is fourth order in ``h`` at fixed ``dt / Δr_min``.

:func:`advance` takes many steps in one call and watches the run after every
step: the largest compactness ``2m/r = 1 - 1/a²``, the central lapse, the
central proper time ``T = ∫ α(t, 0) dt`` (trapezoid rule), and a record of
central values for the echo analysis.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from physml.simulators.collapse.metric import solve_metric_ghosted
from physml.simulators.collapse.stencils import GHOSTS, add_dissipation, d_dx, fill_ghosts

__all__ = ["DISPERSED", "HORIZON", "LAPSE_COLLAPSE", "NONFINITE", "RECORDED", "RUNNING", "advance", "rhs"]

#: Status codes returned by :func:`advance`.
RUNNING, HORIZON, LAPSE_COLLAPSE, DISPERSED, NONFINITE = 0, 1, 2, 3, 4

#: Columns of the per-step record: t, central proper time T, α(0), φ(0), Π(0), max 2m/r, its radius.
RECORDED = ("t", "T", "alpha_c", "phi_c", "Pi_c", "compactness", "r_compact")


@njit(cache=True, nogil=True)
def rhs(
    phi: np.ndarray,
    Phi: np.ndarray,
    Pi: np.ndarray,
    geometry: np.ndarray,
    h: float,
    work: np.ndarray,
    a: np.ndarray,
    alpha: np.ndarray,
    dphi: np.ndarray,
    dPhi: np.ndarray,
    dPi: np.ndarray,
    local_speed: bool,
) -> None:
    """Time derivatives of ghosted ``phi``, ``Phi``, ``Pi`` (ghosts refilled here); also fills ``a``, ``alpha``.

    ``geometry`` rows: ghosted ``r``, ``r'``, ``1/r'``, dissipation coefficient ``σ / 64 Δr``, and the
    ``n`` midpoint ``r``, ``r'`` (padded). ``work`` is ``(8, m)`` scratch. With ``local_speed`` the
    dissipation is scaled by the local light speed ``α / a``: it then damps at ``σ α / (a Δr)``, the rate
    a step at the local Courant limit resolves (:func:`advance` with ``courant > 0``).
    """
    m = phi.shape[0]
    n = m - GHOSTS - 1
    r, drdx, inv_drdx, ko = geometry[0], geometry[1], geometry[2], geometry[3]
    r_mid, drdx_mid = geometry[4, :n], geometry[5, :n]
    flux_phi, flux_pi, flux_r2, d_flux_phi, d_flux_pi, d_flux_r2, rho = (
        work[0],
        work[1],
        work[2],
        work[3],
        work[4],
        work[5],
        work[6],
    )
    fill_ghosts(phi, 1.0)
    fill_ghosts(Phi, -1.0)
    fill_ghosts(Pi, 1.0)
    solve_metric_ghosted(Phi, Pi, r, drdx, r_mid, drdx_mid, h, rho, a, alpha)
    for j in range(GHOSTS, m):
        ratio = alpha[j] / a[j]
        flux_pi[j] = ratio * Pi[j]  # α Π / a  (even)
        flux_phi[j] = ratio * Phi[j]  # α Φ / a  (odd)
        flux_r2[j] = r[j] * r[j] * flux_phi[j]  # r² α Φ / a  (odd)
    fill_ghosts(flux_pi, 1.0)
    fill_ghosts(flux_phi, -1.0)
    fill_ghosts(flux_r2, -1.0)
    inv_12h = 1.0 / (12.0 * h)
    d_dx(flux_pi, inv_12h, d_flux_pi)
    d_dx(flux_phi, inv_12h, d_flux_phi)
    d_dx(flux_r2, inv_12h, d_flux_r2)
    for j in range(GHOSTS, m):
        dPhi[j] = d_flux_pi[j] * inv_drdx[j]
        dphi[j] = flux_pi[j]
    dPi[GHOSTS] = 3.0 * d_flux_phi[GHOSTS] * inv_drdx[GHOSTS]
    for j in range(GHOSTS + 1, m):
        dPi[j] = d_flux_r2[j] * inv_drdx[j] / (r[j] * r[j])
    # Outgoing radiation at r_max: u(t, r) ≈ f(t - r/c) / r for u = φ, Φ, Π.
    j = m - 1
    c = alpha[j] / a[j]
    for u, du in ((phi, dphi), (Phi, dPhi), (Pi, dPi)):
        slope = (3.0 * u[j - 4] - 16.0 * u[j - 3] + 36.0 * u[j - 2] - 48.0 * u[j - 1] + 25.0 * u[j]) * inv_12h
        du[j] = -c * (slope * inv_drdx[j] + u[j] / r[j])
    if local_speed:
        scaled = work[7]
        for j in range(GHOSTS, m):
            scaled[j] = ko[j] * alpha[j] / a[j]
        ko = scaled
    add_dissipation(phi, ko, dphi)
    add_dissipation(Phi, ko, dPhi)
    add_dissipation(Pi, ko, dPi)


@njit(cache=True, nogil=True)
def advance(
    state: np.ndarray,
    geometry: np.ndarray,
    h: float,
    dt: float,
    n_steps: int,
    t0: float,
    watch: np.ndarray,
    thresholds: np.ndarray,
    probe: int,
    record: np.ndarray,
    a: np.ndarray,
    alpha: np.ndarray,
    courant: float = 0.0,
    t_end: float = math.inf,
) -> tuple[int, int]:
    """Take up to ``n_steps`` RK4 steps of ghosted ``state = (φ, Φ, Π)`` in place, stopping on an event.

    Parameters
    ----------
    state
        ``(3, m)`` ghosted φ, Φ, Π (``m = n + 1 + GHOSTS``).
    geometry, h
        See :func:`rhs`; ``h = 1/n``.
    dt, n_steps, t0
        Time step (the largest one when ``courant > 0``), most steps to take, time of the state on entry.
    watch
        ``[T, α_c before, peak inner compactness, t, last dt]`` carried between calls (α_c before: NaN at
        the start); ``watch[3]`` is the time of the state on return.
    thresholds
        ``[horizon 2m/r, lapse floor, dispersal ratio]``; a ratio of 0 never stops on dispersal.
    probe
        Ghosted index of the outermost point whose compactness counts for dispersal.
    record
        ``(n_steps, len(RECORDED))`` filled with the state at the start of each step taken.
    a, alpha
        Ghosted metric of the state on return.
    courant, t_end
        With ``courant > 0`` each step is ``courant · min_r(Δr a / α)``, the local light-crossing time
        of the grid's cells (at most ``dt``), clipped so that the run lands on ``t_end``, and dissipation
        is scaled by the local light speed. Near criticality the central lapse falls, so steps grow
        there while the grid zooms in (:mod:`physml.simulators.collapse.refinement`).

    Returns
    -------
    status, steps
        An event code (``RUNNING`` when all steps were taken) and the steps taken. On an event the
        state is the one that triggered it (no further step taken).
    """
    if watch.shape[0] < 5:  # Numba does not check bounds: a short watch would be overwritten past its end
        raise ValueError("watch must hold 5 values: T, alpha_c before, peak inner compactness, t, last dt")
    m = state.shape[1]
    y = state.copy()
    k = np.zeros((3, m))
    acc = np.zeros((3, m))
    work = np.zeros((8, m))
    local_speed = courant > 0.0
    drdx = geometry[1]
    t, dt_max = t0, dt
    steps = n_steps
    for step in range(n_steps):
        if local_speed and t_end - t <= 1e-12 * max(1.0, abs(t_end)):
            steps = step
            break
        rhs(state[0], state[1], state[2], geometry, h, work, a, alpha, k[0], k[1], k[2], local_speed)
        # -- watch the state about to be advanced
        checksum = 0.0
        a_max, j_max, inner_max = 1.0, GHOSTS, 1.0
        for j in range(GHOSTS, m):
            checksum += state[1, j] + state[2, j] + a[j]
            if a[j] > a_max:
                a_max, j_max = a[j], j
            if j <= probe and a[j] > inner_max:
                inner_max = a[j]
        alpha_c = alpha[GHOSTS]
        if not math.isfinite(checksum) or not math.isfinite(alpha_c):
            return NONFINITE, step
        if not math.isnan(watch[1]):
            watch[0] += 0.5 * watch[4] * (watch[1] + alpha_c)
        watch[1] = alpha_c
        compactness = 1.0 - 1.0 / (a_max * a_max)
        inner = 1.0 - 1.0 / (inner_max * inner_max)
        watch[2] = max(watch[2], inner)
        record[step, 0] = t
        record[step, 1] = watch[0]
        record[step, 2] = alpha_c
        record[step, 3] = state[0, GHOSTS]
        record[step, 4] = state[2, GHOSTS]
        record[step, 5] = compactness
        record[step, 6] = geometry[0, j_max]
        if compactness >= thresholds[0]:
            return HORIZON, step
        if alpha_c <= thresholds[1]:
            return LAPSE_COLLAPSE, step
        if thresholds[2] > 0.0 and inner < thresholds[2] * watch[2]:
            return DISPERSED, step
        step_dt = dt_max
        if local_speed:
            for j in range(GHOSTS, m):
                crossing = courant * h * drdx[j] * a[j] / alpha[j]
                if crossing < step_dt:
                    step_dt = crossing
            step_dt = min(step_dt, t_end - t)
        dt = step_dt
        # -- classical RK4
        for v in range(3):
            for j in range(GHOSTS, m):
                y[v, j] = state[v, j]
                acc[v, j] = state[v, j] + dt / 6.0 * k[v, j]
                state[v, j] = y[v, j] + 0.5 * dt * k[v, j]
        for weight, offset in ((dt / 3.0, 0.5 * dt), (dt / 3.0, dt), (dt / 6.0, 0.0)):
            rhs(state[0], state[1], state[2], geometry, h, work, a, alpha, k[0], k[1], k[2], local_speed)
            for v in range(3):
                for j in range(GHOSTS, m):
                    acc[v, j] += weight * k[v, j]
                    state[v, j] = y[v, j] + offset * k[v, j]
        for v in range(3):
            for j in range(GHOSTS, m):
                state[v, j] = acc[v, j]
        t += dt
        watch[3], watch[4] = t, dt
    fill_ghosts(state[0], 1.0)
    fill_ghosts(state[1], -1.0)
    fill_ghosts(state[2], 1.0)
    solve_metric_ghosted(
        state[1],
        state[2],
        geometry[0],
        geometry[1],
        geometry[4, : m - GHOSTS - 1],
        geometry[5, : m - GHOSTS - 1],
        h,
        work[6],
        a,
        alpha,
    )
    return RUNNING, steps
