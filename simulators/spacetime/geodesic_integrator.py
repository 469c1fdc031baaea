"""The adaptive DOP853 loop over Kerr geodesics, with events located to rounding (Numba; raw arrays only).

The step, its error norm, the controller and the starting step are those of :data:`physml.kernels.dop853.DOP853`
(scipy's ``DOP853``); this module owns the loop and the events, each found inside the accepted step by
Illinois root-finding on the step size (:func:`physml.kernels.dormand_prince.illinois`):

* periapsis: ``p_r`` crosses 0 upwards (``r`` passes a minimum; ``dr/dlambda``
  has the sign of ``p_r`` since ``Delta > 0`` outside the horizon); recorded,
  and the run stops at the ``n_periapsides``-th when that is > 0;
* escape: ``r`` crosses ``r_escape`` outwards (stop there);
* capture: ``r`` falls below ``r_capture`` (stop there);
* the end of the interval ``lambda_end`` (the last step is shortened to reach it, as in scipy).

Event location re-steps from the start of the step with sub-steps ``s``, so the
located state is as accurate as an accepted step, with no interpolant.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from physml.kernels.dop853 import DOP853
from physml.kernels.dormand_prince import dormand_prince, illinois
from physml.simulators.spacetime.geodesic_equations import kerr_rhs

__all__ = ["CAPTURED", "ESCAPED", "FINISHED", "UNFINISHED", "integrate_kernel"]

#: How a run ended (``status`` codes).
FINISHED, ESCAPED, CAPTURED, UNFINISHED = 0, 1, 2, 3

N_STATE = 6
_R, _PR = 1, 4
_N_STAGES = DOP853.c.shape[0]
_DOP853 = dormand_prince(DOP853, N_STATE)
_step, _error_norm, _next_step, _initial_step = _DOP853[2:]


@njit(cache=True)
def _record(path: np.ndarray, n_path: int, stride: int, count: int, lam: float, y: np.ndarray) -> tuple[int, int]:
    """Keep every ``stride``-th accepted state; when ``path`` is full drop every other row and double the stride."""
    if count % stride != 0:
        return n_path, stride
    if n_path == path.shape[0]:
        half = (n_path + 1) // 2
        for i in range(half):
            path[i, :] = path[2 * i, :]
        n_path, stride = half, 2 * stride
        if count % stride != 0:
            return n_path, stride
    path[n_path, 0] = lam
    path[n_path, 1:] = y
    return n_path + 1, stride


@njit(cache=True)
def _locate(lam, y, f0, h, y1, params, index, level, k, out) -> float:
    """Sub-step ``s`` in ``(0, h]`` where ``y[index]`` reaches ``level`` (bracketed by ``y``, ``y1``); state in ``out``.

    Illinois regula falsi on ``s``; each trial is one DOP853 sub-step from ``y`` (overwrites ``k``).
    """
    s_lo, g_lo, s_hi, g_hi = 0.0, y[index] - level, h, y1[index] - level
    out[:] = y1
    if g_hi == 0.0:
        return h
    side = 0
    s = h
    for _ in range(100):
        s_old = s
        s = (s_lo * g_hi - s_hi * g_lo) / (g_hi - g_lo)
        if not (min(s_lo, s_hi) < s < max(s_lo, s_hi)):
            s = 0.5 * (s_lo + s_hi)
        _step(kerr_rhs, lam, y, f0, s, params, k, out)
        g = out[index] - level
        if g == 0.0 or s == s_old or abs(s_hi - s_lo) <= 4e-16 * h:
            break
        s_lo, g_lo, s_hi, g_hi, side = illinois(s_lo, g_lo, s_hi, g_hi, s, g, side)
    return s


@njit(cache=True)
def integrate_kernel(
    y: np.ndarray,
    params: np.ndarray,
    lam_end: float,
    rtol: float,
    atol: float,
    max_steps: int,
    r_capture: float,
    r_escape: float,
    n_periapsides: int,
    periapsides: np.ndarray,
    path: np.ndarray,
) -> tuple[int, float, int, int, int]:
    """Integrate from ``y`` (overwritten with the end state) to an end event: ``(status, lam, steps, n_peri, n_path)``.

    ``params = (M, a, E, L)``; ``periapsides`` ``(k, 7)`` receives
    ``(lambda, *y)`` at each periapsis (at most ``k`` kept); ``path`` ``(n, 7)``
    receives accepted states, thinned by powers of two to fit (``n >= 2``),
    starting with the initial state. ``UNFINISHED``: ``max_steps`` accepted
    steps, a step-size underflow or a non-finite state.
    """
    n = N_STATE
    k = np.empty((_N_STAGES + 1, n))
    f0 = np.empty(n)
    y1 = np.empty(n)
    ye = np.empty(n)
    for i in range(n):
        if not math.isfinite(y[i]):
            return UNFINISHED, 0.0, 0, 0, 0
    kerr_rhs(0.0, y, params, f0)
    lam = 0.0
    n_path, stride = _record(path, 0, 1, 0, lam, y)
    h_abs = _initial_step(kerr_rhs, lam, y, f0, params, lam_end, rtol, atol)
    n_peri = 0
    rejected = False
    steps = 0
    while steps < max_steps:
        if lam_end - lam <= 0.0:
            return FINISHED, lam, steps, n_peri, n_path
        min_step = 10.0 * abs(np.nextafter(lam, np.inf) - lam)
        if h_abs < min_step:
            return UNFINISHED, lam, steps, n_peri, n_path
        h = min(h_abs, lam_end - lam)
        _step(kerr_rhs, lam, y, f0, h, params, k, y1)
        err = _error_norm(k, h, y, y1, rtol, atol)
        h_abs = _next_step(h, err, rejected)
        if not err < 1.0:
            rejected = True
            continue
        rejected = False
        steps += 1
        if y1[_R] < r_capture:
            s = _locate(lam, y, f0, h, y1, params, _R, r_capture, k, ye)
            y[:] = ye
            return CAPTURED, lam + s, steps, n_peri, n_path
        if y[_R] < r_escape <= y1[_R]:
            s = _locate(lam, y, f0, h, y1, params, _R, r_escape, k, ye)
            y[:] = ye
            return ESCAPED, lam + s, steps, n_peri, n_path
        if y[_PR] < 0.0 <= y1[_PR]:
            s = _locate(lam, y, f0, h, y1, params, _PR, 0.0, k, ye)
            if n_peri < periapsides.shape[0]:
                periapsides[n_peri, 0] = lam + s
                periapsides[n_peri, 1:] = ye
            n_peri += 1
            if n_peri == n_periapsides:
                y[:] = ye
                n_path, stride = _record(path, n_path, stride, steps, lam + s, y)
                return FINISHED, lam + s, steps, n_peri, n_path
            kerr_rhs(lam + h, y1, params, k[_N_STAGES])  # _locate overwrote k[-1] = rhs(y1)
        lam += h
        y[:] = y1
        f0[:] = k[_N_STAGES]
        n_path, stride = _record(path, n_path, stride, steps, lam, y)
    return UNFINISHED, lam, steps, n_peri, n_path
