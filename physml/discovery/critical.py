"""Choptuik's laws fitted with uncertainties: γ and the fine structure of the masses, Δ from the echoes.

Near the threshold ``p*`` of black-hole formation (Choptuik 1993; ``physml critical``):

* **Mass scaling with its wiggle.** With ``x = ln(p - p*)``, ``ln M = γ x + c + A sin(2π x / ϖ + φ)``
  (Gundlach, PRD 55, 695, 1997; Hod & Piran, PRD 55, R440, 1997): discrete self-similarity leaves a
  ripple of period ``ϖ = Δ / (2γ)`` in ``x`` for the scalar field (its echoes flip sign every Δ/2),
  so the masses alone give ``Δ = 2γϖ``. :func:`fit_mass_scaling` fits the line and the line +
  wiggle; the latter is linear in ``(γ, c, A cos φ, A sin φ)`` at a given ``ϖ``, so ``ϖ`` starts
  from a scan of the residual over the periods the rungs resolve (two per span down to Nyquist)
  and all five parameters are then refined by nonlinear least squares.
* **Echo law.** The zeros ``T_k`` of the central field obey ``T* - T_k = B e^{-kΔ/2}``:
  :func:`fit_echoes` fits ``ln(T* - T_k) = ln B - kΔ/2`` for ``(T*, B, Δ)`` (equal weights in ``ln``:
  the refined grid keeps the points per echo fixed, so a zero is timed to a fixed share of its
  echo), beside the line through ``ln(T_{k+1} - T_k)`` against ``k``, which needs no ``T*``.

Uncertainties are the fit covariance ``s² (JᵀJ)⁻¹``, ``s²`` the residual variance: the scatter of
the masses is not known in advance, so it is measured. They are statistical (rungs independent). A
wiggle is *identifiable* only if it beats the line by an F-test whose p-value times the number of
independent periods scanned (the look-elsewhere effect) is below ``max_false_alarm``, the ladder
spans two periods, and the period is known to ``max_spread`` of itself.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from physml.simulators.collapse.critical import CriticalSearch, MassScaling

__all__ = ["CriticalLaws", "EchoLaw", "ScalingLaw", "discover_critical_laws", "fit_echoes", "fit_mass_scaling"]

#: Published values (Gundlach 1997): γ = 0.374 ± 0.001, Δ = 3.4453 ± 0.0005.
REFERENCE = {"gamma": (0.374, 0.001), "Delta": (3.4453, 0.0005)}
#: Fewest rungs for the line + wiggle (five parameters) to leave residual degrees of freedom.
MIN_RUNGS = 8


@dataclass(frozen=True)
class ScalingLaw:
    """``ln M`` against ``x = ln(p - p*)``: the line ``γ x + c`` and the line + wiggle.

    ``gamma``, ``period`` (ϖ), ``amplitude`` (A), ``phase`` (φ, in ``[0, 2π)``) and ``delta = 2γϖ``
    are the wiggle fit's, each with its standard error ``*_error``; ``line_gamma`` ± ``line_gamma_error``
    the line's. ``line_rms``, ``rms``: residual RMS of each. ``f_statistic``, ``false_alarm``: the
    F-test of the wiggle and its p-value times the periods scanned. ``identifiable`` is ``False`` with
    a ``reason`` when the masses do not pin the wiggle down (its numbers are then only the best fit).
    """

    offsets: np.ndarray
    masses: np.ndarray
    gamma: float
    gamma_error: float
    intercept: float
    period: float
    period_error: float
    amplitude: float
    amplitude_error: float
    phase: float
    delta: float
    delta_error: float
    line_gamma: float
    line_gamma_error: float
    line_rms: float
    rms: float
    f_statistic: float
    false_alarm: float
    identifiable: bool
    reason: str = ""

    @property
    def efolds(self) -> float:
        """Span of the ladder in e-folds of ``p - p*``."""
        return float(np.log(self.offsets.max() / self.offsets.min()))

    def wiggle(self, x: np.ndarray) -> np.ndarray:
        """``A sin(2π x / ϖ + φ)`` at ``x = ln(p - p*)``."""
        return self.amplitude * np.sin(2 * np.pi * np.asarray(x) / self.period + self.phase)


@dataclass(frozen=True)
class EchoLaw:
    """``T* - T_k = B e^{-kΔ/2}`` fitted to the zeros ``T_k`` of the central field.

    ``delta`` ± ``delta_error``, ``t_star`` ± ``t_star_error``, ``scale`` (B): the fit of ``ln(T* - T_k)``;
    ``gap_delta`` ± ``gap_delta_error``: the line through ``ln(T_{k+1} - T_k)``; ``pairwise_delta`` ±
    ``pairwise_error``: mean and standard error of ``2 ln(gap_k / gap_{k+1})``
    (:func:`~physml.simulators.collapse.critical.echoing_period`). NaN where too few zeros.
    """

    zeros: np.ndarray
    delta: float
    delta_error: float
    t_star: float
    t_star_error: float
    scale: float
    gap_delta: float
    gap_delta_error: float
    pairwise_delta: float
    pairwise_error: float
    identifiable: bool
    reason: str = ""


@dataclass(frozen=True)
class CriticalLaws:
    """Both laws, the threshold they were measured at, and their errors against the published values."""

    scaling: ScalingLaw
    echoes: EchoLaw
    p_star: float
    relative_bracket: float
    #: The echo law of the other end of the bracket (supercritical), as near p*: a check of ``echoes``.
    echoes_check: EchoLaw | None = None
    settings: dict = field(default_factory=dict)

    @property
    def identifiable(self) -> bool:
        return self.scaling.identifiable and self.echoes.identifiable

    @property
    def reason(self) -> str:
        parts = [f"{name}: {law.reason}" for name, law in (("wiggle", self.scaling), ("echoes", self.echoes))
                 if not law.identifiable]  # fmt: skip
        return "; ".join(parts)

    def errors(self) -> dict[str, dict[str, float]]:
        """Per estimate: value, error, relative error against the published value, and the difference in
        combined standard errors (ours and the published one)."""
        s, e = self.scaling, self.echoes
        estimates = {"gamma (line)": ("gamma", s.line_gamma, s.line_gamma_error),
                     "gamma (line + wiggle)": ("gamma", s.gamma, s.gamma_error),
                     "Delta (wiggle, 2 gamma varpi)": ("Delta", s.delta, s.delta_error),
                     "Delta (echo law)": ("Delta", e.delta, e.delta_error)}  # fmt: skip
        if self.echoes_check is not None:
            estimates["Delta (echo law, other end)"] = ("Delta", self.echoes_check.delta, self.echoes_check.delta_error)
        out = {}
        for name, (key, value, error) in estimates.items():
            ref, ref_error = REFERENCE[key]
            out[name] = {"value": value, "error": error, "relative_error": (value - ref) / ref,
                         "sigmas": (value - ref) / math.hypot(error, ref_error)}  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""

        def plain(law: Any) -> dict[str, Any] | None:
            return None if law is None else {k: v.tolist() if isinstance(v, np.ndarray) else v
                                             for k, v in asdict(law).items()}  # fmt: skip

        return {"p_star": self.p_star, "relative_bracket": self.relative_bracket,
                "scaling": {**plain(self.scaling), "efolds": self.scaling.efolds}, "echoes": plain(self.echoes),
                "echoes_check": plain(self.echoes_check), "errors": self.errors(), "published": REFERENCE,
                "identifiable": self.identifiable, "reason": self.reason, "settings": self.settings}  # fmt: skip


def _lstsq(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their covariance ``s² (XᵀX)⁻¹`` and the residual sum of squares."""
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rss = float(np.sum((y - design @ coef) ** 2))
    dof = len(y) - design.shape[1]
    return coef, rss / max(dof, 1) * np.linalg.inv(design.T @ design), rss


