"""Dormand-Prince 8(5,3) (DOP853): one explicit Runge-Kutta step, its error norm, the step-size controller.

The tableau is Hairer's (Hairer, Norsett & Wanner, *Solving ODEs I*, 2nd ed.,
sec. II.10; Fortran ``dop853.f``), the same numbers as scipy's
``solve_ivp(method="DOP853")``: 12 stages, an 8th-order solution, and an error
estimate blending 5th- and 3rd-order embedded solutions,
``|h| e5^2 / sqrt(n (e5^2 + 0.01 e3^2))`` (error-estimator order 7). The
controller is scipy's: accept when the norm is < 1, step factor
``0.9 norm^(-1/8)`` clipped to [0.2, 10], not above 1 right after a rejection.
With the same initial step (:func:`initial_step`) a caller's step sequence
matches scipy's to rounding.

The kernels take raw arrays only; the caller owns the right-hand side and the
loop, so events and stopping rules stay with the problem. One step of size
``h`` from ``(t, y)`` with ``f0 = rhs(t, y)`` and work space ``k`` ``(13, n)``:

    k[0] = f0
    for s in range(1, N_STAGES):
        stage_state(s, y, h, k, y_new)
        rhs(t + C[s] * h, y_new, params, k[s])
    solution(y, h, k, y_new)
    rhs(t + h, y_new, params, k[N_STAGES])   # first same as last
    err = error_norm(k, h, y, y_new, rtol, atol)

(The right-hand side is not passed in as an argument: Numba cannot cache a
function whose signature holds a dispatcher type, and recompiling the
integrator costs several seconds per process.)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "ERROR_EXPONENT",
    "N_STAGES",
    "C",
    "error_norm",
    "first_trial_step",
    "illinois",
    "initial_step",
    "next_step",
    "solution",
    "stage_state",
]

N_STAGES = 12
#: Step-size exponent -1 / (error-estimator order + 1).
ERROR_EXPONENT = -1.0 / 8.0
SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0

C = np.array([
    0.0, 0.526001519587677318785587544488e-01, 0.789002279381515978178381316732e-01,
    0.118350341907227396726757197510, 0.281649658092772603273242802490, 1.0 / 3.0, 0.25,
    0.307692307692307692307692307692, 0.651282051282051282051282051282, 0.6,
    0.857142857142857142857142857142, 1.0,
])  # fmt: skip
A = np.zeros((N_STAGES, N_STAGES))
A[1, 0] = 5.26001519587677318785587544488e-2
A[2, :2] = 1.97250569845378994544595329183e-2, 5.91751709536136983633785987549e-2
A[3, [0, 2]] = 2.95875854768068491816892993775e-2, 8.87627564304205475450678981324e-2
A[4, [0, 2, 3]] = (
    2.41365134159266685502369798665e-1, -8.84549479328286085344864962717e-1, 9.24834003261792003115737966543e-1,
)  # fmt: skip
A[5, [0, 3, 4]] = (
    3.7037037037037037037037037037e-2, 1.70828608729473871279604482173e-1, 1.25467687566822425016691814123e-1,
)  # fmt: skip
A[6, [0, 3, 4, 5]] = (
    3.7109375e-2, 1.70252211019544039314978060272e-1, 6.02165389804559606850219397283e-2, -1.7578125e-2,
)  # fmt: skip
A[7, [0, 3, 4, 5, 6]] = (
    3.70920001185047927108779319836e-2, 1.70383925712239993810214054705e-1, 1.07262030446373284651809199168e-1,
    -1.53194377486244017527936158236e-2, 8.27378916381402288758473766002e-3,
)  # fmt: skip
A[8, [0, 3, 4, 5, 6, 7]] = (
    6.24110958716075717114429577812e-1, -3.36089262944694129406857109825, -8.68219346841726006818189891453e-1,
    2.75920996994467083049415600797e1, 2.01540675504778934086186788979e1, -4.34898841810699588477366255144e1,
)  # fmt: skip
A[9, [0, 3, 4, 5, 6, 7, 8]] = (
    4.77662536438264365890433908527e-1, -2.48811461997166764192642586468, -5.90290826836842996371446475743e-1,
    2.12300514481811942347288949897e1, 1.52792336328824235832596922938e1, -3.32882109689848629194453265587e1,
    -2.03312017085086261358222928593e-2,
)  # fmt: skip
A[10, [0, 3, 4, 5, 6, 7, 8, 9]] = (
    -9.3714243008598732571704021658e-1, 5.18637242884406370830023853209, 1.09143734899672957818500254654,
    -8.14978701074692612513997267357, -1.85200656599969598641566180701e1, 2.27394870993505042818970056734e1,
    2.49360555267965238987089396762, -3.0467644718982195003823669022,
)  # fmt: skip
A[11, [0, 3, 4, 5, 6, 7, 8, 9, 10]] = (
    2.27331014751653820792359768449, -1.05344954667372501984066689879e1, -2.00087205822486249909675718444,
    -1.79589318631187989172765950534e1, 2.79488845294199600508499808837e1, -2.85899827713502369474065508674,
    -8.87285693353062954433549289258, 1.23605671757943030647266201528e1, 6.43392746015763530355970484046e-1,
)  # fmt: skip
#: 8th-order weights (stages 1, 2, 3, 4, 5 have weight 0 except the first).
B = np.zeros(N_STAGES)
B[[0, 5, 6, 7, 8, 9, 10, 11]] = (
    5.42937341165687622380535766363e-2, 4.45031289275240888144113950566, 1.89151789931450038304281599044,
    -5.8012039600105847814672114227, 3.1116436695781989440891606237e-1, -1.52160949662516078556178806805e-1,
    2.01365400804030348374776537501e-1, 4.47106157277725905176885569043e-2,
)  # fmt: skip
#: 8th- minus 3rd- and 8th- minus 5th-order weights: the two embedded error estimates.
E3 = B.copy()
E3[[0, 8, 11]] -= (
    0.244094488188976377952755905512, 0.733846688281611857341361741547, 0.220588235294117647058823529412e-1,
)  # fmt: skip
E5 = np.zeros(N_STAGES)
E5[[0, 5, 6, 7, 8, 9, 10, 11]] = (
    0.1312004499419488073250102996e-1, -0.1225156446376204440720569753e1, -0.4957589496572501915214079952,
    0.1664377182454986536961530415e1, -0.3503288487499736816886487290, 0.3341791187130174790297318841,
    0.8192320648511571246570742613e-1, -0.2235530786388629525884427845e-1,
)  # fmt: skip


@njit(cache=True)
def stage_state(s: int, y: np.ndarray, h: float, k: np.ndarray, out: np.ndarray) -> None:
    """Argument of stage ``s``: ``out = y + h sum_{j<s} A[s, j] k[j]``."""
    for i in range(y.shape[0]):
        acc = 0.0
        for j in range(s):
            acc += A[s, j] * k[j, i]
        out[i] = y[i] + h * acc


@njit(cache=True)
def solution(y: np.ndarray, h: float, k: np.ndarray, out: np.ndarray) -> None:
    """The 8th-order solution ``out = y + h sum_j B[j] k[j]``."""
    for i in range(y.shape[0]):
        acc = 0.0
        for j in range(N_STAGES):
            acc += B[j] * k[j, i]
        out[i] = y[i] + h * acc


@njit(cache=True)
def error_norm(k: np.ndarray, h: float, y: np.ndarray, y_new: np.ndarray, rtol: float, atol: float) -> float:
    """Hairer's blended error norm of a step, scaled by ``atol + rtol max(|y|, |y_new|)``; < 1 accepts."""
    n = y.shape[0]
    e5 = 0.0
    e3 = 0.0
    for i in range(n):
        scale = atol + rtol * max(abs(y[i]), abs(y_new[i]))
        d5 = 0.0
        d3 = 0.0
        for j in range(N_STAGES):
            d5 += E5[j] * k[j, i]
            d3 += E3[j] * k[j, i]
        e5 += (d5 / scale) ** 2
        e3 += (d3 / scale) ** 2
    if e5 == 0.0 and e3 == 0.0:
        return 0.0
    return abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * n)


