"""``physml simulate``: every family through its dataset family, one writer shared with builds, atomic files."""

from __future__ import annotations

import numpy as np
import pytest

from physml.cli import main
from physml.datasets import BuildConfig, build_dataset, open_dataset, read_info, simulate_to_file


def _config(t_final: float = 0.4, **fixed) -> BuildConfig:
    return BuildConfig.from_dict({
        "name": "one", "family": "schrodinger", "n_trajectories": 1, "time": {"t_final": t_final, "n_saves": 4},
        "fixed": {"n": 64, "length": 20.0, "dt": 0.01, "potential_kind": "harmonic", "x0": 1.0, **fixed},
        "splits": {"train": 1.0},
    })  # fmt: skip


def test_a_simulated_file_is_the_build_of_the_same_one_trajectory_config(tmp_path):
    config = _config(px=0.5)
    run = simulate_to_file(config, tmp_path / "simulated.h5")
    build_dataset(config, tmp_path / "built.h5", workers=1, progress=False)
    simulated, built = open_dataset(tmp_path / "simulated.h5"), open_dataset(tmp_path / "built.h5")
    for name in ("psi", "potential", "norm", "energy"):
        np.testing.assert_array_equal(simulated[name].values, built[name].values, err_msg=name)
    np.testing.assert_array_equal(simulated.psi.values[0], run.trajectory.fields["psi"])
    a, b = read_info(tmp_path / "simulated.h5"), read_info(tmp_path / "built.h5")
    assert (a.status, a.family, a.fingerprint, a.statistics) == (b.status, b.family, b.fingerprint, b.statistics)


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    from physml.datasets import store

    out = tmp_path / "run.h5"
    simulate_to_file(_config(px=0.5), out)
    before = out.read_bytes()

    def broken(self, items):
        raise OSError("disk full")

    monkeypatch.setattr(store.StoreWriter, "write_many", broken)
    with pytest.raises(OSError, match="disk full"):
        simulate_to_file(_config(px=-0.5), out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]  # no temporary file left behind


def test_a_driven_run_with_an_absorber_stores_v_of_t_and_drops_the_checks_it_breaks(tmp_path):
    config = _config(
        t_final=0.8,
        n=256,
        potential_kind="free",
        drive_field=0.2,
        drive_frequency=3.0,
        absorber_width=2.0,
        x0=4.0,
        px=8.0,
        sigma=0.5,
    )  # the packet runs into the layer at the edge x = 8 .. 10
    run = simulate_to_file(config, tmp_path / "d.h5")
    x = run.layout.axes["x"]
    potential = run.trajectory.fields["potential"]  # (n_t, x): V(x) + E0 x sin(Omega t), V = 0
    expected = 0.2 * x * np.sin(3.0 * run.times[:, None])
    np.testing.assert_allclose(potential, expected, rtol=0, atol=1e-12)
    norm = run.trajectory.scalars["norm"]
    assert norm[-1] < 0.9 * norm[0]  # the layer absorbs
    assert run.trajectory.verification["norm_drift"] == 0.0 == run.trajectory.verification["energy_drift"]


def test_an_eigenstate_start_is_stationary(tmp_path):
    run = simulate_to_file(_config(initial="eigenstate", eigenstates=[1]), None)
    density = np.abs(run.trajectory.fields["psi"]) ** 2
    # Stationary up to the O(dt^2) by which the split-step propagator's stationary states differ from the exact ones.
    np.testing.assert_allclose(density[-1], density[0], rtol=0, atol=1e-4 * density.max())
    energy = run.trajectory.scalars["energy"]
    np.testing.assert_allclose(energy, 1.5, rtol=1e-6)  # the first excited level of the unit harmonic oscillator


