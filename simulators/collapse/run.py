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
from tqdm.auto import tqdm

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
from physml.simulators.collapse.stencils import GHOSTS, ghosted
from physml.simulators.errors import UnstableRunError

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
        Time step.
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
        ``dt / Δr_min`` in (0, 1]; ``dt`` is lowered so whole steps fill each save interval.
    dissipation
        Kreiss–Oliger strength σ in [0, 1].
    detection
        Stopping rules (:class:`Detection`; default thresholds when ``None``).
    check_every
        Steps between Hamiltonian-constraint checks.
    progress
        Show a progress bar.

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
    n_saves = int(n_saves)
    interval = t_final / n_saves
    per_save = math.ceil(interval / (cfl * grid.min_spacing) - 1e-9)
    dt = interval / per_save
    probe_radius = detection.probe_radius
    if probe_radius is None:
        probe_radius = data.center / 2 if data.center > 4 * data.width else grid.r_max / 4
    probe = GHOSTS + max(1, int(np.searchsorted(grid.r, probe_radius, side="right")) - 1)
    thresholds = np.array([detection.horizon, detection.lapse_floor, detection.dispersal_ratio])

    phi, Phi, Pi = data.fields(grid.r)
    state = np.stack([ghosted(phi, 1.0), ghosted(Phi, -1.0), ghosted(Pi, 1.0)])
    geometry = _geometry(grid, float(dissipation))
    a0, alpha0 = solve_metric(grid, Phi, Pi)
    a, alpha = ghosted(a0, 1.0), ghosted(alpha0, 1.0)
    frames = [_frame(grid, state, a, alpha)]
    adm_mass = float(frames[0]["mass"][-1])
    residuals = [float(np.max(np.abs(hamiltonian_residual(grid, a0, Phi, Pi))))]
    watch = np.array([0.0, np.nan, 0.0])
    records, status, done, total = [], 0, 0, n_saves * per_save
    with tqdm(total=total, desc=f"collapse {data.describe()}", disable=not progress, leave=False) as bar:
        while done < total and status == 0:
            todo = min(check_every, per_save - done % per_save)
            record = np.empty((todo, len(RECORDED)))
            status, steps = advance(
                state, geometry, grid.h, dt, todo, done * dt, watch, thresholds, probe, record, a, alpha
            )
            records.append(record[:steps])
            done += steps
            bar.update(steps)
            compactness = float(np.max(record[:steps, 5])) if steps else 0.0
            if status == NONFINITE:
                raise UnstableRunError(
                    f"collapse run of {data.describe()} produced non-finite values by t = {done * dt:.6g} "
                    f"(max 2m/r before: {compactness:.3g}); refine the grid or lower cfl",
                    step=done,
                    t=done * dt,
                )
            if status in (HORIZON, LAPSE_COLLAPSE, DISPERSED):
                break
            frame = _frame(grid, state, a, alpha)
            residual = float(np.max(np.abs(hamiltonian_residual(grid, frame["a"], frame["Phi"], frame["Pi"]))))
            if residual > detection.max_residual and compactness < FORMING:
                raise UnstableRunError(
                    f"collapse run of {data.describe()} lost resolution: Hamiltonian-constraint residual "
                    f"max|r H| = {residual:.3g} > {detection.max_residual:g} at t = {done * dt:.6g} with no horizon "
                    f"forming (max 2m/r = {compactness:.3g}); refine the grid",
                    step=done,
                    t=done * dt,
                )
            if done % per_save == 0:
                frames.append(frame)
                residuals.append(residual)
    final = _frame(grid, state, a, alpha)
    t_end = done * dt
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
        bh_mass, horizon_radius = float(final["mass"][k]), float(grid.r[k])
    central = np.concatenate(records) if records else np.empty((0, len(RECORDED)))
    return CollapseRun(
        grid=grid,
        data=data,
        t=interval * np.arange(len(frames)),
        fields={name: np.stack([f[name] for f in frames]) for name in FIELDS},
        final=final,
        outcome=outcome,
        event=event,
        t_end=t_end,
        black_hole_mass=bh_mass,
        horizon_radius=horizon_radius,
        adm_mass=adm_mass,
        residual=np.array(residuals),
        central={name: central[:, c] for c, name in enumerate(RECORDED)},
        dt=dt,
    )
