"""Quasinormal modes and late-time tails from a real waveform ``psi(t)``.

Convention (as in the Regge–Wheeler/Zerilli evolution): time dependence
``exp(-i omega t)``, so a damped mode has ``Im omega < 0``; units ``M = 1``.
A ringdown is modelled as

    psi(t) ~= Re sum_k A_k exp(-i omega_k (t - t_ref)),    Re omega_k >= 0,

with ``t_ref`` the first sample of the fitted window. Poles come from the
matrix pencil method (Hua & Sarkar, IEEE Trans. ASSP 38, 814, 1990) or
least-squares Prony, and are then refined by variable projection (Golub &
Pereyra, SIAM J. Numer. Anal. 10, 413, 1973): nonlinear least squares over
``(Re omega, Im omega)`` per mode with the amplitudes (``Re A, Im A``, i.e.
amplitude and phase) solved linearly at every step. Tails ``|psi| ~ t^p``
(Price 1972: ``p = -(2l + 3)``) are fitted in ``log|psi|`` against ``log t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = [
    "DampedSinusoidFit",
    "PowerLawFit",
    "QNMEstimate",
    "fit_damped_sinusoids",
    "fit_power_law",
    "local_power_index",
    "qnm_from_ringdown",
]

#: Largest relative deviation of the time step from its mean for ``t`` to count as uniform.
UNIFORM_RTOL = 1e-9
#: Upper limit on the pencil parameter L: the SVD costs O(N L^2), and L = N/3 matters only for short records.
MAX_PENCIL = 600


@dataclass(frozen=True)
class DampedSinusoidFit:
    """Result of :func:`fit_damped_sinusoids`: ``y ~= Re sum_k A_k exp(-i omega_k (t - t_ref))``.

    Attributes
    ----------
    omegas
        ``(n,)`` complex frequencies, ``Re >= 0``. Oscillating modes come first, least damped
        (largest ``Im``) first, then the non-oscillating ones in the same order.
    amplitudes
        ``(n,)`` complex amplitudes at ``t_ref``; real for a pure exponential (``Re omega = 0``).
    oscillating
        ``(n,)`` bool: ``False`` for poles on the real axis (pure exponentials, a proxy for a tail)
        and for pairs completing less than half a cycle in the window (``Re omega * T < pi``).
    residual
        Relative RMS misfit ``||y - model|| / ||y||``.
    t_ref
        Time at which the amplitudes are given (first sample).
    method
        ``"matrix-pencil"`` or ``"prony"``; ``refined`` says whether variable projection ran.
    singular_values
        Leading singular values of the Hankel matrix over the largest (pencil only; empty for
        Prony): a gap after ``2 n_modes + n_exponentials`` values shows the model order is right.
    """

    omegas: np.ndarray
    amplitudes: np.ndarray
    oscillating: np.ndarray
    residual: float
    t_ref: float
    method: str
    refined: bool
    singular_values: np.ndarray

    def model(self, t: np.ndarray) -> np.ndarray:
        """The fitted waveform at times ``t``."""
        tau = np.asarray(t, dtype=float)[..., None] - self.t_ref
        return np.real(np.exp(-1j * tau * self.omegas) @ self.amplitudes)


@dataclass(frozen=True)
class QNMEstimate:
    """Result of :func:`qnm_from_ringdown`.

    Attributes
    ----------
    omega0
        Fundamental mode (least-damped oscillating mode) from the reference window.
    omega0_error
        ``max |Re omega0_j - Re omega0|`` + i ``max |Im omega0_j - Im omega0|`` over the shifted
        windows ``j``: the systematic (overtones early, tail late) plus statistical spread.
    overtones
        ``(m,)`` the other oscillating modes of the reference fit, least damped first.
    window_omegas
        ``(n_starts,)`` fundamental found in each window.
    starts
        ``(n_starts,)`` window starts used.
    fit
        The reference-window :class:`DampedSinusoidFit`.
    """

    omega0: complex
    omega0_error: complex
    overtones: np.ndarray
    window_omegas: np.ndarray
    starts: np.ndarray
    fit: DampedSinusoidFit


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`: ``psi ~= sign * amplitude * (t - t0)^exponent``.

    ``local_index_end`` is ``d ln|psi| / d ln(t - t0)`` at the window end and ``spread`` its
    distance from ``exponent``; a converged tail has ``spread`` small against the ``1/t``
    corrections one expects. ``log_residual`` is the RMS misfit in ``ln|psi|``.
    """

    exponent: float
    amplitude: float
    sign: int
    t0: float
    local_index_end: float
    spread: float
    log_residual: float


