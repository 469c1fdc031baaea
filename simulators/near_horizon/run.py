"""Evolve one multipole and extract waveforms (and snapshots) with either integrator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from physml.progress import progress as progress_display
from physml.simulators.errors import UnstableRunError
from physml.simulators.limits import check_steps
from physml.simulators.near_horizon.double_null import march_double_null
from physml.simulators.near_horizon.initial import Pulse
from physml.simulators.near_horizon.method_of_lines import (
    MAX_COURANT,
    interpolation_stencil,
    mol_advance,
    second_derivative,
)
from physml.simulators.near_horizon.potentials import Perturbation, radius_from_tortoise

__all__ = [
    "SCHEMES",
    "NearHorizonRun",
    "Snapshots",
    "causal_domain",
    "check_resolution",
    "evolve",
    "snapshot_grid",
    "wave_energy",
]

#: The integrators: ``"mol"`` (4th-order finite differences + RK4, order 4) and ``"double-null"`` (GPP, order 2).
SCHEMES = {"mol": 4, "double-null": 2}

#: Grid points per full width at half maximum of the potential barrier, at least.
POINTS_PER_PEAK = 20

#: Extra room (in M) beyond the causal minimum at each end of a method-of-lines domain: finite-difference
#: stencils carry exponentially small signals slightly faster than light.
CAUSAL_MARGIN = 20.0


@dataclass(frozen=True)
class Snapshots:
    """Which field snapshots to keep (method of lines only).

    ``n_saves + 1`` snapshots at ``t = k t_final / n_saves`` on ``r* ∈ [r_star_min, r_star_max]``,
    every ``stride``-th grid point.
    """

    r_star_min: float
    r_star_max: float
    n_saves: int
    stride: int = 1

    def __post_init__(self) -> None:
        if not self.r_star_min < self.r_star_max:
            raise ValueError(f"r_star_min = {self.r_star_min!r} is invalid: must be < r_star_max = {self.r_star_max!r}")
        if int(self.n_saves) != self.n_saves or self.n_saves < 1:
            raise ValueError(f"n_saves = {self.n_saves!r} is invalid: must be an integer >= 1")
        if int(self.stride) != self.stride or self.stride < 1:
            raise ValueError(f"stride = {self.stride!r} is invalid: must be an integer >= 1")
        object.__setattr__(self, "n_saves", int(self.n_saves))
        object.__setattr__(self, "stride", int(self.stride))


@dataclass(frozen=True, eq=False)
class NearHorizonRun:
    """Waveforms (and optional snapshots) of one evolved multipole.

    Attributes
    ----------
    t
        ``(n_t,)`` sample times of the waveforms (``t = 0``: the pulse is at its centre).
    r_star
        ``(n_obs,)`` extraction radii in ``r*`` (the double-null scheme snaps them to its diagonals).
    waveforms
        ``(n_obs, n_t)`` ψ at each radius; NaN where the double-null quadrant does not reach yet.
    snapshot_t, snapshot_r_star, snapshots
        ``(n_saves + 1,)``, ``(n_x,)`` and ``(n_saves + 1, n_x)`` field snapshots (empty when not asked for).
    energy
        MOL only: the wave energy ``E = ½ ∫ (π² + ψ'² + V ψ²) dr*`` in the form the semi-discrete
        scheme conserves exactly, ``½ h Σ (π² - ψ D₂ψ + V ψ²)``, over the whole domain at the snapshot
        times (at the start and end without snapshots). Its drift is the time stepping's alone: RK4
        loses ``(ω dt)⁶ / 72`` of a mode's energy per step, so the drift falls as ``dt⁵``.
    h, dt
        Grid spacing in ``r*`` (or in ``u``, ``v``) and time step.
    """

    perturbation: Perturbation
    scheme: str
    t: np.ndarray
    r_star: np.ndarray
    waveforms: np.ndarray
    h: float
    dt: float
    snapshot_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshot_r_star: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshots: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def r(self) -> np.ndarray:
        """Areal radii of the extraction points."""
        return radius_from_tortoise(self.r_star, self.perturbation.mass)

    def waveform(self, r_star: float) -> np.ndarray:
        """The waveform extracted nearest to ``r_star``."""
        return self.waveforms[int(np.argmin(np.abs(self.r_star - r_star)))]


def causal_domain(
    pulse: Pulse, extract_at: Sequence[float], t_final: float, *, margin: float = CAUSAL_MARGIN
) -> tuple[float, float]:
    """An ``r*`` interval that nothing leaving the data reaches before ``t_final``.

    Data supported on ``[s0, s1]`` spread at most at the speed of light, so on
    ``[s0 - t_final, s1 + t_final]`` (widened by ``margin``, and to hold ``extract_at``) the ends never
    see the field: the boundary conditions there play no role, nothing is reflected, and the wave
    energy inside is conserved (the check on the run). It costs about twice the smallest interval
    that merely keeps reflections away from the extraction points.
    """
    s0, s1 = pulse.support
    x = np.asarray(extract_at, dtype=np.float64)
    return float(min(s0 - t_final, x.min()) - margin), float(max(s1 + t_final, x.max()) + margin)


def check_resolution(perturbation: Perturbation, h: float, pulse: Pulse | None = None) -> None:
    """Raise ``ValueError`` unless ``h`` resolves the potential barrier (and the pulse, when its scale is known)."""
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h = {h!r} is invalid: must be finite and > 0")
    peak = perturbation.peak
    if h > peak.fwhm / POINTS_PER_PEAK:
        raise ValueError(
            f"h = {h!r} is invalid: the grid does not resolve the potential peak of {perturbation.describe()} "
            f"(FWHM {peak.fwhm:.3g} in r*); need h <= FWHM / {POINTS_PER_PEAK} = {peak.fwhm / POINTS_PER_PEAK:.3g}"
        )
    if pulse is not None and pulse.scale is not None and h > pulse.scale / 4:
        raise ValueError(f"h = {h!r} is invalid: the pulse (width {pulse.scale}) needs h <= {pulse.scale / 4:.3g}")


def snapshot_grid(snapshots: Snapshots, h: float) -> np.ndarray:
    """The ``r*`` points a MOL run with spacing ``h`` stores: multiples of ``h`` in the window, every ``stride``-th.

    MOL grids are anchored at ``r* = 0`` (points ``k h``), so the stored points depend only on
    ``h`` and the window, not on the initial data.
    """
    first = math.ceil(snapshots.r_star_min / h - 1e-9)
    last = math.floor(snapshots.r_star_max / h + 1e-9)
    return h * np.arange(first, last + 1, snapshots.stride)


def _check_inputs(perturbation: Perturbation, pulse: Pulse, h: float, t_final: float, extract_at) -> np.ndarray:
    if not isinstance(perturbation, Perturbation):
        raise ValueError(f"perturbation must be a Perturbation, got {type(perturbation).__name__}")
    if not isinstance(pulse, Pulse):
        raise ValueError(f"pulse must be a Pulse, got {type(pulse).__name__}")
    if not (math.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final = {t_final!r} is invalid: must be finite and > 0")
    check_resolution(perturbation, h, pulse)
    # Both schemes update ~(t_final / h) points per step of h: the double-null march fills a (t/h)^2 diamond.
    check_steps((t_final / h) * (t_final / h), what=f"t_final = {t_final!r} with h = {h!r}")  # inf, not overflow
    x = np.atleast_1d(np.asarray(extract_at, dtype=np.float64))
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"extract_at = {extract_at!r} is invalid: need one or more finite r* values")
    return x


def evolve(
    perturbation: Perturbation,
    pulse: Pulse,
    *,
    t_final: float,
    extract_at: Sequence[float],
    scheme: str = "mol",
    h: float = 0.1,
    courant: float = 0.5,
    snapshots: Snapshots | None = None,
    progress: bool = False,
) -> NearHorizonRun:
    """Evolve ``-ψ_tt + ψ_r*r* - V ψ = 0`` from ``t = 0`` to ``t_final`` and record ψ at ``extract_at``.

    Parameters
    ----------
    perturbation
        The field, multipole and black hole (fixes ``V``).
    pulse
        Initial data (Cauchy data for ``"mol"``, characteristic data for ``"double-null"``).
    t_final
        End time (units of M).
    extract_at
        Tortoise radii of the extraction points, e.g. ``[-20, 10, 100]`` (near the horizon to far away).
    scheme
        ``"mol"`` or ``"double-null"`` (see :data:`SCHEMES`).
    h
        Grid spacing in ``r*`` (MOL) or in ``u`` and ``v`` (double null); must resolve the barrier.
    courant
        Largest ``dt / h`` for MOL (below ``sqrt(3/2)``); ``dt`` is lowered so whole steps fill each
        save interval. The double-null scheme steps by ``h`` and ignores it.
    snapshots
        Field snapshots to keep (MOL only).
    progress
        Show a progress bar.

    Returns
    -------
    NearHorizonRun
        Waveforms every ``h`` in time (MOL: every ``round(1/courant)`` steps, at most ``h`` apart) and
        the snapshots. The double-null scheme snaps extraction points to its diagonals (multiples of
        ``h`` from the pulse centre) and has no value before its quadrant reaches them (NaN).

    Examples
    --------
    >>> from physml.simulators.near_horizon import Perturbation, gaussian_pulse
    >>> run = evolve(Perturbation(s=2, l=2), gaussian_pulse(center=30.0, width=3.0), t_final=50.0,
    ...              extract_at=[0.0], h=0.25)
    >>> run.waveforms.shape
    (1, 201)
    """
    x = _check_inputs(perturbation, pulse, h, t_final, extract_at)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme = {scheme!r} is invalid: choose one of {', '.join(SCHEMES)}")
    if scheme == "double-null":
        if snapshots is not None:
            raise ValueError("snapshots are invalid with scheme='double-null': its slices are null, use scheme='mol'")
        return _evolve_double_null(perturbation, pulse, t_final=t_final, extract_at=x, h=h)
    if not (0 < courant < MAX_COURANT):
        raise ValueError(
            f"courant = {courant!r} is invalid: RK4 with 4th-order differences needs 0 < dt/h < {MAX_COURANT:.4f}"
        )
    return _evolve_mol(
        perturbation, pulse, t_final=t_final, extract_at=x, h=h, courant=courant, snapshots=snapshots, progress=progress
    )


def _evolve_double_null(
    perturbation: Perturbation, pulse: Pulse, *, t_final: float, extract_at: np.ndarray, h: float
) -> NearHorizonRun:
    s0, s1 = pulse.support
    # The quadrant u >= u0, v >= v0 holds (t, r*) from t = max(r* - s1, s0 - r*) on.
    unreached = extract_at[(extract_at <= s0 - t_final) | (extract_at >= s1 + t_final)]
    if unreached.size:
        raise ValueError(
            f"extract_at = {unreached.tolist()} is invalid: the double-null quadrant of data on "
            f"[{s0:g}, {s1:g}] reaches only r* in ({s0 - t_final:g}, {s1 + t_final:g}) by t_final = {t_final:g}"
        )
    u0, v0 = -s1, s0  # null rays through the edges of the pulse at t = 0 (their corner is at r* = (s0 + s1)/2)
    t_corner, r_corner = 0.5 * (u0 + v0), 0.5 * (v0 - u0)
    # Waveforms sit on even diagonals k = 2m: r* = r_corner + m h, sampled at t = t_corner + n h.
    m = np.round((extract_at - r_corner) / h).astype(np.int64)
    if len(np.unique(m)) < len(m):
        raise ValueError(
            f"extract_at = {extract_at.tolist()} is invalid: points closer than h = {h} snap to the same "
            "double-null diagonal"
        )
    n_u = math.ceil((t_final - (r_corner + m.min() * h) - u0) / h) + 1
    n_v = math.ceil((t_final + (r_corner + m.max() * h) - v0) / h) + 1
    u = u0 + h * np.arange(n_u)
    v = v0 + h * np.arange(n_v)
    on_u0, on_v0 = pulse.null_data(u, v)
    diagonal_r_star = 0.5 * (v0 - u0) + 0.5 * h * np.arange(-(n_u - 1), n_v)  # r* of diagonal k at index k + n_u - 1
    potential = perturbation.potential_at(diagonal_r_star)
    along = march_double_null(on_u0, on_v0, potential, h, 2 * m)
    if not np.all(np.isfinite(along[~np.isnan(along)])):
        raise UnstableRunError(
            f"double-null evolution of {perturbation.describe()} produced non-finite values", step=n_u - 1, t=t_final
        )
    n_t = math.floor((t_final - t_corner) / h + 1e-9) + 1
    waveforms = np.full((len(m), n_t), np.nan)
    for o, shift in enumerate(m):  # row i of diagonal 2m is at time index n = i + m
        lo, hi = max(0, shift), min(n_t, n_u + shift)
        if hi > lo:
            waveforms[o, lo:hi] = along[o, lo - shift : hi - shift]
    return NearHorizonRun(
        perturbation=perturbation,
        scheme="double-null",
        t=t_corner + h * np.arange(n_t),
        r_star=r_corner + m * h,
        waveforms=waveforms,
        h=h,
        dt=h,
    )


def _evolve_mol(
    perturbation: Perturbation,
    pulse: Pulse,
    *,
    t_final: float,
    extract_at: np.ndarray,
    h: float,
    courant: float,
    snapshots: Snapshots | None,
    progress: bool,
) -> NearHorizonRun:
    kept = extract_at if snapshots is None else np.r_[extract_at, snapshots.r_star_min, snapshots.r_star_max]
    left, right = causal_domain(pulse, kept, t_final, margin=CAUSAL_MARGIN + 4 * h)
    grid = h * np.arange(math.floor(left / h), math.ceil(right / h) + 1)  # anchored at r* = 0
    psi, pi = pulse.cauchy(grid)
    psi[[0, 1, -2, -1]] = pi[[0, 1, -2, -1]] = 0.0
    potential = perturbation.potential_at(grid)
    n_saves = 1 if snapshots is None else snapshots.n_saves
    interval = t_final / n_saves
    # Waveform samples every `sample_every` steps, about h apart; whole sampling intervals fill each
    # save interval, so every save is also a sample, and dt <= courant * h.
    sample_every = max(1, round(1 / courant))
    steps_per_save = sample_every * math.ceil(interval / (sample_every * courant * h) - 1e-9)
    dt = interval / steps_per_save
    n_steps = n_saves * steps_per_save
    index, weight = interpolation_stencil(grid, extract_at)
    samples = np.full((len(extract_at), n_steps // sample_every + 1), np.nan)
    samples[:, 0] = np.sum(weight * psi[index], axis=1)
    energies = [wave_energy(psi, pi, potential, h)]
    if snapshots is not None:
        stored = snapshot_grid(snapshots, h)
        if stored.size == 0:
            raise ValueError(
                f"snapshots = [{snapshots.r_star_min}, {snapshots.r_star_max}] is invalid: it holds no grid point "
                f"of spacing h = {h}"
            )
        keep = np.round((stored - grid[0]) / h).astype(np.int64)
        frames = [psi[keep].copy()]
    column, done = 1, 0
    chunk = max(1, min(steps_per_save, 2000))
    desc = f"near-horizon {perturbation.describe()}"
    with progress_display(total=n_steps, desc=desc, unit="step", enabled=progress, leave=False) as bar:
        while done < n_steps:
            todo = min(chunk, steps_per_save - done % steps_per_save)
            column = mol_advance(psi, pi, potential, h, dt, todo, sample_every, index, weight, samples, column, done)
            done += todo
            bar.update(todo)
            if not np.all(np.isfinite(psi)):
                raise UnstableRunError(
                    f"method-of-lines evolution of {perturbation.describe()} produced non-finite values "
                    f"by t = {done * dt:.4g}",
                    step=done,
                    t=done * dt,
                )
            if done % steps_per_save == 0:
                energies.append(wave_energy(psi, pi, potential, h))
                if snapshots is not None:
                    frames.append(psi[keep].copy())
    run = NearHorizonRun(
        perturbation=perturbation,
        scheme="mol",
        t=dt * sample_every * np.arange(samples.shape[1]),
        r_star=extract_at.copy(),
        waveforms=samples,
        h=h,
        dt=dt,
        energy=np.array(energies),
    )
    if snapshots is None:
        return run
    return NearHorizonRun(
        **{
            **run.__dict__,
            "snapshot_t": interval * np.arange(n_saves + 1),
            "snapshot_r_star": stored,
            "snapshots": np.stack(frames),
        }
    )


def wave_energy(psi: np.ndarray, pi: np.ndarray, potential: np.ndarray, h: float) -> float:
    """The energy the method of lines conserves: ``½ h Σ (π² - ψ D₂ψ + V ψ²)`` over the evolved points.

    ``D₂`` is the fourth-order stencil of the scheme; with the two end points on each side held at
    zero it is symmetric, so ``dE/dt = 0`` exactly for the semi-discrete system, and ``-ψ D₂ψ``
    sums to ``∫ ψ'² dr*`` up to O(h⁴). Any drift is then the time integrator's.
    """
    inner = slice(2, -2)
    d2 = second_derivative(psi, h)
    return float(0.5 * h * np.sum(pi[inner] ** 2 - psi[inner] * d2 + potential[inner] * psi[inner] ** 2))
