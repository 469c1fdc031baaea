"""Dormand-Prince embedded Runge-Kutta pairs: a tableau is data, one step, one error norm, one step-size controller.

A :class:`Tableau` holds a first-same-as-last pair: nodes ``c``, coefficients ``a``,
weights ``b`` of the propagated solution, and weights ``e`` of the local error
estimate over the stages *and* the last evaluation ``f(t + h, y_new)``. The pairs
are in :mod:`physml.kernels.dp54` (Dormand & Prince 1980, as scipy's ``RK45``) and
:mod:`physml.kernels.dop853` (Hairer's 8(5,3), as scipy's ``DOP853``).
:func:`dormand_prince` compiles a tableau into Numba kernels (its numbers become
compile-time constants, so zero coefficients cost nothing):

    step(rhs, t, y, f0, h, params, k, y_new)    # one step; k (s + 1, n) work space, k[s] = rhs(t + h, y_new)
    error_norm(k, h, y, y_new, rtol, atol)      # < 1 accepts
    next_step(h_abs, err, rejected)             # scipy's controller
    initial_step(rhs, t, y, f0, params, interval, rtol, atol)

``rhs(t, y, params, out)`` is a Numba-jitted function passed in as an argument (``params``
is handed through untouched: an array, a tuple, a float). The callee is then compiled
for that right-hand side and inlined; call these kernels from an ``@njit(cache=True)``
function that names its right-hand side as a global, so the caller is cached whole
(a function whose own signature holds a jitted function cannot be cached by Numba).
The caller owns the loop, so events and stopping rules stay with the problem. (Numba's cache
does not notice edits of a callee in another file: after changing this module or a tableau,
delete the callers' cached ``__pycache__/*.nbi`` and ``*.nbc`` files.)

Error norm (scipy's): with ``d = sum_j e_j k_j`` and ``sc = atol + rtol max(|y|, |y_new|)``,
the RMS of ``h d / sc``; a pair with a second estimate ``e_low`` (DOP853) blends them as
``|h| E5^2 / sqrt(n (E5^2 + 0.01 E3^2))``. Controller: accept when the norm is < 1, step
factor ``0.9 norm^(-1/(q + 1))`` clipped to [0.2, 10] (``q`` the estimate's order), not
above 1 right after a rejection.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

__all__ = ["DormandPrince", "Tableau", "dormand_prince", "illinois"]

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0


class Tableau(NamedTuple):
    """An explicit embedded Runge-Kutta pair with the first-same-as-last property, ``s`` stages.

    ``c`` ``(s,)`` nodes; ``a`` ``(s, s)`` strictly lower triangular; ``b`` ``(s,)`` weights of
    the propagated solution; ``e`` ``(s + 1,)`` weights of the error estimate (the last
    multiplies ``f(t + h, y_new)``); ``e_low`` ``(s + 1,)`` a second, lower-order estimate
    blended into the norm (all zero: none); ``error_order`` the order ``q`` of the estimate.
    """

    name: str
    c: np.ndarray
    a: np.ndarray
    b: np.ndarray
    e: np.ndarray
    e_low: np.ndarray
    error_order: int


class DormandPrince(NamedTuple):
    """A tableau compiled into Numba kernels for states of ``size`` components (signatures: module docstring)."""

    tableau: Tableau
    size: int
    step: Any
    error_norm: Any
    next_step: Any
    initial_step: Any


def dormand_prince(tableau: Tableau, size: int) -> DormandPrince:
    """Compile ``tableau`` into ``step``, ``error_norm``, ``next_step`` and ``initial_step`` for ``size``-vectors.

    The tableau's numbers and ``size`` are compile-time constants of the kernels (loops over
    the components unroll); the arrays handed to them must have ``size`` components.

    Examples
    --------
    >>> from physml.kernels.dp54 import DP54
    >>> dormand_prince(DP54, 4).tableau.name
    'DP5(4)'
    """
    c, a, b, e, e_low = (np.array(v, dtype=np.float64) for v in tableau[1:6])
    s = c.shape[0]
    if a.shape != (s, s) or b.shape != (s,) or e.shape != (s + 1,) or e_low.shape != (s + 1,):
        raise ValueError(f"tableau {tableau.name!r} is invalid: need c (s,), a (s, s), b (s,), e and e_low (s + 1,)")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size = {size!r} is invalid: must be an int >= 1")
    n = size
    blended = bool(np.any(e_low != 0.0))
    exponent = -1.0 / (tableau.error_order + 1)

    # inline="always": the caller is compiled with its own right-hand side in place of ``rhs``; passed through
    # an ordinary call the jitted function would be a run-time value, and Numba could not cache the caller.
    @njit(inline="always")
    def step(rhs, t, y, f0, h, params, k, y_new):
        for i in range(n):
            k[0, i] = f0[i]
        for stage in range(1, s):
            for i in range(n):
                acc = 0.0
                for j in range(stage):
                    acc += a[stage, j] * k[j, i]
                y_new[i] = y[i] + h * acc
            rhs(t + c[stage] * h, y_new, params, k[stage])
        for i in range(n):
            acc = 0.0
            for j in range(s):
                acc += b[j] * k[j, i]
            y_new[i] = y[i] + h * acc
        rhs(t + h, y_new, params, k[s])

    @njit
    def error_norm(k, h, y, y_new, rtol, atol):
        e5 = 0.0
        e3 = 0.0
        for i in range(n):
            scale = atol + rtol * max(abs(y[i]), abs(y_new[i]))
            d5 = 0.0
            d3 = 0.0
            for j in range(s + 1):
                d5 += e[j] * k[j, i]
                if blended:
                    d3 += e_low[j] * k[j, i]
            e5 += (d5 / scale) ** 2
            if blended:
                e3 += (d3 / scale) ** 2
        if not blended:
            return abs(h) * math.sqrt(e5 / n)
        if e5 == 0.0 and e3 == 0.0:
            return 0.0
        return abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * n)

    @njit
    def next_step(h_abs, err, rejected):
        if err < 1.0:
            factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err**exponent)
            return h_abs * (min(1.0, factor) if rejected else factor)
        if not math.isfinite(err):  # NaN or inf: reject
            return h_abs * MIN_FACTOR
        return h_abs * max(MIN_FACTOR, SAFETY * err**exponent)

    @njit(inline="always")
    def initial_step(rhs, t, y, f0, params, interval, rtol, atol):
        # Hairer's starting-step rule (Hairer, Norsett & Wanner, sec. II.4; scipy's select_initial_step).
        d0 = d1 = 0.0
        for i in range(n):
            scale = atol + abs(y[i]) * rtol
            d0 += (y[i] / scale) ** 2
            d1 += (f0[i] / scale) ** 2
        d0, d1 = math.sqrt(d0 / n), math.sqrt(d1 / n)
        h0 = min(1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1, interval)
        y1 = np.empty(n)
        for i in range(n):
            y1[i] = y[i] + h0 * f0[i]
        f1 = np.empty(n)
        rhs(t + h0, y1, params, f1)
        d2 = 0.0
        for i in range(n):
            d2 += ((f1[i] - f0[i]) / (atol + abs(y[i]) * rtol)) ** 2
        d2 = math.sqrt(d2 / n) / h0
        h1 = max(1e-6, h0 * 1e-3) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** -exponent
        return min(100.0 * h0, h1, interval)

    return DormandPrince(tableau, size, step, error_norm, next_step, initial_step)


@njit
def illinois(
    s_lo: float, g_lo: float, s_hi: float, g_hi: float, s: float, g: float, side: int
) -> tuple[float, float, float, float, int]:
    """Shrink the bracket ``[s_lo, s_hi]`` of a sign change by the trial ``(s, g)``; Illinois regula falsi.

    Returns ``(s_lo, g_lo, s_hi, g_hi, side)``; the next trial is
    ``(s_lo g_hi - s_hi g_lo) / (g_hi - g_lo)``. Halving the stale end's value
    keeps superlinear convergence (Dowell & Jarratt 1971, BIT 11, 168). Used to
    locate events by re-stepping with sub-steps ``s``: as accurate as the step itself.
    """
    if (g > 0.0) == (g_hi > 0.0):
        if side == -1:
            g_lo *= 0.5
        return s_lo, g_lo, s, g, -1
    if side == 1:
        g_hi *= 0.5
    return s, g, s_hi, g_hi, 1