def _check_signal(t: np.ndarray, y: np.ndarray, *, uniform: bool) -> tuple[np.ndarray, np.ndarray]:
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.ndim != 1 or y.shape != t.shape:
        raise ValueError(f"y has shape {y.shape}, t has shape {t.shape}: need two 1D arrays of equal length")
    for name, a in (("t", t), ("y", y)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} is invalid: contains {np.count_nonzero(~np.isfinite(a))} NaN or inf value(s)")
    dt = np.diff(t)
    if t.size < 2 or np.any(dt <= 0):
        raise ValueError("t is invalid: must hold at least 2 strictly increasing times")
    if uniform:
        step = (t[-1] - t[0]) / (t.size - 1)
        deviation = np.max(np.abs(dt - step)) / step
        if deviation > UNIFORM_RTOL + 8 * np.finfo(float).eps * np.max(np.abs(t)) / step:
            raise ValueError(f"t is invalid: step varies by {deviation:.3g} relative (allowed {UNIFORM_RTOL:g})")
    return t, y


def _pencil_poles(y: np.ndarray, n_poles: int) -> tuple[np.ndarray, np.ndarray]:
    """Poles ``z = exp(-i omega dt)`` by the SVD (total least squares) matrix pencil."""
    n = y.size
    L = min(max(n // 3, n_poles), n - n_poles, MAX_PENCIL)
    hankel = np.lib.stride_tricks.sliding_window_view(y, L + 1)  # (N - L, L + 1), H[i, j] = y[i + j]
    _, s, vh = np.linalg.svd(hankel, full_matrices=False)
    v = vh[:n_poles].T  # (L + 1, M): spans the rows z^j of the signal part
    # z^(j+1) = z^j * z: the shifted row spaces are related by diag(z) (Hua & Sarkar eq. 18).
    poles = np.linalg.eigvals(np.linalg.pinv(v[:-1]) @ v[1:])
    return poles, s[: 4 * n_poles] / s[0]


def _prony_poles(y: np.ndarray, n_poles: int) -> np.ndarray:
    """Poles from least-squares linear prediction y[n] = sum_m a_m y[n - m]."""
    lagged = np.lib.stride_tricks.sliding_window_view(y, n_poles + 1)  # (N - M, M + 1)
    coef, *_ = np.linalg.lstsq(lagged[:, :-1], lagged[:, -1], rcond=None)
    return np.roots(np.concatenate(([1.0], -coef[::-1])))


def _basis(tau: np.ndarray, omegas: np.ndarray, complex_pole: np.ndarray) -> np.ndarray:
    """Real design matrix: columns Re e and -Im e per complex pole, Re e only per real pole."""
    e = np.exp(-1j * np.outer(tau, omegas))  # (N, n)
    return np.concatenate([e.real, -e[:, complex_pole].imag], axis=1)


def _amplitudes(tau, y, omegas, complex_pole) -> tuple[np.ndarray, np.ndarray]:
    basis = _basis(tau, omegas, complex_pole)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    amps = coef[: omegas.size].astype(complex)
    amps[complex_pole] += 1j * coef[omegas.size :]
    return amps, y - basis @ coef


def fit_damped_sinusoids(
    t: np.ndarray,
    y: np.ndarray,
    *,
    n_modes: int,
    n_exponentials: int = 0,
    method: str = "matrix-pencil",
    refine: bool = True,
) -> DampedSinusoidFit:
    """Fit ``y(t) ~= Re sum_k A_k exp(-i omega_k (t - t[0]))`` to a real, uniformly sampled signal.

    A real signal's poles ``z = exp(-i omega dt)`` come in conjugate pairs (``omega`` and
    ``-conj(omega)``); each pair is reported once with ``Re omega > 0``. Poles on the real axis
    are kept as non-oscillating components and flagged (see :class:`DampedSinusoidFit`).

    Parameters
    ----------
    t, y
        ``(N,)`` times (uniform to ``1e-9`` relative) and real samples.
    n_modes
        Oscillating modes sought (>= 1); the pencil keeps ``2 n_modes + n_exponentials`` singular values.
    n_exponentials
        Extra real poles (>= 0), e.g. to absorb a power-law tail contaminating the window end.
    method
        ``"matrix-pencil"`` (robust to noise) or ``"prony"`` (least-squares Prony, noise-biased).
    refine
        If true (default) the returned frequencies are the variable-projection least-squares
        optimum started from the pencil/Prony poles; otherwise the raw poles.

    Returns
    -------
    DampedSinusoidFit

    Examples
    --------
    >>> t = np.arange(0.0, 60.0, 0.1)
    >>> fit = fit_damped_sinusoids(t, np.exp(-0.089 * t) * np.cos(0.3737 * t), n_modes=1)
    >>> complex(np.round(fit.omegas[0], 6))
    (0.3737-0.089j)
    """
    t, y = _check_signal(t, y, uniform=True)
    if not (isinstance(n_modes, int | np.integer) and n_modes >= 1):
        raise ValueError(f"n_modes = {n_modes!r} is invalid: must be an integer >= 1")
    if not (isinstance(n_exponentials, int | np.integer) and n_exponentials >= 0):
        raise ValueError(f"n_exponentials = {n_exponentials!r} is invalid: must be an integer >= 0")
    if method not in ("matrix-pencil", "prony"):
        raise ValueError(f"method = {method!r} is invalid: allowed 'matrix-pencil' or 'prony'")
    n_poles = 2 * n_modes + n_exponentials
    if t.size < 2 * n_poles + 1:
        raise ValueError(
            f"n_modes = {n_modes!r} is invalid for {t.size} samples: need >= {2 * n_poles + 1} (2 per real parameter)"
        )
    scale = np.max(np.abs(y))
    if scale == 0:
        raise ValueError("y is invalid: identically zero")
    dt, tau, ys = (t[-1] - t[0]) / (t.size - 1), t - t[0], y / scale
    if method == "matrix-pencil":
        poles, singular_values = _pencil_poles(ys, n_poles)
    else:
        poles, singular_values = _prony_poles(ys, n_poles), np.empty(0)
    # z = exp(-i omega dt); keep Im z <= 0 (Re omega >= 0), dropping each pair's conjugate partner.
    poles = poles[poles.imag <= 0]
    omegas = 1j * np.log(poles.astype(complex)) / dt
    complex_pole = poles.imag < 0
    # A real pole has Re omega = 0 (z > 0) or pi/dt (z < 0, a Nyquist-rate artefact): held fixed below.
    fixed_re = np.where(complex_pole, 0.0, np.abs(omegas.real))
    omegas = fixed_re + 1j * omegas.imag + np.where(complex_pole, omegas.real, 0.0)
    refined, n_complex = False, np.count_nonzero(complex_pole)
    if refine and omegas.size:
        x0 = np.concatenate([omegas.real[complex_pole], omegas.imag])

        def unpack(x: np.ndarray) -> np.ndarray:
            re = fixed_re.copy()
            re[complex_pole] = x[:n_complex]
            return re + 1j * x[n_complex:]

        solution = least_squares(lambda x: _amplitudes(tau, ys, unpack(x), complex_pole)[1], x0, method="lm")
        if solution.success and np.all(np.isfinite(solution.x)):
            omegas, refined = unpack(solution.x), True
    amplitudes, residual = _amplitudes(tau, ys, omegas, complex_pole)
    oscillating = complex_pole & (omegas.real * (t[-1] - t[0]) >= np.pi)
    order = np.lexsort((-omegas.imag, ~oscillating))
    return DampedSinusoidFit(
        omegas=omegas[order],
        amplitudes=scale * amplitudes[order],
        oscillating=oscillating[order],
        residual=float(np.linalg.norm(residual) / np.linalg.norm(ys)),
        t_ref=float(t[0]),
        method=method,
        refined=refined,
        singular_values=singular_values,
    )


def _window(t: np.ndarray, y: np.ndarray, lo: float, hi: float, names: tuple[str, str]) -> tuple[np.ndarray, ...]:
    if not (np.isfinite(lo) and np.isfinite(hi) and t[0] <= lo < hi <= t[-1]):
        allowed = f"{t[0]:g} <= {names[0]} < {names[1]} <= {t[-1]:g}"
        raise ValueError(f"({names[0]}, {names[1]}) = ({lo!r}, {hi!r}) is invalid: need {allowed}")
    inside = (t >= lo) & (t <= hi)
    return t[inside], y[inside]


def qnm_from_ringdown(
    t: np.ndarray,
    y: np.ndarray,
    *,
    t_start: float,
    t_end: float,
    n_modes: int = 2,
    n_exponentials: int = 0,
    starts: Sequence[float] | None = None,
    method: str = "matrix-pencil",
) -> QNMEstimate:
    """Fundamental quasinormal mode with an uncertainty, and overtones, from a ringdown.

    The reference fit uses ``t_start <= t <= t_end``; the fit is repeated on ``[s, t_end]`` for each
    ``s`` in ``starts`` and the fundamental's spread over these windows is the error estimate.
    Choose ``t_end`` before the tail dominates; ``n_exponentials = 1`` or ``2`` absorbs a tail
    that still contaminates the window end.

    Parameters
    ----------
    t, y
        ``(N,)`` uniform times and real waveform.
    t_start, t_end
        Reference window (time units, ``M = 1``).
    n_modes, n_exponentials, method
        As in :func:`fit_damped_sinusoids`; ``n_modes`` counts the fundamental and overtones.
    starts
        Window starts for the spread; default ``t_start + (t_end - t_start) * (0, 0.05, ..., 0.2)``.

    Returns
    -------
    QNMEstimate
        In each shifted window the fundamental is the oscillating mode nearest the reference one.
    """
    t, y = _check_signal(t, y, uniform=True)
    fit = fit_damped_sinusoids(
        *_window(t, y, t_start, t_end, ("t_start", "t_end")),
        n_modes=n_modes,
        n_exponentials=n_exponentials,
        method=method,
    )
    if not np.any(fit.oscillating):
        raise ValueError(f"(t_start, t_end) = ({t_start!r}, {t_end!r}) is invalid: no oscillating mode in the window")
    omega0 = complex(fit.omegas[0])
    if starts is None:
        starts = t_start + (t_end - t_start) * np.linspace(0.0, 0.2, 5)
    starts = np.asarray(starts, dtype=float).reshape(-1)
    window_omegas = np.empty(starts.size, dtype=complex)
    for j, start in enumerate(starts):
        shifted = fit_damped_sinusoids(
            *_window(t, y, start, t_end, ("starts[j]", "t_end")),
            n_modes=n_modes,
            n_exponentials=n_exponentials,
            method=method,
        )
        candidates = shifted.omegas[shifted.oscillating]
        if candidates.size == 0:
            raise ValueError(f"starts[{j}] = {start!r} is invalid: no oscillating mode in [{start:g}, {t_end:g}]")
        window_omegas[j] = candidates[np.argmin(np.abs(candidates - omega0))]
    deviation = window_omegas - omega0
    return QNMEstimate(
        omega0=omega0,
        omega0_error=complex(np.max(np.abs(deviation.real), initial=0.0), np.max(np.abs(deviation.imag), initial=0.0)),
        overtones=fit.omegas[fit.oscillating][1:],
        window_omegas=window_omegas,
        starts=starts,
        fit=fit,
    )


def local_power_index(t: np.ndarray, y: np.ndarray, *, t0: float = 0.0) -> np.ndarray:
    """Local power index ``p(t) = d ln|y| / d ln(t - t0)`` (second-order differences, any spacing).

    ``t0`` shifts the time origin (e.g. the time the pulse passed, or ``r*`` of the observer for
    a tail in ``t - r*``); all ``t > t0``. ``NaN`` where ``y = 0``; meaningless near zero crossings.
    A converged tail has ``p(t)`` flat, approaching ``-(2l + 3)`` like ``1/t``.
    """
    t, y = _check_signal(t, y, uniform=False)
    if not t[0] > t0:
        raise ValueError(f"t0 = {t0!r} is invalid: need t0 < t[0] = {t[0]!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_y = np.where(y != 0, np.log(np.abs(np.where(y != 0, y, 1.0))), np.nan)
    return np.gradient(log_y, np.log(t - t0), edge_order=2)


def fit_power_law(t: np.ndarray, y: np.ndarray, *, t_min: float, t_max: float, t0: float = 0.0) -> PowerLawFit:
    """Fit ``|y| = amplitude * (t - t0)^exponent`` on ``t_min <= t <= t_max`` (linear fit in log-log).

    Parameters
    ----------
    t, y
        ``(N,)`` increasing times (any spacing) and real waveform.
    t_min, t_max
        Late-time window; ``y`` must keep one sign in it.
    t0
        Time origin (see :func:`local_power_index`); ``t_min > t0``.

    Returns
    -------
    PowerLawFit
        ``spread = |p(t_max) - exponent|`` with ``p`` the local index: small when converged.
    """
    t, y = _check_signal(t, y, uniform=False)
    tw, yw = _window(t, y, t_min, t_max, ("t_min", "t_max"))
    if tw.size < 3:
        raise ValueError(f"(t_min, t_max) = ({t_min!r}, {t_max!r}) is invalid: only {tw.size} samples, need >= 3")
    if not (np.all(yw > 0) or np.all(yw < 0)):
        raise ValueError(
            f"(t_min, t_max) = ({t_min!r}, {t_max!r}) is invalid: y changes sign or vanishes in the window; "
            "it still contains ringdown oscillations or a zero crossing, so move t_min later"
        )
    local = local_power_index(tw, yw, t0=t0)
    (exponent, log_amplitude), residual, *_ = np.polyfit(np.log(tw - t0), np.log(np.abs(yw)), 1, full=True)
    return PowerLawFit(
        exponent=float(exponent),
        amplitude=float(np.exp(log_amplitude)),
        sign=int(np.sign(yw[0])),
        t0=float(t0),
        local_index_end=float(local[-1]),
        spread=float(abs(local[-1] - exponent)),
        log_residual=float(np.sqrt(residual[0] / tw.size)) if residual.size else 0.0,
    )
