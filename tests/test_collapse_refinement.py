"""Zooming on the centre: interpolation order, regrid rules, local time steps, and the 1e-12 bisection.

The full measurement (``pytest -m slow tests/test_collapse_refinement.py``, ~3 min on one core) bisects to
1e-12 on the base grid of docs/spacetime.md and fits γ over 20 e-folds; the default twin bisects to 1e-12
on the coarse grid of ``tests/test_collapse.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from physml.simulators.collapse import (
    REFERENCE_ECHOING_PERIOD,
    REFERENCE_GAMMA,
    Detection,
    RadialGrid,
    Refinement,
    echoing_period,
    evolve,
    find_critical_amplitude,
    gaussian_shell,
    mass_scaling,
)
from physml.simulators.collapse.refinement import refined, resample

SHELL = {"center": 5.0, "width": 1.0}
BRACKET = (0.0448, 0.0450)


def _even(r):
    return np.exp(-((r / 0.3) ** 2)) * np.cos(3 * r)


def _odd(r):
    return r * np.exp(-((r / 0.3) ** 2))


@pytest.mark.parametrize(("field", "parity"), [(_even, 1.0), (_odd, -1.0)])
def test_resample_is_sixth_order_up_to_the_centre(field, parity):
    """Interpolating onto a grid three stretches finer: the error falls as h^6 (parity ghosts at r = 0)."""
    errors = []
    for n in (100, 200, 400):
        grid = RadialGrid(n=n, r_max=4.0, stretch=3.0)
        target = refined(grid, 3.0).r
        errors.append(np.max(np.abs(resample(grid, field(grid.r), parity, target) - field(target))))
    order = np.polyfit(np.log([100, 200, 400]), np.log(errors), 1)[0]
    assert -order == pytest.approx(6.0, abs=0.5)


def test_resample_reproduces_grid_values_and_checks_the_length():
    grid = RadialGrid(n=64, r_max=10.0, stretch=4.0)
    values = np.sin(grid.r)
    assert np.allclose(resample(grid, values, -1.0, grid.r), values, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="values have 10 points; the grid has 65"):
        resample(grid, np.zeros(10), 1.0, grid.r)


def test_refined_grid_keeps_the_log_spacing_and_shrinks_the_core():
    grid = RadialGrid(n=400, r_max=12.0, stretch=6.0)
    finer = refined(grid, 2.0)
    assert (finer.stretch, finer.n) == (8.0, 534)
    assert finer.stretch * finer.h == pytest.approx(grid.stretch * grid.h, rel=1e-2)
    assert grid.min_spacing / finer.min_spacing == pytest.approx(np.exp(2.0), rel=0.05)


@pytest.mark.parametrize("stretch", [0.0, 0.5, 3.0, 9.0])
def test_refined_grid_never_coarsens_the_edge(stretch):
    """The outgoing field lives at the edge: a regrid keeps its spacing there, whatever the base stretch."""
    grid = RadialGrid(n=400, r_max=12.0, stretch=stretch)
    finer = refined(grid, 2.0)
    assert finer.spacing[-1] <= grid.spacing[-1] * (1 + 1e-9)
    assert finer.spacing[-1] == pytest.approx(grid.spacing[-1], rel=2e-3)
    assert finer.min_spacing < grid.min_spacing / 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"points": 4}, "points = 4 is invalid"),
        ({"step": 10.0}, "step = 10.0 is invalid"),
        ({"max_stretch": 40.0}, "max_stretch = 40.0 is invalid"),
        ({"min_compactness": 1.0}, "min_compactness = 1.0 is invalid"),
    ],
)
def test_bad_refinement_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Refinement(**kwargs)


def test_evolve_rejects_a_refinement_of_the_wrong_type():
    with pytest.raises(ValueError, match="refinement must be a Refinement or None, got dict"):
        evolve(RadialGrid(n=300, r_max=12.0, stretch=6.0), gaussian_shell(amplitude=0.01, **SHELL), t_final=1.0,
               refinement={"points": 100})  # fmt: skip


def test_local_time_steps_land_on_the_save_times_and_agree_with_fixed_steps():
    """Far from threshold nothing regrids: local steps (larger, Courant-limited by α/a) give the fixed-step fields."""
    grid = RadialGrid(n=300, r_max=12.0, stretch=6.0)
    data = gaussian_shell(amplitude=0.03, **SHELL)
    fixed = evolve(grid, data, t_final=6.0, n_saves=3, cfl=0.5)
    local = evolve(grid, data, t_final=6.0, n_saves=3, cfl=0.5, refinement=Refinement())
    assert local.regrids == () and len(local.t) == len(fixed.t) == 4
    for t_save in (2.0, 4.0):  # a step starts exactly at each save time
        assert np.min(np.abs(local.central["t"] - t_save)) < 1e-12
    assert local.central["t"][-1] + local.dt == pytest.approx(6.0, abs=1e-12)
    assert len(local.central["t"]) < len(fixed.central["t"])  # the lapse < 1 allows longer steps
    # The schemes differ by the α/a-scaled dissipation (O(h^5) on smooth fields), far below the field.
    scale = np.max(np.abs(fixed.fields["Phi"]))
    assert np.max(np.abs(local.fields["Phi"] - fixed.fields["Phi"])) < 1e-4 * scale


def test_saved_frames_across_regrids_are_on_the_run_grid():
    """A supercritical run zooms in mid-run: frames saved after the regrid are resampled onto the run's grid."""
    grid = RadialGrid(n=300, r_max=12.0, stretch=6.0)
    run = evolve(grid, gaussian_shell(amplitude=0.0449 * 1.001, **SHELL), t_final=12.0, n_saves=24, cfl=0.5,
                 refinement=Refinement())  # fmt: skip
    assert run.outcome == "black hole" and run.regrids
    first = run.regrids[0][0]
    assert np.sum(run.t > first) >= 2  # saves after the first regrid
    for name, values in run.fields.items():
        assert values.shape == (len(run.t), grid.n + 1) and np.all(np.isfinite(values)), name
        assert run.final[name].shape == (grid.n + 1,)
    # Resampled, the mass function stays what it is: non-decreasing in r (ρ >= 0), below the ADM mass.
    mass = run.fields["mass"][run.t > first]
    assert np.all(np.diff(mass, axis=1) > -1e-8 * run.adm_mass) and np.all(mass <= run.adm_mass * (1 + 1e-6))


