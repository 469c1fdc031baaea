"""The near_horizon dataset family, its shipped configs, and the ``physml simulate near-horizon`` / ``qnm`` commands."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from physml.cli import main
from physml.datasets import BuildConfig, build_dataset, load_config, open_dataset
from physml.datasets.build import resolve_plan
from physml.simulators.near_horizon import Perturbation, Snapshots, evolve, gaussian_pulse, snapshot_grid

TINY_1D = {
    "name": "tiny-near-horizon",
    "family": "near_horizon",
    "description": "tiny test dataset",
    "seed": 3,
    "n_trajectories": 4,
    "time": {"t_final": 40.0, "n_saves": 8},
    "fixed": {"ndim": 1, "h": 0.15, "r_star_min": -20.0, "r_star_max": 60.0, "stride": 3, "extract_at": [-10.0, 40.0]},
    "sweep": {"center": {"uniform": [15.0, 25.0]}, "direction": {"list": ["ingoing", "time-symmetric"]}},
    "cases": [{"fixed": {"s": 0}, "sweep": {"l": {"list": [0, 1]}}}, {"fixed": {"s": 2, "equation": "zerilli"}}],
    "splits": {"train": 0.5, "val": 0.25, "test": 0.25},
}


@pytest.fixture(scope="module")
def tiny_1d(tmp_path_factory):
    out = tmp_path_factory.mktemp("nh") / "tiny.h5"
    build_dataset(BuildConfig.from_dict(TINY_1D), out, workers=1, progress=False)
    return out


def test_stored_fields_are_the_evolutions_of_their_parameters(tiny_1d):
    config = BuildConfig.from_dict(TINY_1D)
    _, plan, _ = resolve_plan(config)
    ds = open_dataset(tiny_1d)
    stored_grid = snapshot_grid(Snapshots(-20.0, 60.0, n_saves=8, stride=3), 0.15)
    np.testing.assert_allclose(ds.r_star.values, stored_grid)
    for i, params in enumerate(plan.parameters):
        run = evolve(
            Perturbation(s=params["s"], l=params["l"], equation=params["equation"]),
            gaussian_pulse(center=params["center"], width=params["width"], direction=params["direction"]),
            t_final=40.0,
            extract_at=[-10.0, 40.0],
            h=0.15,
            snapshots=Snapshots(-20.0, 60.0, n_saves=8, stride=3),
        )
        np.testing.assert_array_equal(ds.psi[i].values, run.snapshots)
        np.testing.assert_array_equal(ds.potential[i].values, run.perturbation.potential_at(stored_grid))
        # Waveforms at the save times are the run's samples there.
        sample = np.round(ds.time.values / (run.t[1] - run.t[0])).astype(int)
        np.testing.assert_array_equal(ds.psi_at_m10M[i].values, run.waveforms[0, sample])
        np.testing.assert_array_equal(ds.psi_at_40M[i].values, run.waveforms[1, sample])


def test_checks_are_recorded_and_pass(tiny_1d):
    with h5py.File(tiny_1d) as f:
        verification = f["physml/verification"]
        for name, threshold in (("energy_drift", 1e-5), ("discretisation_error", 1e-4)):
            values = verification[name][...]
            assert np.all(values > 0) and np.all(values <= threshold), name


def test_richardson_error_estimate_tracks_the_true_error():
    """The family's discretisation figure is |ψ_h - ψ_2h| / 15; for a 4th-order scheme that should
    estimate |ψ_h - ψ_exact| (here: ψ at h / 4) to within a factor of ~2."""
    pulse, p = gaussian_pulse(center=20.0, width=2.0), Perturbation(s=2, l=2)
    snaps = Snapshots(-20.0, 60.0, n_saves=8)
    fine, coarse, exact = (
        evolve(p, pulse, t_final=40.0, extract_at=[0.0], h=h, snapshots=snaps) for h in (0.2, 0.4, 0.05)
    )
    on_fine = np.isin(np.round(exact.snapshot_r_star / 0.2, 6) % 1, 0.0)
    true_error = np.max(np.abs(fine.snapshots - exact.snapshots[:, on_fine]))
    on_coarse = np.isin(np.round(fine.snapshot_r_star / 0.4, 6) % 1, 0.0)
    estimate = np.max(np.abs(fine.snapshots[:, on_coarse] - coarse.snapshots)) / 15
    assert 0.5 < estimate / true_error < 2.0


def test_field_map_dataset_builds_with_the_mask(tmp_path):
    tiny = {
        "name": "tiny-maps",
        "family": "near_horizon",
        "description": "tiny maps",
        "seed": 1,
        "n_trajectories": 2,
        "time": {"t_final": 20.0, "n_saves": 4},
        "fixed": {"ndim": 2, "h": 0.15, "extent": 20.0, "pixels": 24, "l_max": 4, "s": 0},
        "sweep": {"center": {"uniform": [10.0, 14.0]}, "theta0": {"uniform": [0.5, 2.5]}},
    }
    out = tmp_path / "maps.h5"
    build_dataset(BuildConfig.from_dict(tiny), out, workers=1, progress=False)
    ds = open_dataset(out)
    assert ds.phi.shape == (2, 5, 24, 24)
    x, z = np.meshgrid(ds.x.values, ds.z.values, indexing="ij")
    np.testing.assert_array_equal(ds.outside[0].values, (np.hypot(x, z) > 2).astype(float))
    assert np.all(ds.phi.values[:, :, np.hypot(x, z) <= 2] == 0)
    assert np.max(np.abs(ds.phi.values)) > 0.01


@pytest.mark.parametrize("name", ["near-horizon-1d", "near-horizon-maps"])
def test_shipped_configs_resolve_every_trajectory(name):
    """Every planned trajectory passes the family's checks (l >= s, resolution, windows) before anything runs."""
    _, plan, _ = resolve_plan(load_config(name))
    assert len(plan) == load_config(name).n_trajectories
    spins = {params["s"] for params in plan.parameters}
    assert spins == {0, 1, 2}
    assert all(params["l"] is None or params["l"] >= params["s"] for params in plan.parameters)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"s": 2, "l": 1}, "l = 1 is invalid: need an integer l >= s = 2"),
        ({"mass": -1.0}, "mass = -1.0 is invalid"),
        ({"h": 0.9}, "does not resolve the potential peak"),
        ({"h": 0.3}, "h = 0.3 is invalid: the error estimate reruns at 2h"),
        ({"s": 0, "equation": "zerilli"}, "describes s = 2 only"),
        ({"l_max": 4}, "do not apply to ndim = 1"),
        ({"ndim": 2, "l": 3}, "do not apply to ndim = 2"),
    ],
)
def test_bad_dataset_parameters_are_refused_before_building(change, message):
    from physml.datasets.families import get_family

    family = get_family("near_horizon")
    params = {"ndim": 1, "s": 2, "l": 2, **change}
    with pytest.raises(ValueError, match=message):
        family.resolve(params)


