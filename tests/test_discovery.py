"""Symbolic-fit discovery: PDE-FIND recovers the Schrödinger equation, weak beats strong under noise, the
bootstrap covers the truth, and data that cannot pin the equation down say so."""

from __future__ import annotations

import json

import numpy as np
import pytest

from physml.discovery import discover_schrodinger, read_wave_functions, sparse_fit

#: discovery-schrodinger-1d, smaller: 6 packets on a 128-point grid saved every 0.01 for 0.6 time units.
TINY_RUN = {
    "name": "tiny-discovery",
    "family": "schrodinger",
    "description": "tiny fine-sampled wave packets for discovery tests",
    "license": "CC-BY-4.0",
    "seed": 11,
    "n_trajectories": 6,
    "time": {"t_final": 0.6, "n_saves": 60},
    "fixed": {"ndim": 1, "n": 128, "length": 30.0, "dt": 0.005, "scheme": "yoshida4"},
    "cases": [
        {"fixed": {"potential_kind": "harmonic"},
         "sweep": {"omega": {"uniform": [0.7, 1.3]}, "x0": {"uniform": [-2.0, 2.0]}, "px": {"uniform": [-1.0, 1.0]},
                   "sigma": {"uniform": [0.7, 1.0]}}},
        {"fixed": {"potential_kind": "gaussian-barrier", "x0": -4.0},
         "sweep": {"height": {"uniform": [0.5, 2.0]}, "width": {"uniform": [0.5, 1.0]}, "px": {"uniform": [1.0, 1.5]},
                   "sigma": {"uniform": [1.0, 1.3]}}},
    ],
    "splits": {"train": 1.0},
    "storage": {"compression": "none", "dtype": "float64"},
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path_factory.mktemp("discovery") / "tiny-run.h5"
    build_dataset(BuildConfig.from_dict(TINY_RUN), path, workers=1, progress=False)
    return path


def test_both_forms_recover_the_equation_from_clean_fine_data(tiny_run):
    for form in ("weak", "strong"):
        result = discover_schrodinger(tiny_run, form=form, bootstrap=10)
        # Yoshida-4 at dt = 0.005 makes data exact to ~1e-8; the strong form's 8th-order time derivative and the
        # weak form's quadrature add less than that: a generous 1e-5 is still 50x under the 0.05 %.
        assert result.max_error < 1e-5, (form, result.errors())
        assert result.spurious() == [] and result.fit.identifiable
        assert result.truth[("v_t", "u_xx")] == pytest.approx(0.5) and result.truth[("v_t", "V u")] == -1.0


def test_under_noise_the_weak_form_holds_and_the_strong_form_says_it_cannot_tell(tiny_run):
    weak = discover_schrodinger(tiny_run, form="weak", noise=0.01, bootstrap=30)
    assert weak.max_error < 0.02 and weak.spurious() == [] and weak.fit.identifiable  # the goal: <= 2 %
    strong = discover_schrodinger(tiny_run, form="strong", noise=0.01, bootstrap=10)
    assert strong.max_error > 10 * weak.max_error or strong.spurious()
    assert not strong.fit.identifiable and strong.fit.reason  # never a confident wrong formula
    # The block bootstrap (over trajectories) covers each true coefficient within three standard deviations.
    fit = weak.fit
    for (target, term), value in weak.truth.items():
        i, j = fit.targets.index(target), fit.terms.index(term)
        assert abs(fit.coefficients[i, j] - value) <= 3 * fit.std[i, j], (target, term)


def test_sparse_fit_recovers_a_sparse_law_and_flags_collinear_terms():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((600, 5))
    y = 2.0 * theta[:, 1] - 0.5 * theta[:, 3] + 0.01 * rng.standard_normal(600)
    fit = sparse_fit(theta, y, terms=list("abcde"), targets=["y"], groups=np.repeat(np.arange(30), 20), bootstrap=40)
    assert fit.support("y") == pytest.approx({"b": 2.0, "d": -0.5}, abs=5e-3) and fit.identifiable
    mean, std = fit.mean[0], fit.std[0]
    assert abs(mean[1] - 2.0) < 3 * std[1] + 1e-3 and std[1] > 0
    twins = np.column_stack([theta[:, 0], theta[:, 0] * (1 + 1e-9), theta[:, 2]])
    flagged = sparse_fit(twins, theta[:, 0] + theta[:, 2], terms=["a", "a'", "c"], targets=["y"], bootstrap=10)
    assert not flagged.identifiable and "collinear" in flagged.reason
    with pytest.raises(ValueError, match="threshold"):
        sparse_fit(theta, y, terms=list("abcde"), targets=["y"], threshold=1.5)
    with pytest.raises(ValueError, match="too few"):
        sparse_fit(theta[:3], y[:3], terms=list("abcde"), targets=["y"])


def test_bad_input_names_the_problem(tiny_run, tiny_images):
    with pytest.raises(ValueError, match="form = 'mixed'"):
        discover_schrodinger(tiny_run, form="mixed")
    with pytest.raises(ValueError, match=r"noise = 1\.5"):
        discover_schrodinger(tiny_run, noise=1.5)
    with pytest.raises(ValueError, match="max_order = 1"):
        discover_schrodinger(tiny_run, max_order=1)
    with pytest.raises(ValueError, match="degree = 4"):
        discover_schrodinger(tiny_run, degree=4)
    data = read_wave_functions(tiny_run)
    short = type(data)(data.psi[:, :6], data.potential, data.times[:6], data.axes, data.hbar, data.mass,
                       data.trajectories)  # fmt: skip
    with pytest.raises(ValueError, match="too few for the 8th-order time derivative"):
        discover_schrodinger(short, form="strong")
    with pytest.raises(ValueError, match="needs psi and the potential"):
        discover_schrodinger(tiny_images)  # black-hole images: no wave function


def test_the_cli_prints_the_equation_and_writes_json_and_a_figure(tiny_run, tmp_path):
    from physml.cli import main

    assert main(["discover", "schrodinger", str(tiny_run), "--noise", "0.01", "--bootstrap", "5",
                 "--out", str(tmp_path / "d")]) == 0  # fmt: skip
    result = json.loads((tmp_path / "d" / "result.json").read_text())
    assert result["form"] == "weak" and result["max_error"] < 0.02 and result["spurious"] == []
    assert (tmp_path / "d" / "discovery.png").stat().st_size > 0
    with pytest.raises(SystemExit) as info:
        main(["discover", "schrodinger", str(tiny_run), "--form", "pointwise", "--out", str(tmp_path / "e")])
    assert info.value.code == 2


def test_the_audit_fits_a_surrogates_rollouts_beside_the_simulators(tiny_run, tmp_path):
    from physml.cli import main
    from physml.discovery import audit_surrogate
    from physml.training import Trainer, train_config_from_dict

    raw = {"data": {"path": str(tiny_run), "batch_size": 32, "in_memory": True},
           "model": {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 2}, "residual": True},
           "epochs": 1, "optim": {"warmup_steps": 2}}  # fmt: skip
    Trainer(train_config_from_dict(raw), tmp_path / "fno", progress=False).train()
    audit = audit_surrogate(tmp_path / "fno" / "best.pt", tiny_run, split=None, bootstrap=5)
    assert audit.rollout_steps == TINY_RUN["time"]["n_saves"] and audit.model.fit.terms == audit.data.fit.terms
    # The simulator's trajectories give its coefficients; a one-epoch FNO's rollouts do not.
    assert audit.data.max_error < 1e-5 and audit.data.spurious() == []
    assert audit.model.max_error > 100 * audit.data.max_error
    assert main(["discover", "audit", str(tmp_path / "fno" / "best.pt"), str(tiny_run), "--split", "train",
                 "--bootstrap", "2", "--trajectories", "3", "--out", str(tmp_path / "audit")]) == 0  # fmt: skip
    written = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert written["data"]["fit"]["settings"]["blocks"] == 3 and (tmp_path / "audit" / "model.png").exists()
    assert main(["evaluate", str(tmp_path / "fno" / "best.pt"), str(tiny_run), "--split", "train", "--rollout", "2",
                 "--audit", "--device", "cpu", "--out", str(tmp_path / "eval")]) == 0  # fmt: skip
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "PDE-FIND on the rollouts" in report and "| simulator |" in report and "| fno |" in report


