"""Critical behaviour: the threshold amplitude p*, the mass-scaling exponent γ and the echoing period Δ.

Near the threshold of black-hole formation every one-parameter family of data
passes close to one discretely self-similar solution (Choptuik 1993):

* black-hole masses scale as ``M ∝ (p - p*)^γ`` with ``γ ≈ 0.374`` (Gundlach 1997);
* the central field echoes: ``φ(T, 0)`` is periodic in ``τ = -ln(T* - T)`` with period
  ``Δ ≈ 3.4453``, where ``T`` is the central proper time, and changes sign every ``Δ/2``.

:func:`find_critical_amplitude` brackets ``p*`` by bisection on the run's outcome,
:func:`mass_scaling` evolves a ladder of supercritical amplitudes and fits
``ln M = γ ln(p - p*) + c``, :func:`echoing_period` reads Δ off the zeros of the
central φ of a near-critical run: successive zeros at ``T_k`` with
``T* - T_k ∝ e^{-k Δ/2}`` have gaps ``T_{k+1} - T_k ∝ e^{-k Δ/2}``, so the ratio of
consecutive gaps is ``e^{Δ/2}`` whatever ``T*`` is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from physml.progress import Progress
from physml.progress import progress as progress_display
from physml.simulators.collapse.grid import RadialGrid
from physml.simulators.collapse.initial import ShellData
from physml.simulators.collapse.refinement import Refinement
from physml.simulators.collapse.run import CollapseRun, Detection, evolve
from physml.simulators.errors import UnstableRunError

__all__ = [
    "REFERENCE_ECHOING_PERIOD",
    "REFERENCE_GAMMA",
    "CriticalSearch",
    "EchoEstimate",
    "MassScaling",
    "echoing_period",
    "find_critical_amplitude",
    "mass_scaling",
]

#: Mass-scaling exponent (Gundlach, PRD 55, 695, 1997: γ = 0.374 ± 0.001).
REFERENCE_GAMMA = 0.374

#: Consecutive gaps between zeros of the central field shrinking by less than this factor mark
#: the end of the echoing regime (echoes shrink them by ``e^{Δ/2} ≈ 5.6``).
DEPARTURE_RATIO = 2.0

#: Echoing period of the Choptuik solution (Gundlach, PRD 55, 695, 1997: Δ = 3.4453 ± 0.0005).
REFERENCE_ECHOING_PERIOD = 3.4453


@dataclass(frozen=True, eq=False)
class CriticalSearch:
    """A bisection: ``p*`` is bracketed by ``[lower, upper]`` (lower disperses, upper forms a hole).

    ``history`` holds ``(p, outcome)`` of every run (outcome ``"unresolved"`` for a run that lost
    resolution); ``subcritical`` and ``supercritical`` are the runs at the final bracket ends (the
    most nearly critical ones). ``limit`` says what ended the search: ``"tolerance"`` (the bracket is
    as narrow as asked), ``"round-off"`` or ``"resolution"`` (a run came so close to the critical
    solution that its smallest echo fell below the grid spacing).
    """

    p_star: float
    lower: float
    upper: float
    history: list[tuple[float, str]]
    subcritical: CollapseRun
    supercritical: CollapseRun
    limit: str = "tolerance"

    @property
    def relative_bracket(self) -> float:
        return (self.upper - self.lower) / self.p_star


@dataclass(frozen=True, eq=False)
class MassScaling:
    """Black-hole masses on a ladder of ``p - p*`` and the fit ``ln M = γ ln(p - p*) + c``."""

    p_star: float
    offsets: np.ndarray
    masses: np.ndarray
    gamma: float
    gamma_error: float
    intercept: float
    runs: list[CollapseRun] = field(repr=False, default_factory=list)

    @property
    def efolds(self) -> float:
        """Span of the ladder in e-folds of ``p - p*``."""
        return float(np.log(self.offsets.max() / self.offsets.min()))


@dataclass(frozen=True)
class EchoEstimate:
    """Echoing period from the central field of a near-critical run.

    Attributes
    ----------
    period
        Δ: the mean of ``pairwise`` (NaN when fewer than three zeros were seen).
    t_star
        Accumulation time ``T*`` (central proper time) from the geometric series of the last gaps.
    zeros, extrema
        Central proper times of the sign changes of φ(T, 0) and of its extrema (zeros of Π(T, 0)) used,
        i.e. before the run departs from the critical solution.
    pairwise
        ``2 ln(gap_k / gap_{k+1})`` from consecutive gaps between zeros of φ: Δ without ``T*``.
        Their spread shows how far the run is from the asymptotic regime.
    """

    period: float
    t_star: float
    zeros: np.ndarray
    extrema: np.ndarray
    pairwise: np.ndarray

    @property
    def n_echoes(self) -> float:
        """Echoes observed: half-periods between the first and last event, over two."""
        return max(0, len(self.zeros) + len(self.extrema) - 2) / 4


def _outcome(run: CollapseRun) -> bool:
    if run.outcome == "undecided":
        raise ValueError(
            f"t_final = {run.t_end:g} is invalid for {run.data.describe()}: the run neither formed a black hole "
            "nor dispersed; raise t_final"
        )
    return run.collapsed


def find_critical_amplitude(
    grid: RadialGrid,
    data: ShellData,
    *,
    p_low: float,
    p_high: float,
    t_final: float,
    tolerance: float = 1e-12,
    cfl: float = 0.5,
    dissipation: float = 0.5,
    detection: Detection | None = None,
    refinement: Refinement | None = None,
    progress: bool = False,
) -> CriticalSearch:
    """Bisect on the amplitude until ``(upper - lower) / p* <= tolerance``.

    Parameters
    ----------
    grid, data
        Grid and a member of the family (its amplitude is ignored).
    p_low, p_high
        A bracket: ``p_low`` must disperse and ``p_high`` form a black hole (checked).
    t_final
        Longest run; every run must end in an event by then.
    tolerance
        Relative bracket width to stop at, in ``[1e-15, 0.5]`` (1e-12 by default). On a fixed grid the
        search usually stops earlier, when a run loses resolution (``limit = "resolution"``): the
        smallest echo has size ~``(p - p*)^γ`` times the data's scale.
    cfl, dissipation, detection, refinement
        Passed to :func:`~physml.simulators.collapse.run.evolve`. With a
        :class:`~physml.simulators.collapse.refinement.Refinement` the grid zooms on the centre and
        the search reaches 1e-12.
    progress
        Count the runs (:func:`physml.progress.progress`; the total assumes the search reaches ``tolerance``).

    Returns
    -------
    CriticalSearch
        ``p* = (lower + upper) / 2`` and the runs at both ends.
    """
    if not 0 < p_low < p_high:
        raise ValueError(f"p_low = {p_low!r}, p_high = {p_high!r} are invalid: need 0 < p_low < p_high")
    if not 1e-15 <= tolerance <= 0.5:
        raise ValueError(f"tolerance = {tolerance!r} is invalid: must be in [1e-15, 0.5]")

    def run(p: float) -> CollapseRun:
        return evolve(
            grid,
            data.with_amplitude(p),
            t_final=t_final,
            cfl=cfl,
            dissipation=dissipation,
            detection=detection,
            refinement=refinement,
        )

    halvings = max(0, math.ceil(math.log2((p_high - p_low) / (0.5 * (p_high + p_low)) / tolerance)))
    with progress_display(total=2 + halvings, desc="bisection", unit="run", enabled=progress) as bar:
        return _bisect(run, bar, p_low, p_high, tolerance)


def _bisect(
    run: Callable[[float], CollapseRun], bar: Progress, p_low: float, p_high: float, tolerance: float
) -> CriticalSearch:
    low, high = run(p_low), run(p_high)
    bar.update(2)
    if _outcome(low):
        raise ValueError(f"p_low = {p_low!r} is invalid: it already forms a black hole")
    if not _outcome(high):
        raise ValueError(f"p_high = {p_high!r} is invalid: it disperses")
    history = [(p_low, low.outcome), (p_high, high.outcome)]
    lower, upper, limit = p_low, p_high, "tolerance"
    while (upper - lower) / (0.5 * (upper + lower)) > tolerance:
        p = 0.5 * (lower + upper)
        if p in (lower, upper):
            limit = "round-off"
            break
        try:
            result = run(p)
        except UnstableRunError:
            # A fixed grid resolves echoes only down to its central spacing: near enough to p*,
            # every run loses resolution (Choptuik 1993 needed mesh refinement to go further).
            history.append((p, "unresolved"))
            limit = "resolution"
            break
        history.append((p, result.outcome))
        bar.update(1)
        if _outcome(result):
            upper, high = p, result
        else:
            lower, low = p, result
    return CriticalSearch(0.5 * (lower + upper), lower, upper, history, low, high, limit)


def mass_scaling(
    grid: RadialGrid,
    data: ShellData,
    p_star: float,
    *,
    offsets: Sequence[float],
    t_final: float,
    cfl: float = 0.5,
    dissipation: float = 0.5,
    detection: Detection | None = None,
    refinement: Refinement | None = None,
    progress: bool = False,
) -> MassScaling:
    """Black-hole masses at ``p = p* (1 + offset)`` and the least-squares fit of ``ln M`` on ``ln(p - p*)``.

    ``offsets`` are relative (``(p - p*) / p*``), positive and distinct; at least three. Each run
    must form a black hole. ``gamma_error`` is the fit's standard error. ``progress`` counts the runs
    (:func:`physml.progress.progress`).
    """
    rel = np.asarray(offsets, dtype=np.float64)
    if rel.ndim != 1 or len(rel) < 3 or np.any(~(rel > 0)) or len(np.unique(rel)) != len(rel):
        raise ValueError(f"offsets = {offsets!r} are invalid: need three or more distinct values > 0")
    runs = []
    with progress_display(total=len(rel), desc="mass ladder", unit="hole", enabled=progress) as bar:
        for eps in rel:
            runs.append(_ladder_run(grid, data, p_star, eps, t_final, cfl, dissipation, detection, refinement))
            bar.update(1)
    masses = np.array([r.black_hole_mass for r in runs])
    x, y = np.log(rel * p_star), np.log(masses)
    if len(x) > 3:  # a standard error needs more points than parameters + 1
        (gamma, intercept), cov = np.polyfit(x, y, 1, cov=True)
        error = float(np.sqrt(cov[0, 0]))
    else:
        (gamma, intercept), error = np.polyfit(x, y, 1), math.nan
    return MassScaling(p_star, rel * p_star, masses, float(gamma), error, float(intercept), runs)


def _ladder_run(
    grid: RadialGrid,
    data: ShellData,
    p_star: float,
    eps: float,
    t_final: float,
    cfl: float,
    dissipation: float,
    detection: Detection | None,
    refinement: Refinement | None,
) -> CollapseRun:
    """One rung of the mass ladder: ``p = p* (1 + eps)``, which must form a black hole."""
    result = evolve(
        grid,
        data.with_amplitude(p_star * (1 + eps)),
        t_final=t_final,
        cfl=cfl,
        dissipation=dissipation,
        detection=detection,
        refinement=refinement,
    )
    if not _outcome(result):
        raise ValueError(f"offsets contain {eps!r}: p = p* (1 + {eps:g}) disperses; is p* = {p_star!r} right?")
    return result


def _sign_changes(T: np.ndarray, f: np.ndarray, skip: int) -> np.ndarray:
    """Times where ``f`` changes sign (linear interpolation), after the first ``skip``, up to where their
    gaps stop shrinking geometrically."""
    change = np.nonzero(np.sign(f[1:]) * np.sign(f[:-1]) < 0)[0]
    times = T[change] - f[change] * (T[change + 1] - T[change]) / (f[change + 1] - f[change])
    times = times[skip:]  # the first implosion is not yet self-similar: it must not end the echo train
    gaps = np.diff(times)
    # After the last echo the run departs from the critical solution: gaps stop shrinking
    # geometrically (they shrink by e^{Δ/2} ≈ 5.6 while echoing; a factor below 2 is no echo).
    departed = np.nonzero(gaps[1:] * DEPARTURE_RATIO > gaps[:-1])[0]
    return times if departed.size == 0 else times[: departed[0] + 2]


def echoing_period(run: CollapseRun, *, skip: int = 1) -> EchoEstimate:
    """Δ from the zeros of the central φ against central proper time ``T``.

    In the echoing regime φ(T, 0) changes sign every Δ/2 in ``τ = -ln(T* - T)``, so successive gaps
    between zeros shrink by ``e^{Δ/2}``: each pair of consecutive gaps gives ``Δ = 2 ln(gap_k /
    gap_{k+1})`` without knowing ``T*``, and ``period`` is their mean. ``skip`` leading zeros are
    dropped (the first implosion is not yet self-similar); zeros after the run departs from the
    critical solution (gaps growing again) are dropped too. ``t_star`` sums the geometric series of
    the last two gaps. The extrema of φ (zeros of Π(T, 0)) are returned for plots.
    """
    T = run.central["T"]
    zeros = _sign_changes(T, run.central["phi_c"], skip)
    extrema = _sign_changes(T, run.central["Pi_c"], skip)
    if len(zeros) < 3:
        return EchoEstimate(math.nan, math.nan, zeros, extrema, np.zeros(0))
    gaps = np.diff(zeros)
    pairwise = 2.0 * np.log(gaps[:-1] / gaps[1:])
    t_star = zeros[-1] + gaps[-1] ** 2 / (gaps[-2] - gaps[-1])
    return EchoEstimate(float(np.mean(pairwise)), float(t_star), zeros, extrema, pairwise)
