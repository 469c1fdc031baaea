"""The Dormand-Prince kernels: tableau consistency, convergence order, and scipy's step sequence reproduced.

Reference: scipy's ``solve_ivp`` ``RK45`` and ``DOP853`` use the same tableaus, error norms and
controller, so with the same starting step an integration accepts the same steps; the step sizes
agree to ~1e-7 relative (an error estimate is a difference of stage sums far larger than itself,
so summation order changes its last digits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy.integrate import solve_ivp

from physml.kernels.dop853 import DOP853
from physml.kernels.dormand_prince import Tableau, dormand_prince
from physml.kernels.dp54 import DP54

TABLEAUS = {"DP5(4)": (DP54, 5), "DOP853": (DOP853, 8)}


@njit
def oscillator(t, y, params, out):
    out[0] = y[1]
    out[1] = -params * y[0]


@njit
def kepler(t, y, params, out):
    r3 = (y[0] * y[0] + y[1] * y[1]) ** 1.5
    out[0], out[1], out[2], out[3] = y[2], y[3], -y[0] / r3, -y[1] / r3


@pytest.mark.parametrize("name", TABLEAUS)
def test_tableau_is_consistent(name):
    """Row sums of a are the nodes; the weights sum to 1 and every error estimate's weights to 0."""
    tab, _ = TABLEAUS[name]
    s = tab.c.shape[0]
    assert np.all(np.triu(tab.a) == 0.0)
    np.testing.assert_allclose(tab.a.sum(axis=1), tab.c, atol=2e-15)
    assert tab.b.sum() == pytest.approx(1.0, abs=1e-14) and tab.e.shape == tab.e_low.shape == (s + 1,)
    assert abs(tab.e.sum()) < 1e-14 and abs(tab.e_low.sum()) < 1e-14


@pytest.mark.parametrize("name", TABLEAUS)
def test_fixed_steps_converge_at_the_design_order(name):
    """Harmonic oscillator y'' = -y over [0, 10]: error against (cos t, -sin t) from a log-log fit of 4 step counts."""
    tab, order = TABLEAUS[name]
    kern = dormand_prince(tab, 2)
    k, f0, y1 = np.empty((tab.c.shape[0] + 1, 2)), np.empty(2), np.empty(2)

    def error(n: int) -> float:
        y, h = np.array([1.0, 0.0]), 10.0 / n
        for i in range(n):
            oscillator(i * h, y, 1.0, f0)
            kern.step(oscillator, i * h, y, f0, h, 1.0, k, y1)
            y = y1.copy()
        return float(np.max(np.abs(y - [math.cos(10.0), -math.sin(10.0)])))

    ns = np.array([40, 60, 80, 120]) if order == 5 else np.array([20, 25, 30, 40])
    errors = [error(n) for n in ns]
    measured = -np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert abs(measured - order) < 0.3, (measured, errors)


def _adaptive(kern, rhs, y0: np.ndarray, t_end: float, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """scipy's loop around the kernels: its starting step, step clipping at ``t_end`` and controller."""
    n = y0.shape[0]
    y, t, f0, y1 = y0.copy(), 0.0, np.empty(n), np.empty(n)
    k = np.empty((kern.tableau.c.shape[0] + 1, n))
    rhs(t, y, 0.0, f0)
    h_abs = kern.initial_step(rhs, t, y, f0, 0.0, t_end, rtol, atol)
    times, rejected = [t], False
    while t < t_end:
        t_new = min(t + h_abs, t_end)
        h = t_new - t
        kern.step(rhs, t, y, f0, h, 0.0, k, y1)
        err = kern.error_norm(k, h, y, y1, rtol, atol)
        h_abs = kern.next_step(h, err, rejected)
        rejected = not err < 1.0
        if not rejected:
            t, y, f0 = t_new, y1.copy(), k[-1].copy()
            times.append(t)
    return np.array(times), y


@pytest.mark.parametrize(("name", "method"), [("DP5(4)", "RK45"), ("DOP853", "DOP853")])
def test_adaptive_steps_match_scipy(name, method):
    """An eccentric Kepler orbit (e = 0.8) over one period: the same accepted steps as scipy, the same end state."""
    tab, _ = TABLEAUS[name]
    y0 = np.array([0.2, 0.0, 0.0, math.sqrt(1.8 / 0.2)])  # periapsis 0.2, a = 1: period 2 pi
    times, y = _adaptive(dormand_prince(tab, 4), kepler, y0, 2 * math.pi, 1e-9, 1e-12)

    def fun(t, state):
        out = np.empty(4)
        kepler(t, np.ascontiguousarray(state), 0.0, out)
        return out

    ref = solve_ivp(fun, (0.0, 2 * math.pi), y0, method=method, rtol=1e-9, atol=1e-12)
    assert times.size == ref.t.size > 30
    np.testing.assert_allclose(times, ref.t, rtol=1e-6)
    np.testing.assert_allclose(y, ref.y[:, -1], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(y, y0, atol=1e-5)  # back at periapsis after one period (global error ~1e-6)


def test_bad_tableau_or_size_is_refused():
    with pytest.raises(ValueError, match=r"size = 0 is invalid: must be an int >= 1"):
        dormand_prince(DP54, 0)
    broken = Tableau("broken", DP54.c, DP54.a, DP54.b, DP54.e[:-1], DP54.e_low, 4)
    with pytest.raises(ValueError, match=r"tableau 'broken' is invalid: need c \(s,\)"):
        dormand_prince(broken, 4)
