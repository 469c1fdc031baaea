"""Evolve one set of initial data: saved fields, the outcome (dispersal or black hole), the record.

A run ends at ``t_final`` or on an event, checked after every step:

* **horizon**: ``max_r 2m/r >= horizon`` (default 0.99). Polar-areal slices never
  reach a horizon (``a → ∞`` there), so a run that gets this close has formed a
  black hole. Its mass is ``m`` where ``2m/r`` is largest, the apparent horizon.
  (0.995 is reached only on fine grids: the last per cent needs many points
  across the steep ``a``, and coarse runs fail first.)
* **lapse collapse**: the central lapse falls below ``lapse_floor`` (1e-10): the
  interior has frozen in ``t``, as it does inside a forming horizon. A safety net:
  the lapse collapses long before the horizon test fires (α(0) ~ 1e-4..1e-7), but
  stopping there reads the mass too early, at a compactness that depends on the
  echo phase (measured: masses off by up to a factor 2 at 1e-4).
* **t_final** with ``max 2m/r >= 0.95`` and a central lapse below 0.01 also counts as a black
  hole: large holes creep towards ``2m/r = 1`` as their frozen lapse slows everything down.
* **dispersal**: the largest ``2m/r`` inside ``probe_radius`` has fallen below
  ``dispersal_ratio`` times its peak: the field has imploded and is leaving.
  Off with ``dispersal_ratio = 0`` (the run then goes to ``t_final``).

Non-finite values, or a Hamiltonian-constraint residual above ``max_residual``
while no horizon is forming, mean the evolution itself failed (the grid lost
the field): :class:`~physml.simulators.errors.UnstableRunError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from physml.progress import progress as progress_display
from physml.simulators.collapse.detection import FORMING, Detection, leaving, trapped
from physml.simulators.collapse.grid import RadialGrid
from physml.simulators.collapse.initial import ShellData
from physml.simulators.collapse.method_of_lines import (
    DISPERSED,
    HORIZON,
    LAPSE_COLLAPSE,
    NONFINITE,
    RECORDED,
    advance,
)
from physml.simulators.collapse.metric import _ghosted_coordinates, hamiltonian_residual, mass_function, solve_metric
from physml.simulators.collapse.refinement import Refinement, refined, resample
from physml.simulators.collapse.stencils import GHOSTS, ghosted
from physml.simulators.errors import UnstableRunError
from physml.simulators.limits import check_steps

__all__ = ["FIELDS", "MAX_CFL", "POINTS_PER_WIDTH", "CollapseRun", "Detection", "check_resolution", "evolve"]

#: Fields stored per saved time, in order.
FIELDS = ("a", "alpha", "Phi", "Pi", "phi", "mass")

#: Largest ``dt / Δr_min`` accepted (RK4 with the 4th-order stencils is stable to ~2 for unit speed;
#: the margin covers the dissipation and the boundary closure).
MAX_CFL = 1.0

#: Grid intervals per shell width the initial data need, at least, out to 3 widths beyond the centre.
POINTS_PER_WIDTH = 6


@dataclass(frozen=True, eq=False)
class CollapseRun:
    """One evolution: saved fields, the event that ended it and the per-step record.

    Attributes
    ----------
    t
        ``(n_frames,)`` save times reached (``k t_final / n_saves``).
    fields
        Name in :data:`FIELDS` -> ``(n_frames, n + 1)`` on ``grid.r``: ``a``, ``alpha``, ``Phi``, ``Pi``,
        ``phi``, ``mass`` (the mass function ``m(r)``).
    final
        The same fields at ``t_end`` (the state that ended the run).
    outcome
        ``"black hole"``, ``"dispersal"`` or ``"undecided"`` (``t_final`` reached first).
    event
        ``"horizon"``, ``"lapse collapse"``, ``"dispersal"`` or ``"t_final"``.
    t_end
        Time the run ended.
    black_hole_mass, horizon_radius
        ``m`` and ``r`` where ``2m/r`` is largest at ``t_end`` (NaN unless a black hole formed).
    adm_mass
        ``m(r_max)`` of the initial data.
    residual
        ``(n_frames,)`` ``max_r |r H|`` of the saved frames.
    central
        Per-step record, name in :data:`~physml.simulators.collapse.method_of_lines.RECORDED` -> ``(n_steps,)``:
        ``t``, central proper time ``T``, ``alpha_c``, ``phi_c``, ``Pi_c``, ``compactness`` (max 2m/r), ``r_compact``.
    dt
        Time step (the last one, with refinement).
    regrids
        ``(t, stretch, n)`` of every regrid (:mod:`~physml.simulators.collapse.refinement`); the saved
        fields and ``final`` are resampled onto ``grid``, the mass and horizon are read on the finest grid.
    """

    grid: RadialGrid
    data: ShellData
    t: np.ndarray
    fields: dict[str, np.ndarray]
    final: dict[str, np.ndarray]
    outcome: str
    event: str
    t_end: float
    black_hole_mass: float
    horizon_radius: float
    adm_mass: float
    residual: np.ndarray
    central: dict[str, np.ndarray] = field(repr=False)
    dt: float = 0.0
    regrids: tuple[tuple[float, float, int], ...] = ()

    @property
    def collapsed(self) -> bool:
        """Whether a black hole formed."""
        return self.outcome == "black hole"

    @property
    def max_compactness(self) -> float:
        """Largest ``2m/r`` seen during the run."""
        return float(np.max(self.central["compactness"]))


def check_resolution(grid: RadialGrid, data: ShellData) -> None:
    """Raise ``ValueError`` unless the grid holds the shell (to 6 widths) and resolves it (to 3 widths)."""
    if not isinstance(grid, RadialGrid):
        raise ValueError(f"grid must be a RadialGrid, got {type(grid).__name__}")
    if not isinstance(data, ShellData):
        raise ValueError(f"data must be a ShellData, got {type(data).__name__}")
    edge = data.center + 6 * data.width
    if grid.r_max < edge:
        raise ValueError(
            f"r_max = {grid.r_max!r} is invalid: the shell ({data.describe()}) reaches r = {edge:g} (centre + 6 widths)"
        )
    inside = grid.r[1:] <= data.center + 3 * data.width
    widest = float(np.max(grid.spacing[inside[: grid.n]])) if inside.any() else grid.min_spacing
    if widest > data.width / POINTS_PER_WIDTH:
        raise ValueError(
            f"n = {grid.n!r} is invalid: the grid is too coarse for the shell of width {data.width:g} "
            f"(spacing up to {widest:.3g} within r <= {data.center + 3 * data.width:g}; "
            f"need <= width / {POINTS_PER_WIDTH} = "
            f"{data.width / POINTS_PER_WIDTH:.3g})"
        )


def _geometry(grid: RadialGrid, dissipation: float) -> np.ndarray:
    r, drdx, r_mid, drdx_mid = _ghosted_coordinates(grid)
    m = grid.n + 1 + GHOSTS
    geometry = np.zeros((6, m))
    geometry[0], geometry[1], geometry[2] = r, drdx, 1.0 / drdx
    geometry[3] = dissipation / (64.0 * grid.h * drdx)
    geometry[4, : grid.n], geometry[5, : grid.n] = r_mid, drdx_mid
    return geometry


def _frame(grid: RadialGrid, state: np.ndarray, a: np.ndarray, alpha: np.ndarray) -> dict[str, np.ndarray]:
    inner = slice(GHOSTS, None)
    a_ = a[inner].copy()
    return {
        "a": a_,
        "alpha": alpha[inner].copy(),
        "Phi": state[1, inner].copy(),
        "Pi": state[2, inner].copy(),
        "phi": state[0, inner].copy(),
        "mass": mass_function(grid, a_),
    }


def evolve(
    grid: RadialGrid,
    data: ShellData,
    *,
    t_final: float,
    n_saves: int = 1,
    cfl: float = 0.5,
    dissipation: float = 0.5,
    detection: Detection | None = None,
    check_every: int = 200,
    progress: bool = False,
    refinement: Refinement | None = None,
) -> CollapseRun:
    """Evolve spherically symmetric scalar-field collapse from ``t = 0`` to ``t_final`` or an event.

    Parameters
    ----------
    grid
        Radial grid; must hold the shell (``r_max >= r0 + 6σ``) and resolve it (6 intervals per σ).
    data
        Initial data (:func:`~physml.simulators.collapse.initial.gaussian_shell`, ``tanh_shell``).
    t_final
        Latest time (proper time of distant observers; units of the grid's radius).
    n_saves
        Fields are saved at ``t = k t_final / n_saves``, ``k = 0 .. n_saves``, until the run ends.
    cfl
        ``dt / Δr_min`` in (0, 1]; ``dt`` is lowered so whole steps fill each save interval. With
        ``refinement``: each step's fraction of the smallest local light-crossing time ``Δr a / α``.
    dissipation
        Kreiss–Oliger strength σ in [0, 1].
    detection
        Stopping rules (:class:`Detection`; default thresholds when ``None``).
    check_every
        Steps between Hamiltonian-constraint checks.
    progress
        Show a progress bar.
    refinement
        Zoom on the centre as the solution shrinks (:class:`~physml.simulators.collapse.refinement.Refinement`):
        needed within ~1e-7 of the threshold, where echoes fall below a fixed grid's central spacing.

    Returns
    -------
    CollapseRun

    Raises
    ------
    ValueError
        For invalid parameters or a grid too coarse for the data.
    UnstableRunError
        If the evolution produces non-finite values or its constraint residual blows up.

    Examples
    --------
    >>> from physml.simulators.collapse import RadialGrid, gaussian_shell
    >>> run = evolve(RadialGrid(n=200, r_max=20.0, stretch=3.0), gaussian_shell(amplitude=0.01, center=5.0,
    ...              width=1.0), t_final=20.0)
    >>> run.outcome
    'dispersal'
    """
    detection = Detection() if detection is None else detection
    check_resolution(grid, data)
    if not (isinstance(t_final, int | float) and math.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final = {t_final!r} is invalid: must be finite and > 0")
    if isinstance(n_saves, bool) or int(n_saves) != n_saves or n_saves < 1:
        raise ValueError(f"n_saves = {n_saves!r} is invalid: must be an integer >= 1")
    if not (isinstance(cfl, int | float) and 0 < cfl <= MAX_CFL):
        raise ValueError(f"cfl = {cfl!r} is invalid: need 0 < dt / dr_min <= {MAX_CFL}")
    if not (isinstance(dissipation, int | float) and 0 <= dissipation <= 1):
        raise ValueError(f"dissipation = {dissipation!r} is invalid: the Kreiss-Oliger strength must be in [0, 1]")
    if isinstance(check_every, bool) or int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every = {check_every!r} is invalid: must be an integer >= 1")
    if refinement is not None and not isinstance(refinement, Refinement):
        raise ValueError(f"refinement must be a Refinement or None, got {type(refinement).__name__}")
    n_saves = int(n_saves)
    check_steps(t_final / (cfl * grid.min_spacing), what=f"t_final = {t_final!r} with cfl = {cfl!r} on this grid")
    interval = t_final / n_saves
    if refinement is None:  # fixed steps that fill each save interval
        per_save = math.ceil(interval / (cfl * grid.min_spacing) - 1e-9)
        dt, courant = interval / per_save, 0.0
    else:  # local light-crossing steps, at most a save interval
        per_save, dt, courant = 0, interval, float(cfl)
    probe_radius = detection.probe_radius
    if probe_radius is None:
        probe_radius = data.center / 2 if data.center > 4 * data.width else grid.r_max / 4
    thresholds = np.array([detection.horizon, detection.lapse_floor, detection.dispersal_ratio])

    phi, Phi, Pi = data.fields(grid.r)
    state = np.stack([ghosted(phi, 1.0), ghosted(Phi, -1.0), ghosted(Pi, 1.0)])
    current = grid
    geometry, probe = _geometry(grid, float(dissipation)), _probe(grid, probe_radius)
    a0, alpha0 = solve_metric(grid, Phi, Pi)
    a, alpha = ghosted(a0, 1.0), ghosted(alpha0, 1.0)
    frames = [_frame(grid, state, a, alpha)]
    adm_mass = float(frames[0]["mass"][-1])
    residuals = [float(np.max(np.abs(hamiltonian_residual(grid, a0, Phi, Pi))))]
    watch = np.array([0.0, np.nan, 0.0, 0.0, dt])
    records, regrids, status, done, save = [], [], 0, 0, 1
    grids = [grid]  # the run's grid, then each finer one in use
    desc = f"collapse {data.describe()}"
    with progress_display(total=n_saves, desc=desc, unit="save", enabled=progress, leave=False) as bar:
        while save <= n_saves and status == 0:
            if refinement is None:
                todo = min(check_every, per_save - done % per_save)
                record = np.empty((todo, len(RECORDED)))
                status, steps = advance(
                    state, geometry, current.h, dt, todo, done * dt, watch, thresholds, probe, record, a, alpha
                )
                done += steps
                t, reached = done * dt, done % per_save == 0
            else:
                record = np.empty((check_every, len(RECORDED)))
                t_save = save * interval
                status, steps = advance(
                    state, geometry, current.h, dt, check_every, watch[3], watch, thresholds, probe, record, a,
                    alpha, courant, t_save,
                )  # fmt: skip
                done += steps
                t = float(watch[3])
                reached = t_save - t <= 1e-12 * max(1.0, t_save)
            records.append(record[:steps])
            compactness = float(np.max(record[:steps, 5])) if steps else 0.0
            if status == NONFINITE:
                raise UnstableRunError(
                    f"collapse run of {data.describe()} produced non-finite values by t = {t:.6g} "
                    f"(max 2m/r before: {compactness:.3g}); refine the grid or lower cfl",
                    step=done,
                    t=t,
                )
            if status in (HORIZON, LAPSE_COLLAPSE, DISPERSED):
                break
            frame = _frame(current, state, a, alpha)
            residual = float(np.max(np.abs(hamiltonian_residual(current, frame["a"], frame["Phi"], frame["Pi"]))))
            if residual > detection.max_residual and compactness < FORMING:
                raise UnstableRunError(
                    f"collapse run of {data.describe()} lost resolution: Hamiltonian-constraint residual "
                    f"max|r H| = {residual:.3g} > {detection.max_residual:g} at t = {t:.6g} with no horizon "
                    f"forming (max 2m/r = {compactness:.3g}); refine the grid",
                    step=done,
                    t=t,
                )
            if reached:
                frames.append(_on(grid, current, frame))
                residuals.append(residual)
                save += 1
                bar.update(1)
            if steps and refinement is not None and save <= n_saves:  # not after the last save
                target = _zoom(refinement, grids, record[steps - 1, 6], compactness)
                if target is not current:
                    current, state, a, alpha = _regrid(current, target, state)
                    geometry, probe = _geometry(current, float(dissipation)), _probe(current, probe_radius)
                    regrids.append((t, current.stretch, current.n))
    final = _frame(current, state, a, alpha)
    t_end = done * dt if refinement is None else float(watch[3])
    event = {HORIZON: "horizon", LAPSE_COLLAPSE: "lapse collapse", DISPERSED: "dispersal"}.get(status, "t_final")
    outcome = {"horizon": "black hole", "lapse collapse": "black hole", "dispersal": "dispersal"}.get(event)
    if outcome is None:
        outcome = "undecided"
        if trapped(final):
            outcome = "black hole"
        elif watch[2] > 0 and leaving(final, probe - GHOSTS, watch[2]):
            outcome = "dispersal"
    bh_mass = horizon_radius = math.nan
    if outcome == "black hole":
        k = int(np.argmax(final["a"]))
        bh_mass, horizon_radius = float(final["mass"][k]), float(current.r[k])
    central = np.concatenate(records) if records else np.empty((0, len(RECORDED)))
    return CollapseRun(
        grid=grid,
        data=data,
        t=interval * np.arange(len(frames)),
        fields={name: np.stack([f[name] for f in frames]) for name in FIELDS},
        final=_on(grid, current, final),
        outcome=outcome,
        event=event,
        t_end=t_end,
        black_hole_mass=bh_mass,
        horizon_radius=horizon_radius,
        adm_mass=adm_mass,
        residual=np.array(residuals),
        central={name: central[:, c] for c, name in enumerate(RECORDED)},
        dt=float(watch[4]),
        regrids=tuple(regrids),
    )


def _probe(grid: RadialGrid, radius: float) -> int:
    """Ghosted index of the outermost grid point within ``radius`` (at least the first point off the centre)."""
    return GHOSTS + max(1, int(np.searchsorted(grid.r, radius, side="right")) - 1)


#: Parity in r of each stored field (the mass function grows as r³ at the centre).
_PARITY = {"a": 1.0, "alpha": 1.0, "Phi": -1.0, "Pi": 1.0, "phi": 1.0, "mass": -1.0}


def _on(grid: RadialGrid, current: RadialGrid, frame: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A frame on ``current`` resampled onto the run's own ``grid`` (unchanged when they are the same)."""
    if current is grid:
        return frame
    return {name: resample(current, values, _PARITY[name], grid.r) for name, values in frame.items()}


def _zoom(refinement: Refinement, grids: list[RadialGrid], radius: float, compactness: float) -> RadialGrid:
    """The grid to continue on (``grids[-1]`` unless the collapsing region of ``radius`` asks for another).

    ``grids`` is the stack of grids from the run's own to the current one: refining pushes, coarsening pops.
    """
    if refinement.wants(grids[-1], radius, compactness):
        while refinement.wants(grids[-1], radius, compactness):
            grids.append(refined(grids[-1], refinement.step))
    else:
        while len(grids) > 1 and refinement.allows(grids[-2], radius):
            grids.pop()
    return grids[-1]


def _regrid(
    old: RadialGrid, new: RadialGrid, state: np.ndarray
) -> tuple[RadialGrid, np.ndarray, np.ndarray, np.ndarray]:
    """The state interpolated onto ``new``, with its metric solved there."""
    phi, Phi, Pi = (resample(old, state[v], parity, new.r) for v, parity in enumerate((1.0, -1.0, 1.0)))
    a, alpha = solve_metric(new, Phi, Pi)
    state = np.stack([ghosted(phi, 1.0), ghosted(Phi, -1.0), ghosted(Pi, 1.0)])
    return new, state, ghosted(a, 1.0), ghosted(alpha, 1.0)