def _wiggle_design(u: np.ndarray, frequency: float) -> np.ndarray:
    return np.stack([u, np.ones_like(u), np.sin(2 * np.pi * frequency * u), np.cos(2 * np.pi * frequency * u)], 1)


def fit_mass_scaling(
    offsets: np.ndarray, masses: np.ndarray, *, max_false_alarm: float = 1e-3, max_spread: float = 0.1
) -> ScalingLaw:
    """Fit ``ln M = γ x + c`` and ``ln M = γ x + c + A sin(2π x / ϖ + φ)``, ``x = ln(p - p*)``.

    Parameters
    ----------
    offsets, masses
        ``(n,)`` ``p - p*`` (absolute, > 0, distinct) and the black-hole masses (> 0); ``n >= 8``.
    max_false_alarm, max_spread
        Largest look-elsewhere-corrected F-test p-value (in ``(0, 1)``) and relative standard error
        ``σ_ϖ / ϖ`` (> 0) of an identifiable wiggle.

    Returns
    -------
    ScalingLaw
        Both fits with standard errors, ``Δ = 2γϖ``, and whether the wiggle is identifiable. Example:
        ``fit_mass_scaling(scaling.offsets, scaling.masses)`` on a ``mass_scaling`` ladder of 40 rungs.
    """
    from scipy.optimize import least_squares
    from scipy.stats import f as f_distribution

    offsets, masses = np.asarray(offsets, dtype=np.float64), np.asarray(masses, dtype=np.float64)
    if offsets.ndim != 1 or len(offsets) < MIN_RUNGS or masses.shape != offsets.shape:
        raise ValueError(f"rungs = {len(offsets)} (offsets {offsets.shape}, masses {masses.shape}) is invalid: "
                         f"need >= {MIN_RUNGS} offsets and as many masses for the line + wiggle")  # fmt: skip
    for name, values in (("offsets", offsets), ("masses", masses)):
        bad = values[~(np.isfinite(values) & (values > 0))]
        if bad.size:
            raise ValueError(f"{name} containing {bad[:3].tolist()} are invalid: need finite values > 0")
    if len(np.unique(offsets)) != len(offsets):
        raise ValueError(f"offsets = {offsets.tolist()} are invalid: they must be distinct")
    if not 0 < max_false_alarm < 1 or not max_spread > 0:
        raise ValueError(f"max_false_alarm = {max_false_alarm!r}, max_spread = {max_spread!r} are invalid: "
                         "need 0 < max_false_alarm < 1 and max_spread > 0")  # fmt: skip
    order = np.argsort(offsets)
    offsets, masses = offsets[order], masses[order]
    x, y = np.log(offsets), np.log(masses)
    n, centre, span = len(x), float(x.mean()), float(x[-1] - x[0])
    u = x - centre  # the phase is measured from the middle of the ladder, where it is least correlated with ϖ
    line, line_cov, line_rss = _lstsq(np.stack([u, np.ones(n)], 1), y)
    # Periods the ladder can resolve: two or more in the span, down to near twice the median rung spacing.
    f_low, f_high = 2 / span, 0.9 / (2 * float(np.median(np.diff(x))))
    trials = max(1.0, span * (f_high - f_low))  # independent periods scanned (a periodogram's bandwidth 1/span)
    scan = np.linspace(f_low, f_high, max(50, int(20 * trials)))
    rss = [_lstsq(_wiggle_design(u, f), y)[2] for f in scan]
    f0 = float(scan[int(np.argmin(rss))])
    start = np.append(_lstsq(_wiggle_design(u, f0), y)[0], f0)

    def residual(theta: np.ndarray) -> np.ndarray:
        return _wiggle_design(u, theta[4]) @ theta[:4] - y

    def jacobian(theta: np.ndarray) -> np.ndarray:
        design, (a, b) = _wiggle_design(u, theta[4]), theta[2:4]
        d_frequency = 2 * np.pi * u * (a * design[:, 3] - b * design[:, 2])
        return np.column_stack([design, d_frequency])

    fit = least_squares(residual, start, jac=jacobian, bounds=([-np.inf] * 4 + [0.5 * f_low], [np.inf] * 4 + [f_high]))
    gamma, c, a, b, frequency = fit.x
    wiggle_rss = float(np.sum(fit.fun**2))
    dof, normal = n - 5, fit.jac.T @ fit.jac
    # A wiggle at Nyquist or of no amplitude leaves a direction unconstrained: no error bar, not a zero one.
    cov = wiggle_rss / max(dof, 1) * np.linalg.inv(normal) if np.linalg.cond(normal) < 1e12 else np.full((5, 5), np.nan)
    period, amplitude = 1 / frequency, math.hypot(a, b)
    period_error = math.sqrt(cov[4, 4]) / frequency**2
    amplitude_error = math.sqrt(abs(np.array([a, b]) @ cov[2:4, 2:4] @ np.array([a, b]))) / max(amplitude, 1e-300)
    gradient = np.array([2 / frequency, -2 * gamma / frequency**2])  # ∂(2γ/f)/∂(γ, f)
    delta_error = math.sqrt(gradient @ cov[np.ix_([0, 4], [0, 4])] @ gradient)
    # A sin(2πu/ϖ + ψ) with a = A cos ψ, b = A sin ψ; in x: φ = ψ - 2π centre / ϖ.
    phase = (math.atan2(b, a) - 2 * math.pi * centre * frequency) % (2 * math.pi)
    f_statistic = ((line_rss - wiggle_rss) / 3) / (wiggle_rss / dof) if dof > 0 and wiggle_rss > 0 else math.inf
    false_alarm = min(1.0, trials * float(f_distribution.sf(f_statistic, 3, dof))) if dof > 0 else 1.0
    reasons = []
    if not false_alarm <= max_false_alarm:
        reasons.append(f"the wiggle does not beat the line (F = {f_statistic:.3g}, false-alarm probability "
                       f"{false_alarm:.2g} over {trials:.1f} periods scanned > {max_false_alarm:g})")  # fmt: skip
    if span < 2 * period:
        reasons.append(f"the ladder spans {span / period:.2f} periods (< 2)")
    if not period_error <= max_spread * period:
        reasons.append(f"the period is uncertain ({period:.3g} ± {period_error:.2g}, > {max_spread:g} of it)")
    return ScalingLaw(
        offsets, masses, float(gamma), math.sqrt(cov[0, 0]), float(c - gamma * centre), float(period), period_error,
        amplitude, amplitude_error, phase, float(2 * gamma * period), delta_error, float(line[0]),
        math.sqrt(line_cov[0, 0]), math.sqrt(line_rss / n), math.sqrt(wiggle_rss / n), float(f_statistic),
        false_alarm, not reasons, "; ".join(reasons),
    )  # fmt: skip