# -- command line -------------------------------------------------------------------------------
def test_simulate_near_horizon_writes_a_well_file_and_qnm_reads_it(tmp_path, capsys):
    out, plot = tmp_path / "rw.h5", tmp_path / "rw.png"
    args = ["simulate", "near-horizon", "--s", "2", "--l", "2", "--h", "0.2", "--t-final", "250",
            "--extract-at=-20,100", "--out", str(out), "--plot", str(plot), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert plot.stat().st_size > 10_000
    ds = open_dataset(out)
    assert ds.psi.dims == ("trajectory", "time", "r_star") and ds.time.values[-1] == 250.0
    capsys.readouterr()
    assert main(["qnm", str(out), "--waveform", "psi_at_100M"]) == 0
    report = capsys.readouterr().out
    line = next(line for line in report.splitlines() if line.startswith("fundamental"))
    real = float(line.split("omega = ")[1].split()[0])
    assert real == pytest.approx(0.3736717, rel=1e-3)


def test_qnm_reports_m_omega_for_a_heavier_hole(capsys):
    """With --mass 2.5 the window and the report scale with M: M*omega is the published value."""
    assert main(["qnm", "--s", "2", "--l", "2", "--mass", "2.5", "--h", "0.4", "--r-star", "120",
                 "--center", "50", "--width", "5"]) == 0  # fmt: skip
    report = capsys.readouterr().out
    line = next(line for line in report.splitlines() if line.startswith("fundamental"))
    assert float(line.split("omega = ")[1].split()[0]) == pytest.approx(0.3736717, rel=1e-3)
    assert "relative error" in report


def test_qnm_evolves_and_compares_with_the_published_value(tmp_path, capsys):
    assert main(["qnm", "--s", "0", "--l", "1", "--h", "0.2", "--tail", "500,900", "--plot",
                 str(tmp_path / "q.png")]) == 0  # fmt: skip
    report = capsys.readouterr().out
    assert "published      M omega = 0.2929361" in report
    exponent = float(report.split("psi ~ t^")[1].split()[0])
    assert exponent == pytest.approx(-5, abs=0.1)
    assert (tmp_path / "q.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "near-horizon", "--s", "2", "--l", "1", "--out", "x.h5"], "l = 1 is invalid"),
        (["simulate", "near-horizon", "--mass", "0", "--out", "x.h5"], "mass = 0.0 is invalid"),
        (["simulate", "near-horizon", "--h", "2", "--out", "x.h5"], "does not resolve the potential peak"),
        (["qnm", "missing.h5"], "missing.h5"),
    ],
)
def test_bad_input_exits_with_a_one_line_message(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