TINY_NEAR_HORIZON = {
    "name": "tiny-near-horizon",
    "family": "near_horizon",
    "description": "tiny pulses on Schwarzschild for discovery tests",
    "license": "CC-BY-4.0",
    "seed": 2,
    "n_trajectories": 8,
    "time": {"t_final": 100.0, "n_saves": 50},
    "fixed": {"ndim": 1, "h": 0.1, "r_star_min": -40.0, "r_star_max": 100.0, "stride": 4, "extract_at": [50.0]},
    "sweep": {"mass": {"uniform": [0.9, 1.1]}, "center": {"uniform": [15.0, 25.0]}, "width": {"uniform": [2.0, 3.0]}},
    "cases": [{"fixed": {"s": 0}, "sweep": {"l": {"choice": [1, 2]}}},
              {"fixed": {"s": 2, "equation": "regge-wheeler"}, "sweep": {"l": {"choice": [2, 3]}}}],
    "splits": {"train": 1.0},
    "storage": {"compression": "none", "dtype": "float32"},
}  # fmt: skip


def test_the_wave_equation_and_its_potential_come_back_from_snapshots(tmp_path):
    from physml.cli import main
    from physml.datasets import BuildConfig, build_dataset
    from physml.discovery.wave import discover_wave_equation, recover_potential

    path = tmp_path / "near-horizon.h5"
    build_dataset(BuildConfig.from_dict(TINY_NEAR_HORIZON), path, workers=1, progress=False)
    clean = discover_wave_equation(path, bootstrap=10)
    # float32 snapshots, 4th-order method of lines at h = 0.1: a few 1e-6 relative.
    assert clean.max_error < 1e-4 and clean.spurious() == [] and clean.fit.identifiable
    noisy = discover_wave_equation(path, noise=0.01, bootstrap=10)
    assert noisy.max_error < 0.03 and noisy.spurious() == []  # 8 pulses (48: 0.06 %)
    potential = recover_potential(path)
    assert np.nanmax(potential.error) < 0.01  # V(r*) where the pulse passed, relative to the barrier's height
    assert np.isfinite(potential.recovered).sum(axis=1).min() > 100
    leading = [s["coefficients"][0] for s in potential.series]
    assert leading == pytest.approx([s["l"] * (s["l"] + 1) for s in potential.series], rel=1e-2)  # l(l + 1)
    with pytest.raises(ValueError, match="near_horizon 1D file"):
        discover_wave_equation(_schrodinger_file(tmp_path))
    assert main(["discover", "near-horizon", str(path), "--bootstrap", "3", "--out", str(tmp_path / "nh")]) == 0
    assert (tmp_path / "nh" / "potential.png").exists()


