"""Ringdown laws: Leaver's continued fraction, the QNM laws in l recovered from evolutions, Price's tail law."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from physml.discovery.ringdown import (
    QNMTable,
    discover_qnm_laws,
    discover_tail_law,
    eikonal_expansion,
    measure_qnms,
    measure_tails,
)
from physml.discovery.sparse import sparse_fit
from physml.simulators.near_horizon.analysis import REFERENCE_QNMS
from physml.simulators.near_horizon.leaver import leaver_qnm


def test_leaver_reproduces_the_published_frequencies_and_scales_with_mass():
    for (s, ell), published in REFERENCE_QNMS.items():
        # The table carries 10 significant digits.
        assert abs(leaver_qnm(s, ell) - published) < 2e-10
    assert abs(2.5 * leaver_qnm(2, 2, mass=2.5) - REFERENCE_QNMS[(2, 2)]) < 2e-10


def test_the_large_l_expansion_is_leavers_limit():
    """``(√27 Mω − L + i/2) L → c1(s)`` and ``(Im √27 Mω + 1/2) L² → e2(s)``: the scored coefficients are right.

    Both approach their limits like ``1/L²``; extrapolating from l = 50 and 100 leaves ``O(L⁻⁴)`` ~ 1e-7.
    """

    def limits(s: int, ell: int) -> np.ndarray:
        big_l = ell + 0.5
        x = math.sqrt(27) * leaver_qnm(s, ell)
        return np.array([(x.real - big_l) * big_l, (x.imag + 0.5) * big_l**2]), big_l**2

    for s in (0, 1, 2):
        (near, l1), (far, l2) = limits(s, 50), limits(s, 100)
        c1, e2 = (l2 * far - l1 * near) / (l2 - l1)
        assert c1 == pytest.approx((1 - s * s) / 3 - 65 / 216, abs=1e-6)
        assert e2 == pytest.approx(295 / 7776 - (1 - s * s) / 18, abs=1e-6)
        # At l = 8 the expansion to 1/L^2 misses only the 1/L^3 terms.
        assert abs(eikonal_expansion(s, 8) - leaver_qnm(s, 8)) < 0.3 / 8.5**3


def test_leaver_rejects_what_it_cannot_compute():
    with pytest.raises(ValueError, match="s = 3"):
        leaver_qnm(3, 3)
    with pytest.raises(ValueError, match="ell = 1"):
        leaver_qnm(2, 1)
    with pytest.raises(ValueError, match="mass = 0"):
        leaver_qnm(0, 2, mass=0.0)


def test_the_parametric_bootstrap_covers_the_truth():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 3, 40)
    theta = np.stack([x, np.ones_like(x), x**2], axis=1)
    sigma = np.full(40, 0.01)
    y = 2.0 * x - 0.5 + sigma * rng.standard_normal(40)
    fit = sparse_fit(theta, y, terms=("x", "1", "x^2"), targets=("y",), y_error=sigma, threshold=0.01, bootstrap=200)
    assert fit.settings["bootstrap_kind"] == "y_error"
    assert fit.support("y").keys() == {"x", "1"}
    for j, truth in ((0, 2.0), (1, -0.5)):
        assert abs(fit.coefficients[0, j] - truth) < 3 * fit.std[0, j]
    with pytest.raises(ValueError, match="y_error"):
        sparse_fit(theta, y, terms=("x", "1", "x^2"), targets=("y",), y_error=-sigma, bootstrap=5)


def test_qnm_laws_from_coarse_evolutions_through_the_cli(tmp_path, capsys):
    """CI twin of the slow test, through ``physml discover ringdown``: h = 0.1 (spacings 0.4, 0.2, 0.1), s = 0, 2.

    At this resolution the s-independent 1/L term (7/216) is below what the modes resolve; the rest holds.
    """
    from physml.cli import main

    assert main(["discover", "ringdown", "--out", str(tmp_path), "--spins", "0", "2", "--h", "0.1",
                 "--bootstrap", "50", "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "integer law p = -3 -2 l" in out and "spurious terms (wrong parity in 1/L): none" in out
    assert (tmp_path / "ringdown.png").stat().st_size > 10_000
    result = json.loads((tmp_path / "result.json").read_text())
    qnm, table = result["qnm"], result["qnm"]["table"]
    assert len(table["s"]) == 14
    # The error bounds hold against Leaver's frequencies.
    omega, error, leaver = (np.array(table[k]) for k in ("omega", "error", "leaver"))
    assert np.all(np.abs(omega - leaver) <= error)
    errors = qnm["errors"]
    assert errors["Re: L"] < 0.005 and errors["Im: 1"] < 0.005  # the eikonal limit
    assert errors["Re: s^2/L"] < 0.05  # the first correction's spin dependence
    assert qnm["real"]["identifiable"] and qnm["imag"]["identifiable"] and not qnm["spurious"]
    imag = qnm["imag"]
    assert imag["coefficients"][0][imag["terms"].index("1/L")] == 0  # the damping has no 1/L correction


@pytest.mark.slow
def test_qnm_laws_from_the_full_evolutions():
    table = measure_qnms(h=0.05)
    assert np.abs(table.omega.real / table.leaver.real - 1).max() < 1e-7
    assert np.abs(table.omega.imag / table.leaver.imag - 1).max() < 1e-6
    laws = discover_qnm_laws(table)
    errors = laws.errors()
    assert errors["Re: L"] < 1e-4 and errors["Im: 1"] < 0.005
    assert errors["Re: s^2/L"] < 0.005 and errors["Re: 1/L"] < 0.05  # 0.1 % and 2 % measured
    assert laws.real.identifiable and laws.imag.identifiable and not laws.spurious()
    assert laws.coefficient("Im", "1/L")[0] == 0
    # Leaving out l = 2 moves the truncated coefficients towards the expansion's.
    assert laws.shift("Re", "1/L") > 0


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match=r"h = 0\.5"):
        measure_qnms((0,), (2,), h=0.5)
    with pytest.raises(ValueError, match=r"\(s, l\) = \(3, 4\)"):
        measure_qnms((3,), (4,))
    with pytest.raises(ValueError, match="no pair"):
        measure_qnms((2,), (0, 1))
    table = QNMTable(np.zeros(3, int), np.arange(2, 5), np.ones(3, complex), np.ones(3, complex), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="needs at least"):
        discover_qnm_laws(table)
    with pytest.raises(ValueError, match=r"\(s, l\) = \(0, 4\)"):
        measure_tails(((0, 4),))  # a t^-11 tail is below float64's round-off at fixed r


def test_prices_law_comes_back_as_integers():
    tails = discover_tail_law(measure_tails())
    assert np.all(np.abs(tails.exponent + 2 * tails.l + 3) < 0.05)
    assert tails.integer_law() == {"1": -3, "l": -2}
    fit = tails.fit
    for term, truth in (("1", -3.0), ("l", -2.0)):
        j = fit.terms.index(term)
        assert abs(fit.coefficients[0, j] - truth) < 3 * fit.std[0, j] + 0.01
    assert fit.coefficients[0, fit.terms.index("s")] == 0