def _search(grid, detection=None):
    return find_critical_amplitude(
        grid,
        gaussian_shell(amplitude=0.0, **SHELL),
        p_low=BRACKET[0],
        p_high=BRACKET[1],
        t_final=40.0,
        cfl=0.5,
        refinement=Refinement(),
        detection=detection,
    )


def _check_search(search):
    assert search.limit == "tolerance" and search.relative_bracket <= 1e-12
    sub, sup = search.subcritical, search.supercritical
    assert sub.outcome == "dispersal" and sup.outcome == "black hole"
    # Both zoomed in and the dispersing one zoomed back out to the run's own grid.
    assert len(sup.regrids) >= 4 and sub.regrids[-1][1:] == (sub.grid.stretch, sub.grid.n)
    assert sub.fields["Phi"].shape[1] == sub.grid.n + 1
    return sub, sup


def test_bisection_reaches_1e12_with_refinement():
    """On the coarse grid (n = 300): 1e-12 in ~40 runs; a fixed grid stops near 1e-7 (docs/spacetime.md).

    The hole at the bracket is ~(1e-12 / 1e-6)^γ ≈ 6e-3 times the one at p - p* = 1e-6 p*: the scaling law.
    """
    grid = RadialGrid(n=300, r_max=12.0, stretch=6.0)
    # After the bounce this coarse grid under-resolves the outgoing pulse beyond r ~ 8 (max|r H| ~ 1.1e-2
    # there, 4e-4 on every saved frame): allow 3e-2 before calling the run unresolved.
    search = _search(grid, Detection(max_residual=3e-2))
    sub, sup = _check_search(search)
    for run in (sub, sup):  # measured 3.443 and 3.456 from ~2.5 echoes; the goal is 5 %
        assert echoing_period(run).period == pytest.approx(REFERENCE_ECHOING_PERIOD, rel=0.05)
    eps = (sup.data.amplitude - search.p_star) / search.p_star
    rung = evolve(grid, gaussian_shell(amplitude=search.p_star * (1 + 1e-6), **SHELL), t_final=40.0, cfl=0.5,
                  refinement=Refinement())  # fmt: skip
    predicted = rung.black_hole_mass * (eps / 1e-6) ** REFERENCE_GAMMA
    assert np.log(sup.black_hole_mass / predicted) == pytest.approx(0.0, abs=0.2)  # measured 0.10


@pytest.mark.slow
def test_bisection_mass_scaling_and_echoes_with_refinement_full_resolution():
    """Measured (~3 min on one core, n = 400): bracket 5e-13, γ = 0.3745 ± 0.0009 from 10 holes over
    20.7 e-folds (p - p* = 1e-2 .. 1e-11 p*), Δ = 3.457 (+0.3 %) from ~2.5 echoes of the supercritical end."""
    grid = RadialGrid(n=400, r_max=12.0, stretch=6.0)
    search = _search(grid)
    _check_search(search)
    scaling = mass_scaling(
        grid,
        gaussian_shell(amplitude=0.0, **SHELL),
        search.p_star,
        offsets=np.logspace(-2, -11, 10),
        t_final=40.0,
        cfl=0.5,
        refinement=Refinement(),
    )
    assert len(scaling.masses) >= 8 and scaling.efolds >= 6
    assert scaling.gamma == pytest.approx(REFERENCE_GAMMA, abs=0.01)
    for run in (search.subcritical, search.supercritical):
        echo = echoing_period(run)
        assert echo.n_echoes >= 2
        assert echo.period == pytest.approx(REFERENCE_ECHOING_PERIOD, rel=0.05)