def test_double_null_stores_the_integrators_own_samples(tmp_path, capsys):
    from physml.simulators.near_horizon import Perturbation, evolve, gaussian_pulse

    out = tmp_path / "dn.h5"
    args = ["simulate", "near-horizon", "--scheme", "double-null", "--h", "0.2", "--t-final", "120",
            "--extract-at=10,80", "--save-every", "1", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert "double-null, 121 saves, waveforms at r* = 10, 80" in capsys.readouterr().out
    ds = open_dataset(out)
    assert ds.psi.dims == ("trajectory", "time", "r_star") and list(ds.r_star.values) == [10.0, 80.0]
    run = evolve(Perturbation(s=2, l=2), gaussian_pulse(center=20.0, width=2.0), t_final=120.0,
                 extract_at=[10.0, 80.0], scheme="double-null", h=0.2)  # fmt: skip
    on_lattice = np.isin(np.round(run.t, 9), ds.time.values)  # saves every 1 M fall on samples every 0.2 M
    stored = ds.psi.values[0][np.isin(ds.time.values, np.round(run.t, 9))].T
    np.testing.assert_allclose(stored, np.nan_to_num(run.waveforms[:, on_lattice]), rtol=0, atol=1e-12)
    # Before the pulse can reach r* = 80 (t < 80 - 40, the edge of its support), psi is exactly 0 there.
    assert np.all(ds.psi.values[0, ds.time.values < 40, 1] == 0)
    np.testing.assert_array_equal(ds.psi_at_80M.values[0], ds.psi.values[0, :, 1])


def test_a_double_null_dataset_shares_its_radii_across_pulses_and_fills_every_save(tmp_path):
    """Each pulse has its own null diagonals; the radii snap to the file-wide lattice 2h m all the same,
    and the runs go on past the last save (a save after the run's last sample used to be left at 0)."""
    config = BuildConfig.from_dict({
        "name": "dn", "family": "near_horizon", "n_trajectories": 3, "time": {"t_final": 31.7, "n_saves": 4},
        "fixed": {"ndim": 1, "scheme": "double-null", "h": 0.2, "extract_at": [10.0, 30.1], "direction": "ingoing",
                  "s": 0, "l": 1},
        "sweep": {"center": {"list": [20.0, 22.3, 24.9]}}, "splits": {"train": 1.0, "val": 0.0, "test": 0.0},
    })  # fmt: skip
    out = tmp_path / "dn.h5"
    build_dataset(config, out, workers=1, progress=False)
    ds = open_dataset(out)
    assert list(ds.r_star.values) == [10.0, 30.0]  # nearest multiples of 2h = 0.4
    assert np.all(np.abs(ds.psi.values[:, -1, 1]) > 0)  # the last save, at r* = 30, inside every quadrant
    ds.close()


def test_simulate_checks_its_output_folder_before_running(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ValueError, match="a-file is a file, not a folder"):
        simulate_to_file(_config(), tmp_path / "a-file" / "run.h5")


def test_the_double_null_error_estimate_falls_as_h_squared():
    from physml.datasets import get_family

    family, times = get_family("near_horizon"), np.linspace(0.0, 120.0, 121)
    errors = []
    for h in (0.2, 0.1):
        params = family.resolve({"scheme": "double-null", "h": h, "extract_at": [10.0, 80.0]}, times)
        errors.append(family.simulate(params, times).verification["discretisation_error"])
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.1)


def test_the_cli_names_the_simulators_choices():
    """The option modules spell the simulators' vocabularies (so that help imports no simulator): they must agree."""
    from physml.cli.families import collapse, near_horizon, schrodinger
    from physml.simulators import collapse as collapse_sim
    from physml.simulators import near_horizon as near_horizon_sim
    from physml.simulators.schrodinger import SCHEMES

    assert set(schrodinger.SCHEMES) == set(SCHEMES)
    assert set(near_horizon.SCHEMES) == set(near_horizon_sim.SCHEMES)
    assert set(near_horizon.EQUATIONS) == set(near_horizon_sim.EQUATIONS)
    assert set(near_horizon.DIRECTIONS) == set(near_horizon_sim.DIRECTIONS)
    assert set(collapse.PROFILE_CHOICES) == set(collapse_sim.PROFILES)
    assert set(collapse.DIRECTION_CHOICES) == set(collapse_sim.DIRECTIONS)


def test_progress_of_a_run_goes_to_a_log_as_lines(tmp_path):
    import subprocess
    import sys

    out, log = tmp_path / "run.h5", tmp_path / "log.txt"
    with log.open("w") as err:
        subprocess.run([sys.executable, "-m", "physml", "simulate", "schrodinger", "--n", "64", "--length", "20",
                        "--t-final", "0.5", "--n-saves", "5", "--out", str(out)], stderr=err, check=True)  # fmt: skip
    text = log.read_text()
    assert "\r" not in text
    lines = text.splitlines()
    # A line at each save (10 steps, a fifth of the run) but the last, and a last one at the end.
    assert [line.split(" step ")[0] for line in lines] == [f"schrodinger: {n}/50" for n in (10, 20, 30, 40, 50)]
    assert lines[-1].startswith("schrodinger: 50/50 step (100%) in ")


@pytest.mark.parametrize(
    ("fixed", "message"),
    [
        ({"hbar": 0.0}, "hbar = 0.0 is invalid"),
        ({"initial": "eigenstate", "eigenstates": [70], "x0": None}, r"eigenstates = \[70\] is invalid with n = 64"),
    ],
)
def test_schrodinger_parameters_are_checked_before_the_packet_or_the_eigensolver(tmp_path, fixed, message):
    with pytest.raises(ValueError, match=message):
        simulate_to_file(_config(**fixed), tmp_path / "run.h5")
    assert not (tmp_path / "run.h5").exists()