@njit(cache=True)
def next_step(h_abs: float, err: float, rejected: bool) -> float:
    """Next step size after a trial of size ``h_abs`` with norm ``err`` (accepted iff ``err < 1``; NaN rejects).

    ``rejected``: the previous trial of this step was rejected (then no growth).
    """
    if err < 1.0:
        factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err**ERROR_EXPONENT)
        return h_abs * (min(1.0, factor) if rejected else factor)
    if not math.isfinite(err):
        return h_abs * MIN_FACTOR
    return h_abs * max(MIN_FACTOR, SAFETY * err**ERROR_EXPONENT)


@njit(cache=True)
def first_trial_step(y: np.ndarray, f0: np.ndarray, interval: float, rtol: float, atol: float) -> float:
    """``h0`` of Hairer's starting-step rule (sec. II.4; scipy's ``select_initial_step``); then :func:`initial_step`."""
    d0 = d1 = 0.0
    for i in range(y.shape[0]):
        scale = atol + abs(y[i]) * rtol
        d0 += (y[i] / scale) ** 2
        d1 += (f0[i] / scale) ** 2
    d0, d1 = math.sqrt(d0 / y.shape[0]), math.sqrt(d1 / y.shape[0])
    return min(1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1, interval)


@njit(cache=True)
def initial_step(
    y: np.ndarray, f0: np.ndarray, f1: np.ndarray, h0: float, interval: float, rtol: float, atol: float
) -> float:
    """First step size from ``f1 = rhs(t + h0, y + h0 f0)`` with ``h0`` from :func:`first_trial_step`."""
    n = y.shape[0]
    d1 = d2 = 0.0
    for i in range(n):
        scale = atol + abs(y[i]) * rtol
        d1 += (f0[i] / scale) ** 2
        d2 += ((f1[i] - f0[i]) / scale) ** 2
    d1, d2 = math.sqrt(d1 / n), math.sqrt(d2 / n) / h0
    h1 = max(1e-6, h0 * 1e-3) if d1 <= 1e-15 and d2 <= 1e-15 else (0.01 / max(d1, d2)) ** (1.0 / 8.0)
    return min(100.0 * h0, h1, interval)


@njit(cache=True)
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
