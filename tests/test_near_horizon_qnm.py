"""Quasinormal frequencies of evolved Schwarzschild perturbations against Leaver's values.

Pulse: Gaussian of width 2 M at r* = 20 M moving in; waveform at r* = 50 M (it sees only what the
hole scatters); default ringdown window 10..150 M after the peak, 3 damped sinusoids + 2
exponentials. Goals (issue 5): Re within 0.1 %, Im within 0.5 % (l = 0: 1 % and 3 %).
The default twin runs at h = 0.2 M; ``-m slow`` repeats at h = 0.05 M.
"""

from __future__ import annotations

import numpy as np
import pytest

from physml.simulators.near_horizon import Perturbation, analyse_ringdown, evolve, gaussian_pulse

#: Schwarzschild fundamental modes M ω (Leaver's continued fraction; Kokkotas & Schmidt 1999, Table 1),
#: written out here so the test does not trust the library's own copy of the table.
PUBLISHED = {
    (0, 0): 0.1104549391 - 0.1048957171j,
    (0, 1): 0.2929361333 - 0.0976599889j,
    (0, 2): 0.4836438722 - 0.0967587760j,
    (2, 2): 0.3736716844 - 0.0889623157j,
}
GOALS = {0: (0.01, 0.03)}  # l = 0; every other l: (0.001, 0.005)


def fundamental(s: int, ell: int, *, scheme: str, h: float, equation: str = "regge-wheeler", mass: float = 1.0):
    run = evolve(
        Perturbation(s=s, l=ell, mass=mass, equation=equation),
        gaussian_pulse(center=20.0 * mass, width=2.0 * mass),
        t_final=250.0 * mass,
        extract_at=[50.0 * mass],
        scheme=scheme,
        h=h * mass,
    )
    present = np.isfinite(run.waveforms[0])
    return analyse_ringdown(run.t[present], run.waveforms[0][present], mass=mass).qnm


def assert_matches_published(omega: complex, s: int, ell: int, mass: float = 1.0) -> None:
    published = PUBLISHED[(s, ell)] / mass
    real_goal, imag_goal = GOALS.get(ell, (0.001, 0.005))
    assert abs(omega.real / published.real - 1) < real_goal, f"Re {omega.real} vs {published.real}"
    assert abs(omega.imag / published.imag - 1) < imag_goal, f"Im {omega.imag} vs {published.imag}"


@pytest.mark.parametrize("scheme", ["double-null", "mol"])
@pytest.mark.parametrize(("s", "ell"), list(PUBLISHED))
def test_fundamental_quasinormal_mode_matches_leaver(s, ell, scheme):
    assert_matches_published(fundamental(s, ell, scheme=scheme, h=0.2).omega0, s, ell)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["double-null", "mol"])
@pytest.mark.parametrize(("s", "ell"), list(PUBLISHED))
def test_fundamental_quasinormal_mode_matches_leaver_full(s, ell, scheme):
    estimate = fundamental(s, ell, scheme=scheme, h=0.05)
    assert_matches_published(estimate.omega0, s, ell)
    # At full resolution the error is ten times inside the goal for l >= 1.
    if ell > 0:
        published = PUBLISHED[(s, ell)]
        assert abs(estimate.omega0 / published - 1) < 2e-4


@pytest.mark.parametrize("scheme", ["double-null", "mol"])
def test_zerilli_and_regge_wheeler_ring_at_the_same_frequency(scheme):
    """The two s = 2 potentials are isospectral (Chandrasekhar): different waveforms, same spectrum."""
    rw = fundamental(2, 2, scheme=scheme, h=0.2).omega0
    zerilli = fundamental(2, 2, scheme=scheme, h=0.2, equation="zerilli").omega0
    assert abs(zerilli - rw) / abs(rw) < 1e-4


def test_frequencies_scale_as_one_over_the_mass():
    estimate = fundamental(2, 2, scheme="double-null", h=0.2, mass=2.5)
    assert_matches_published(estimate.omega0, 2, 2, mass=2.5)


def test_the_fit_also_finds_the_first_overtone():
    """Kokkotas & Schmidt Table 1: s = 2, l = 2, n = 1 is M ω = 0.3467 - 0.2739 i. The window starts
    10 M after the peak, where the overtone has decayed by e^-2.7 relative to the fundamental, so
    it is found to a few per cent only."""
    overtones = fundamental(2, 2, scheme="mol", h=0.2).overtones
    assert abs(overtones[0] - (0.3467 - 0.2739j)) / abs(0.3467 - 0.2739j) < 0.05


def test_analysis_trims_the_double_null_gap_and_refuses_empty_or_broken_waveforms():
    run = evolve(Perturbation(s=2, l=2), gaussian_pulse(center=20.0, width=2.0), t_final=250.0,
                 extract_at=[50.0], scheme="double-null", h=0.2)  # fmt: skip
    assert np.isnan(run.waveforms[0][0])  # the quadrant reaches r* = 50 M only later
    assert abs(analyse_ringdown(run.t, run.waveforms[0]).qnm.omega0 / PUBLISHED[(2, 2)] - 1) < 1e-3
    with pytest.raises(ValueError, match="no finite values"):
        analyse_ringdown(run.t, np.full_like(run.t, np.nan))
    broken = run.waveforms[0].copy()
    broken[len(broken) // 2] = np.nan
    with pytest.raises(ValueError):
        analyse_ringdown(run.t, broken)
