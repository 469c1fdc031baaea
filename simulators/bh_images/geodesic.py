"""Null geodesics of Kerr in Hamiltonian form, integrated by Dormand-Prince 5(4) with event location.

The step, its error norm and the step-size controller are those of :data:`physml.kernels.dp54.DP54`
(scipy's ``RK45``); this module owns the right-hand side, the loop and the events.

Units ``M = 1`` (callers divide lengths by the mass). With ``E = -p_t = 1`` and
``L = p_phi = xi`` conserved, the state is ``y = (r, theta, p_r, p_theta)`` and

    H = F / (2 Sigma),
    F = Delta p_r^2 + p_theta^2 - W^2 / Delta + (xi - a sin^2 theta)^2 / sin^2 theta,

with ``Sigma = r^2 + a^2 cos^2 theta``, ``Delta = r^2 - 2r + a^2``,
``W = r^2 + a^2 - a xi`` (Carter 1968; e.g. Pu et al. 2016, ApJ 820, 105,
eqs. 8-13). ``dy/dlambda = (dH/dp_r, dH/dp_theta, -dH/dr, -dH/dtheta)``.
Unlike the ``(dr/dlambda)^2 = R(r)`` form this has no sign flips at turning
points. ``phi`` and ``t`` are ignorable and not integrated (the scene is
axisymmetric and static). Reversing a ray's momentum leaves ``r, theta`` motion
unchanged, so a ray is traced backwards from the camera with the same equations.

Kernels take raw arrays and scalars only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from physml.kernels.dormand_prince import dormand_prince, illinois
from physml.kernels.dp54 import DP54

__all__ = ["CAPTURED", "DISK", "ESCAPED", "UNFINISHED", "initial_state", "integrate_ray", "null_rhs"]

#: Ray fates (``status`` codes).
ESCAPED, CAPTURED, DISK, UNFINISHED = 0, 1, 2, 3

_DP54 = dormand_prince(DP54, 4)
_step, _error_norm, _next_step = _DP54.step, _DP54.error_norm, _DP54.next_step


@njit(cache=True)
def null_rhs(lam: float, y: np.ndarray, params: tuple[float, float], out: np.ndarray) -> None:
    """Hamilton's equations for ``y = (r, theta, p_r, p_theta)`` into ``out``; ``params = (a, xi)``.

    The full flow, so ``H`` is conserved off the null shell too; ``lam`` is unused (the flow is autonomous).
    """
    a, xi = params
    r, th, pr, pth = y[0], y[1], y[2], y[3]
    s, c = math.sin(th), math.cos(th)
    s2 = s * s
    sigma = r * r + a * a * c * c
    delta = r * r - 2.0 * r + a * a
    w = r * r + a * a - a * xi
    # xi^2/sin^2 and its derivative vanish identically for xi = 0 (rays through the pole).
    v = a * a * s2 - 2.0 * a * xi + (xi * xi / s2 if xi != 0.0 else 0.0)
    dv = 2.0 * a * a * s * c - (2.0 * xi * xi * c / (s2 * s) if xi != 0.0 else 0.0)
    f = delta * pr * pr + pth * pth - w * w / delta + v
    df_dr = (2.0 * r - 2.0) * (pr * pr + w * w / (delta * delta)) - 4.0 * r * w / delta
    out[0] = delta * pr / sigma
    out[1] = pth / sigma
    # -dH/dx = -F_x / (2 Sigma) + F Sigma_x / (2 Sigma^2); the second term is 0 on shell but keeps H exact.
    out[2] = -df_dr / (2.0 * sigma) + f * r / (sigma * sigma)
    out[3] = -dv / (2.0 * sigma) - f * a * a * c * s / (sigma * sigma)


@njit(cache=True)
def _event(kind: int, y: np.ndarray, target: float) -> float:
    # kind 0: equatorial plane (cos theta = 0); 1: radius r = target; 2: radial turning point p_r = 0.
    if kind == 0:
        return math.cos(y[1])
    return y[0] - target if kind == 1 else y[2]


@njit(cache=True)
def _locate(y0, f0, h, params, kind, target, g0, g1, k, out) -> float:
    """Illinois root-finding on the step size ``s`` in ``(0, h)`` for ``event(step(y0, s)) = 0``; state into ``out``."""
    s_lo, s_hi, g_lo, g_hi = 0.0, h, g0, g1
    side = 0
    s = h
    for _ in range(100):
        s = (s_lo * g_hi - s_hi * g_lo) / (g_hi - g_lo)
        if not (min(s_lo, s_hi) < s < max(s_lo, s_hi)):
            s = 0.5 * (s_lo + s_hi)
        _step(null_rhs, 0.0, y0, f0, s, params, k, out)
        g = _event(kind, out, target)
        if g == 0.0 or abs(s_hi - s_lo) <= 1e-15 * abs(h):
            break
        s_lo, g_lo, s_hi, g_hi, side = illinois(s_lo, g_lo, s_hi, g_hi, s, g, side)
    return s


@njit(cache=True)
def initial_state(alpha: float, beta: float, a: float, incl: float, r_obs: float, y: np.ndarray) -> float:
    """Backward ray through Bardeen's celestial coordinates ``(alpha, beta)``; fills ``y``, returns ``xi``.

    ``xi = -alpha sin i``, ``eta = beta^2 + (alpha^2 - a^2) cos^2 i`` (Bardeen 1973, eqs. 3.12-3.13),
    so that ``Theta(i) = beta^2`` exactly. The received photon has ``p_theta``
    of the sign of ``beta`` at the observer; the backward ray has the opposite
    momentum: ``p_theta = -beta`` and ``p_r = -sqrt(R(r_obs)) / Delta`` (inwards).
    NaN ``p_r`` if ``R(r_obs) < 0`` (the ray cannot reach the camera radius).
    """
    xi = -alpha * math.sin(incl)
    eta = beta * beta + (alpha * alpha - a * a) * math.cos(incl) ** 2
    r = r_obs
    delta = r * r - 2.0 * r + a * a
    big_r = (r * r + a * a - a * xi) ** 2 - delta * (eta + (xi - a) ** 2)
    y[0], y[1] = r, incl
    y[2] = -math.sqrt(big_r) / delta if big_r >= 0.0 else math.nan
    y[3] = -beta
    return xi


@njit(cache=True)
def integrate_ray(
    y: np.ndarray,
    a: float,
    xi: float,
    r_capture: float,
    r_escape: float,
    r_in: float,
    r_out: float,
    rtol: float,
    atol: float,
    max_steps: int,
    path: np.ndarray,
) -> tuple[int, float, int]:
    """Integrate the ray from ``y`` (overwritten with its end state) until it ends; ``(status, lambda, steps)``.

    Ends, with the end point located within the step by Illinois root-finding
    on the step size (each trial one DP5 sub-step, as accurate as the step):

    * ``DISK``: it crosses ``theta = pi/2`` at ``r_in <= r <= r_out`` (no disk if ``r_out <= 0``);
    * ``CAPTURED``: ``r < r_capture`` (any radius between the horizon and the
      innermost spherical photon orbit: a ray from infinity inside it cannot turn back);
    * ``ESCAPED``: ``p_r > 0`` and ``r > r_escape`` (past the photon region and the
      disk nothing can turn it back); the end point is the crossing of ``r_escape``,
      or the turning point when that lies beyond it;
    * ``UNFINISHED``: ``max_steps`` accepted steps, a step size underflow, or a non-finite start.

    Error control as scipy's RK45 (:mod:`physml.kernels.dormand_prince`): RMS over components of
    ``err / (atol + rtol max(|y|, |y_new|))`` < 1, step factor ``0.9 err^(-1/5)`` clipped to [0.2, 10]
    (not above 1 right after a rejection).
    ``path`` (``(n, 5)``: lambda, r, theta, p_r, p_theta) records accepted steps when ``n > 0``.
    """
    k = np.empty((7, 4))
    f0 = np.empty(4)
    y1 = np.empty(4)
    ye = np.empty(4)
    if not (np.isfinite(y[0]) and np.isfinite(y[1]) and np.isfinite(y[2]) and np.isfinite(y[3])):
        return UNFINISHED, 0.0, 0
    params = (a, xi)
    null_rhs(0.0, y, params, f0)
    h = 0.05 * y[0]
    lam = 0.0
    n_rec = path.shape[0]
    if n_rec > 0:
        path[0, 0] = 0.0
        path[0, 1:] = y
    rejected = False
    steps = 0
    while steps < max_steps:
        if h < 1e-14 * y[0]:
            return UNFINISHED, lam, steps
        _step(null_rhs, 0.0, y, f0, h, params, k, y1)
        err = _error_norm(k, h, y, y1, rtol, atol)
        h_next = _next_step(h, err, rejected)
        if not err < 1.0:  # also NaN
            h, rejected = h_next, True
            continue
        steps += 1
        c0, c1 = math.cos(y[1]), math.cos(y1[1])
        if r_out > 0.0 and (c0 > 0.0) != (c1 > 0.0):
            s = _locate(y, f0, h, params, 0, 0.0, c0, c1, k, ye)
            if r_in <= ye[0] <= r_out:
                y[:] = ye
                return DISK, lam + s, steps
            null_rhs(0.0, y1, params, k[6])  # _locate overwrote k[6] = rhs(y1)
        if y1[0] < r_capture:
            s = _locate(y, f0, h, params, 1, r_capture, y[0] - r_capture, y1[0] - r_capture, k, ye)
            y[:] = ye
            return CAPTURED, lam + s, steps
        if y1[2] > 0.0 and y1[0] > r_escape:
            if y[0] <= r_escape:
                s = _locate(y, f0, h, params, 1, r_escape, y[0] - r_escape, y1[0] - r_escape, k, ye)
            else:
                s = _locate(y, f0, h, params, 2, 0.0, y[2], y1[2], k, ye)
            y[:] = ye
            return ESCAPED, lam + s, steps
        lam += h
        y[:] = y1
        f0[:] = k[6]
        if steps < n_rec:
            path[steps, 0] = lam
            path[steps, 1:] = y
        h, rejected = h_next, False
    return UNFINISHED, lam, steps
