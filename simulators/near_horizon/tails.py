"""Late-time tails ``|psi| ~ t^p`` of a waveform (Price 1972: ``p = -(2l + 3)`` at fixed r).

Fitted as straight lines in ``ln|psi|`` against ``ln t``, with the local index
``d ln|psi| / d ln t`` to show whether the tail has converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physml.simulators.near_horizon.ringdown import _check_signal, _window

__all__ = ["PowerLawFit", "fit_power_law", "local_power_index"]


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`: ``psi ~= sign * amplitude * (t - t0)^exponent``.

    ``local_index_end`` is ``d ln|psi| / d ln(t - t0)`` at the window end, ``spread`` its distance
    from ``exponent`` (small once the tail has converged) and ``log_residual`` the RMS misfit in ``ln|psi|``.
    """

    exponent: float
    amplitude: float
    sign: int
    t0: float
    local_index_end: float
    spread: float
    log_residual: float


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
        ``spread = |p_end - exponent|`` with ``p_end`` the log-log slope over the last tenth of the
        window (in ``ln t``): small when the tail has converged.

    Examples
    --------
    >>> t = np.linspace(100.0, 1000.0, 901)
    >>> fit = fit_power_law(t, 3 * (t + 50.0) ** -7, t_min=500.0, t_max=1000.0, t0=-50.0)
    >>> round(fit.exponent, 9), round(fit.amplitude, 6)
    (-7.0, 3.0)
    """
    t, y = _check_signal(t, y, uniform=False)
    tw, yw = _window(t, y, t_min, t_max, "t_min")
    if tw.size < 3:
        raise ValueError(f"(t_min, t_max) = ({t_min!r}, {t_max!r}) is invalid: only {tw.size} samples, need >= 3")
    if not (np.all(yw > 0) or np.all(yw < 0)):
        raise ValueError(
            f"(t_min, t_max) = ({t_min!r}, {t_max!r}) is invalid: y changes sign or vanishes in the window; "
            "it still contains ringdown oscillations or a zero crossing, so move t_min later"
        )
    log_t, log_y = np.log(tw - t0), np.log(np.abs(yw))
    (exponent, log_amplitude), residual, *_ = np.polyfit(log_t, log_y, 1, full=True)
    # The index at the window end, as the log-log slope over the window's last tenth (in ln t): a
    # derivative between neighbouring samples would amplify round-off once |y| nears 1e-12.
    end = log_t >= log_t[-1] - 0.1 * (log_t[-1] - log_t[0])
    local_end = np.polyfit(log_t[end], log_y[end], 1)[0] if np.count_nonzero(end) >= 3 else exponent
    return PowerLawFit(
        exponent=float(exponent),
        amplitude=float(np.exp(log_amplitude)),
        sign=int(np.sign(yw[0])),
        t0=float(t0),
        local_index_end=float(local_end),
        spread=float(abs(local_end - exponent)),
        log_residual=float(np.sqrt(residual[0] / tw.size)) if residual.size else 0.0,
    )
