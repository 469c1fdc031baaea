"""Regge–Wheeler / Zerilli evolution: potentials, convergence order, conservation, Price tails, bad input.

Quasinormal frequencies against Leaver's published values are in ``test_near_horizon_qnm.py``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from physml.simulators import UnstableRunError
from physml.simulators.near_horizon import (
    Perturbation,
    Pulse,
    Snapshots,
    evolve,
    evolve_field_map,
    gaussian_pulse,
    pulse_train,
    radius_from_tortoise,
    tortoise,
)
from physml.simulators.near_horizon import run as run_module


# -- potentials and coordinates -----------------------------------------------------------------
def test_regge_wheeler_potential_is_the_published_formula():
    for s, ell, mass in [(0, 0, 1.0), (1, 3, 1.0), (2, 2, 1.7)]:
        r = mass * np.array([2.5, 3.0, 7.0, 40.0])
        expected = (1 - 2 * mass / r) * (ell * (ell + 1) / r**2 + (1 - s**2) * 2 * mass / r**3)
        perturbation = Perturbation(s=s, l=ell, mass=mass)
        np.testing.assert_allclose(perturbation.potential(r), expected, rtol=1e-15)
        # Through r*, the lapse comes from r/2M - 1 directly: the same values to round-off.
        np.testing.assert_allclose(perturbation.potential_at(tortoise(r, mass)), expected, rtol=1e-13)


def test_zerilli_potential_matches_chandrasekhars_form_and_the_regge_wheeler_peak():
    """l = 2 (λ = 2) at r = 3M by hand: (1/3)(2·4·3·27 + 6·4·9 + 18·2·3 + 18) / (27·9²) = 0.150892..."""
    zerilli = Perturbation(s=2, l=2, equation="zerilli")
    assert zerilli.potential(3.0) == pytest.approx((648 + 216 + 108 + 18) / (3 * 27 * 81), rel=1e-15)
    # Isospectral potentials: different shapes, nearly the same barrier height (0.1513 M^-2 both).
    rw = Perturbation(s=2, l=2)
    assert zerilli.peak.height == pytest.approx(rw.peak.height, rel=1e-3)
    assert zerilli.peak.r != pytest.approx(rw.peak.r, rel=1e-2)


def test_tortoise_coordinate_inverts_to_round_off_from_the_horizon_to_far_away():
    for mass in (0.5, 1.0, 3.0):
        r = mass * np.array([2 + 1e-9, 2.001, 2.5, 3.0, 10.0, 1e3, 1e7])
        np.testing.assert_allclose(radius_from_tortoise(tortoise(r, mass), mass), r, rtol=4e-15)
    # Far beyond where lambertw(exp(.)) overflows, and deep near the horizon.
    assert tortoise(radius_from_tortoise(1e5)) == pytest.approx(1e5, rel=1e-15)
    assert radius_from_tortoise(-200.0) - 2 == pytest.approx(2 * math.exp(-200 / 2 - 1), rel=1e-12)


def test_barrier_sits_near_the_photon_sphere():
    # For large l the Regge–Wheeler peak tends to the photon sphere r = 3M.
    assert Perturbation(s=0, l=40).peak.r == pytest.approx(3.0, rel=1e-3)
    assert Perturbation(s=2, l=2, mass=2.0).peak.r == pytest.approx(2 * Perturbation(s=2, l=2).peak.r, rel=1e-8)


# -- convergence, conservation ---------------------------------------------------------------------
def _waveform_differences(scheme: str, spacings: tuple[float, ...]) -> list[float]:
    runs = [
        evolve(
            Perturbation(s=2, l=2),
            gaussian_pulse(center=20.0, width=2.0),
            t_final=100.0,
            extract_at=[-10.0, 40.0],
            scheme=scheme,
            h=h,
        )
        for h in spacings
    ]
    times = runs[0].t
    values = []
    for run in runs:
        index = np.searchsorted(run.t, times - 1e-9)
        np.testing.assert_allclose(run.t[index], times, atol=1e-9)  # nested grids share the coarse times
        values.append(run.waveforms[:, index])
    present = np.all(np.isfinite(values[0]), axis=0)
    return [float(np.sqrt(np.mean((a - b)[:, present] ** 2))) for a, b in itertools.pairwise(values)]


@pytest.mark.parametrize(("scheme", "order"), [("double-null", 2), ("mol", 4)])
def test_measured_convergence_order_is_the_design_order(scheme, order):
    differences = _waveform_differences(scheme, (0.4, 0.2, 0.1))
    measured = math.log2(differences[0] / differences[1])
    assert measured == pytest.approx(order, abs=0.2), f"{scheme}: measured order {measured:.3f}"


def test_conserved_energy_drifts_only_by_rk4_dissipation():
    """The semi-discrete scheme conserves ½hΣ(π² - ψD₂ψ + Vψ²) exactly; RK4 loses (ωdt)⁶/72 per
    step, so at fixed h the drift over a fixed time falls as dt⁵."""
    drifts = []
    for courant in (0.5, 0.25):
        run = evolve(
            Perturbation(s=1, l=1),
            gaussian_pulse(center=30.0, width=3.0, direction="time-symmetric"),
            t_final=150.0,
            extract_at=[0.0],
            h=0.2,
            courant=courant,
            snapshots=Snapshots(-20.0, 80.0, n_saves=15),
        )
        drifts.append(np.max(np.abs(run.energy / run.energy[0] - 1)))
    assert drifts[0] < 1e-6
    assert math.log2(drifts[0] / drifts[1]) == pytest.approx(5, abs=0.3)


def test_waveform_samples_at_save_times_are_the_snapshots():
    """An extraction point on the grid, read by the waveform sampler, equals the snapshot column at
    every save time, whatever the number of saves (sampling and saving share their phase)."""
    for n_saves in (7, 10):
        run = evolve(
            Perturbation(s=0, l=1),
            gaussian_pulse(center=20.0, width=2.0),
            t_final=50.0,
            extract_at=[10.0],
            h=0.1,
            snapshots=Snapshots(0.0, 30.0, n_saves=n_saves),
        )
        column = np.argmin(np.abs(run.snapshot_r_star - 10.0))
        at_saves = np.searchsorted(run.t, run.snapshot_t - 1e-9)
        np.testing.assert_allclose(run.t[at_saves], run.snapshot_t, rtol=0, atol=1e-9)
        np.testing.assert_allclose(run.waveforms[0, at_saves], run.snapshots[:, column], rtol=0, atol=1e-15)
        assert np.max(np.diff(run.t)) <= 0.1 + 1e-12  # samples at most h apart


def test_both_integrators_agree_on_the_same_characteristic_problem():
    """A pulse far out where V is small: Cauchy and null data describe nearly the same wave,
    and the waveform at the barrier agrees to that mismatch (V ~ l(l+1)/r² over the data)."""
    pulse = gaussian_pulse(center=150.0, width=3.0, direction="ingoing")
    a = evolve(Perturbation(s=0, l=1), pulse, t_final=250.0, extract_at=[5.0], scheme="double-null", h=0.1)
    b = evolve(Perturbation(s=0, l=1), pulse, t_final=250.0, extract_at=[5.0], scheme="mol", h=0.1)
    common = np.intersect1d(np.round(a.t, 6), np.round(b.t, 6))
    wa = a.waveforms[0][np.isin(np.round(a.t, 6), common)]
    wb = b.waveforms[0][np.isin(np.round(b.t, 6), common)]
    wa, wb = wa[np.isfinite(wa)], wb[np.isfinite(wa)]  # before the null quadrant reaches r* = 5 there is no value
    assert len(wa) > 1000
    assert np.max(np.abs(wa - wb)) < 0.01 * np.max(np.abs(wb))


def test_ingoing_pulse_in_flat_region_moves_at_the_speed_of_light():
    run = evolve(
        Perturbation(s=0, l=0),
        gaussian_pulse(center=400.0, width=2.0),
        t_final=120.0,
        extract_at=[300.0],
        h=0.05,
    )
    # V = (1 - 2M/r) 2M/r³ < 1e-7 out there: the pulse passes r* = 300 at t = 100 unchanged.
    assert run.t[np.argmax(run.waveforms[0])] == pytest.approx(100.0, abs=0.05)
    assert np.max(run.waveforms[0]) == pytest.approx(1.0, rel=1e-4)


def test_a_pulse_train_evolves_as_the_sum_of_its_pulses():
    """The equation is linear: one run of a train of shells is the sum of the runs of each. MOL grids are anchored
    at r* = 0 and the time step depends only on h and the saves, so the runs share their points: round-off apart."""
    pulses = [gaussian_pulse(center=c, width=w, amplitude=a) for c, w, a in ((30.0, 2.0, 1.0), (45.0, 3.0, -0.7))]
    train = pulse_train(pulses)
    x = np.linspace(0.0, 80.0, 161)
    np.testing.assert_allclose(train.values(x), pulses[0].values(x) + pulses[1].values(x), rtol=0, atol=1e-15)
    assert train.support == (pulses[0].support[0], pulses[1].support[1])
    assert train.scale == 2.0 and train.direction == "ingoing"
    perturbation = Perturbation(s=2, l=2)
    runs = [evolve(perturbation, p, t_final=60.0, extract_at=[-10.0, 10.0], h=0.1) for p in (train, *pulses)]
    scale = np.max(np.abs(runs[0].waveforms))
    assert scale > 0.1  # both shells have reached the barrier
    np.testing.assert_allclose(runs[0].waveforms, runs[1].waveforms + runs[2].waveforms, rtol=0, atol=1e-12 * scale)


def test_a_pulse_train_needs_pulses_moving_one_way():
    with pytest.raises(ValueError, match=r"pulses = \[\] is invalid"):
        pulse_train([])
    ingoing, outgoing = (gaussian_pulse(center=30.0, width=2.0, direction=d) for d in ("ingoing", "outgoing"))
    with pytest.raises(ValueError, match=r"directions \['ingoing', 'outgoing'\] differ"):
        pulse_train([ingoing, outgoing])


# -- Price tails ----------------------------------------------------------------------------------
def _tail_exponent(scheme: str, ell: int, *, h: float, t_final: float, window: tuple[float, float]) -> float:
    run = evolve(
        Perturbation(s=0, l=ell),
        gaussian_pulse(center=10.0, width=2.0),
        t_final=t_final,
        extract_at=[10.0],
        scheme=scheme,
        h=h,
    )
    y, t = run.waveforms[0], run.t
    late = (t >= window[0]) & (t <= window[1])
    assert np.all(np.sign(y[late]) == np.sign(y[late][0])), "the tail window still oscillates"
    return float(np.polyfit(np.log(t[late]), np.log(np.abs(y[late])), 1)[0])


@pytest.mark.parametrize("scheme", ["double-null", "mol"])
@pytest.mark.parametrize("ell", [0, 1])
def test_late_time_tail_follows_prices_law(scheme, ell):
    """ψ ∝ t^-(2l+3) at fixed r (Price 1972); reduced twin: t ≤ 1000 M, fit over [500, 1000] M."""
    exponent = _tail_exponent(scheme, ell, h=0.2, t_final=1000.0, window=(500.0, 1000.0))
    assert exponent == pytest.approx(-(2 * ell + 3), abs=0.1)


@pytest.mark.slow
@pytest.mark.parametrize(("ell", "window"), [(0, (1500.0, 3000.0)), (1, (1000.0, 2000.0))])
def test_late_time_tail_follows_prices_law_full(ell, window):
    """At h = 0.1 to t = 3000 M. The l = 1 window ends at 2000 M: by 3000 M its tail (~1e-12)
    has reached the accumulated round-off of the march."""
    exponent = _tail_exponent("double-null", ell, h=0.1, t_final=window[1], window=window)
    assert exponent == pytest.approx(-(2 * ell + 3), abs=0.03)


# -- field maps ---------------------------------------------------------------------------------
def test_field_map_at_t0_is_the_pulse_it_was_built_from():
    maps, _ = evolve_field_map(
        s=0,
        l_max=14,
        center=15.0,
        width=2.0,
        theta0=0.8,
        theta_width=0.4,
        t_final=10.0,
        n_saves=2,
        extent=30.0,
        n=48,
        h=0.1,
    )
    x, z = np.meshgrid(maps.x, maps.z, indexing="ij")
    r = np.hypot(x, z)
    out = maps.outside
    exact = np.exp(-((tortoise(r[out]) - 15) ** 2) / 8) * np.exp(-((z[out] / r[out] - math.cos(0.8)) ** 2) / 0.32)
    np.testing.assert_allclose(maps.values[0][out], exact / r[out], atol=1e-5 * np.max(exact / r[out]))
    assert np.all(maps.values[:, ~out] == 0) and np.all(r[~out] <= 2)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"s": 2, "l": 1}, "l = 1 is invalid: need an integer l >= s = 2"),
        ({"s": 3, "l": 3}, "s = 3 is invalid"),
        ({"s": 0, "l": 1, "mass": 0.0}, "mass = 0.0 is invalid: must be finite and > 0"),
        ({"s": 0, "l": 1, "mass": -1.0}, "mass = -1.0 is invalid"),
        ({"s": 0, "l": 1, "equation": "zerilli"}, "describes s = 2 only"),
        ({"s": 0, "l": 1, "equation": "teukolsky"}, "equation = 'teukolsky' is invalid"),
    ],
)
def test_bad_perturbations_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Perturbation(**kwargs)


def test_a_grid_that_does_not_resolve_the_potential_peak_is_refused():
    with pytest.raises(ValueError, match="does not resolve the potential peak"):
        evolve(Perturbation(s=2, l=2), gaussian_pulse(center=30.0, width=10.0), t_final=10.0, extract_at=[0.0], h=1.0)
    with pytest.raises(ValueError, match=r"the pulse \(width 0.1\) needs h <= 0.025"):
        evolve(Perturbation(s=2, l=2), gaussian_pulse(center=30.0, width=0.1), t_final=10.0, extract_at=[0.0], h=0.1)


def test_bad_run_options_are_refused_with_the_reason():
    p, pulse = Perturbation(s=0, l=1), gaussian_pulse(center=30.0, width=3.0)
    with pytest.raises(ValueError, match=r"courant = 1.3 is invalid"):
        evolve(p, pulse, t_final=10.0, extract_at=[0.0], courant=1.3)
    with pytest.raises(ValueError, match="scheme = 'leapfrog' is invalid"):
        evolve(p, pulse, t_final=10.0, extract_at=[0.0], scheme="leapfrog")
    with pytest.raises(ValueError, match="time-symmetric' is invalid for the double-null scheme"):
        evolve(
            p,
            gaussian_pulse(center=30.0, width=3.0, direction="time-symmetric"),
            t_final=10.0,
            extract_at=[0.0],
            scheme="double-null",
        )
    with pytest.raises(ValueError, match="snapshots are invalid with scheme='double-null'"):
        evolve(p, pulse, t_final=10.0, extract_at=[0.0], scheme="double-null", snapshots=Snapshots(0, 10, 2))
    with pytest.raises(ValueError, match=r"t_final = -1\.0 is invalid"):
        evolve(p, pulse, t_final=-1.0, extract_at=[0.0])
    with pytest.raises(ValueError, match="extract_at"):
        evolve(p, pulse, t_final=10.0, extract_at=[])
    with pytest.raises(ValueError, match=r"width = 0\.0 is invalid"):
        gaussian_pulse(center=1.0, width=0.0)
    with pytest.raises(ValueError, match="direction = 'sideways' is invalid"):
        gaussian_pulse(center=1.0, width=1.0, direction="sideways")
    with pytest.raises(ValueError, match="profile is invalid"):
        evolve(p, Pulse(lambda x: np.full_like(x, np.nan), support=(0, 10)), t_final=10.0, extract_at=[0.0])
    with pytest.raises(ValueError, match=r"r = 1\.5 is invalid: the tortoise coordinate needs finite r > 2M"):
        tortoise(1.5)
    with pytest.raises(ValueError, match="the potential is defined outside the horizon"):
        Perturbation(s=0, l=1).potential(1.0)
    with pytest.raises(ValueError, match="s = True is invalid"):
        Perturbation(s=True, l=1)
    with pytest.raises(ValueError, match=r"extract_at = \[-200\.0\] is invalid: the double-null quadrant"):
        evolve(p, pulse, t_final=50.0, extract_at=[-200.0], scheme="double-null")
    with pytest.raises(ValueError, match="snap to the same double-null diagonal"):
        evolve(p, pulse, t_final=50.0, extract_at=[10.0, 10.01], scheme="double-null")
    with pytest.raises(ValueError, match="holds no grid point"):
        evolve(p, pulse, t_final=10.0, extract_at=[0.0], snapshots=Snapshots(0.01, 0.05, n_saves=2))
    assert Snapshots(0.0, 10.0, n_saves=3.0).n_saves == 3


def test_an_unstable_run_stops_and_says_so(monkeypatch):
    """Beyond the RK4 limit the run blows up; with the guard lifted, the NaN check stops it."""
    monkeypatch.setattr(run_module, "MAX_COURANT", 10.0)
    with pytest.raises(UnstableRunError, match="produced non-finite values"):
        evolve(
            Perturbation(s=0, l=1),
            gaussian_pulse(center=30.0, width=3.0),
            t_final=400.0,
            extract_at=[0.0],
            h=0.2,
            courant=1.6,
        )