def fit_echoes(zeros: np.ndarray, *, max_spread: float = 0.05) -> EchoLaw:
    """Fit ``ln(T* - T_k) = ln B - kΔ/2`` (``T* > T_k``) to increasing zeros ``T_k`` of the central field.

    Four or more zeros fit the law (three parameters) and the line through the log gaps; with fewer the
    result is NaN and not identifiable, as it is when ``σ_Δ / Δ > max_spread``. Standard errors from the
    fit covariance (module doc). Example: ``fit_echoes(echoing_period(search.subcritical).zeros)``.
    """
    from scipy.optimize import least_squares

    T = np.asarray(zeros, dtype=np.float64)
    if T.ndim != 1 or not np.all(np.isfinite(T)) or np.any(np.diff(T) <= 0):
        raise ValueError(f"zeros = {zeros!r} are invalid: need a finite, strictly increasing 1-D sequence")
    nan = math.nan
    if len(T) < 4:
        return EchoLaw(T, nan, nan, nan, nan, nan, nan, nan, nan, nan, False,
                       f"{len(T)} zeros: the echo law's three parameters need >= 4")  # fmt: skip
    k, gaps = np.arange(len(T), dtype=np.float64), np.diff(T)
    pairwise = 2 * np.log(gaps[:-1] / gaps[1:])
    line, line_cov, _ = _lstsq(np.stack([k[:-1], np.ones(len(gaps))], 1), np.log(gaps))

    def residual(theta: np.ndarray) -> np.ndarray:  # theta = (ln(T* - T_last), ln B, Δ)
        return np.log(T[-1] - T + np.exp(theta[0])) - theta[1] + 0.5 * k * theta[2]

    last = gaps[-1] ** 2 / max(gaps[-2] - gaps[-1], 1e-3 * gaps[-1])  # geometric series of the last two gaps
    fit = least_squares(residual, [math.log(last), math.log(T[-1] - T[0] + last), float(np.mean(pairwise))])
    dof = len(T) - 3
    cov = float(np.sum(fit.fun**2)) / max(dof, 1) * np.linalg.pinv(fit.jac.T @ fit.jac)
    log_last, log_scale, delta = fit.x
    error = math.sqrt(cov[2, 2])
    reason = "" if error <= max_spread * abs(delta) else f"Δ = {delta:.4g} ± {error:.2g} (> {max_spread:g} of it)"
    return EchoLaw(
        T, float(delta), error, float(T[-1] + math.exp(log_last)),
        math.exp(log_last) * math.sqrt(cov[0, 0]), math.exp(log_scale), float(-2 * line[0]),
        2 * math.sqrt(line_cov[0, 0]), float(np.mean(pairwise)),
        float(np.std(pairwise, ddof=1) / math.sqrt(len(pairwise))) if len(pairwise) > 1 else nan,
        not reason, reason,
    )  # fmt: skip


def discover_critical_laws(search: CriticalSearch, scaling: MassScaling, **options: float) -> CriticalLaws:
    """Both laws from a :func:`~physml.simulators.collapse.critical.find_critical_amplitude` search and a
    :func:`~physml.simulators.collapse.critical.mass_scaling` ladder; ``options`` go to :func:`fit_mass_scaling`.

    The echoes are those of the subcritical end of the bracket (as ``physml critical``'s), checked on the
    supercritical end.
    """
    from physml.simulators.collapse.critical import echoing_period

    law = fit_mass_scaling(scaling.offsets, scaling.masses, **options)
    sub, sup = (fit_echoes(echoing_period(run).zeros) for run in (search.subcritical, search.supercritical))
    settings = {"rungs": len(scaling.masses), "efolds": scaling.efolds, "runs": len(search.history), **options}
    return CriticalLaws(law, sub, search.p_star, search.relative_bracket, sup, settings)