def _schrodinger_file(tmp_path):
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path / "wave-functions.h5"
    build_dataset(BuildConfig.from_dict({**TINY_RUN, "n_trajectories": 2}), path, workers=1, progress=False)
    return path


def test_symbolic_regression_finds_an_exact_law_and_approximates_the_isco(tmp_path):
    from physml.cli import main
    from physml.discovery.symbolic import discover_isco, symbolic_regression

    x = np.linspace(-1.0, 1.0, 50)
    law = symbolic_regression(x, 1 + 2 * x**2, test=np.arange(50) % 4 == 0, symbols="add,sub,mul,div,constant,variable",
                              generations=50, population=200, seed=0)  # fmt: skip
    assert law.max_error < 1e-6 and "a**2" in law.expression  # the exact form, found
    # The ISCO has nested cube roots: a reduced search (61 spins, 100 generations) approximates it to a few %.
    laws = discover_isco(points=61, seeds=(1, 2, 3), generations=100, population=300)
    assert min(law.test_error for law in laws) < 0.01 and max(law.max_error for law in laws) < 0.1
    with pytest.raises(ValueError, match=r"spin = 1\.0"):
        discover_isco(spin=1.0)
    assert main(["discover", "isco", "--seeds", "1", "--generations", "20", "--points", "31",
                 "--out", str(tmp_path / "isco")]) == 0  # fmt: skip
    assert json.loads((tmp_path / "isco" / "result.json").read_text())[0]["seed"] == 1


def test_orbits_give_keplers_exponent_and_einsteins_advance(tmp_path):
    from physml.cli import main
    from physml.discovery.orbits import discover_orbit_laws

    laws = discover_orbit_laws(orbits=16, bootstrap=10)
    errors = laws.errors()
    # Integrated at rtol 1e-12; the sparse fits' leading coefficients: the issue's goal is 1 %.
    assert errors["log(T/2pi): log a"] < 1e-3 and errors["dphi/u: 1"] < 1e-2  # 16 orbits: 5e-4 (40: 4e-6)
    table = laws.table
    assert np.all(table["advance"] > 0) and np.all(np.diff(np.sort(table["a"])) > 0)
    with pytest.raises(ValueError, match="semi_major"):
        discover_orbit_laws(semi_major=(5.0, 100.0))
    with pytest.raises(ValueError, match="orbits = 2"):
        discover_orbit_laws(orbits=2)
    assert main(["discover", "orbits", "--orbits", "8", "--bootstrap", "2", "--out", str(tmp_path / "o")]) == 0
    assert "kepler" in json.loads((tmp_path / "o" / "result.json").read_text())
