"""The ``physml`` command: help, a real run to HDF5 + plot, and clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from physml.cli import main
from physml.datasets import read_parameters, validate


def test_help_lists_every_parameter_with_unit_and_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "schrodinger", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--dim", "--n", "--length", "--hbar", "--mass", "--potential", "--drive-field", "--center",
                   "--momentum", "--width", "--dt", "--t-final", "--n-saves", "--scheme", "--absorber-width",
                   "--out", "--plot"):  # fmt: skip
        assert option in text
    for unit in ("[length]", "[time]", "[momentum]", "[energy/length]", "[1/time]"):
        assert unit in text
    assert "square-barrier:" in text and "height [energy] = 1.0" in text


def test_simulate_writes_a_well_file_and_a_plot(tmp_path, capsys):
    out, plot = tmp_path / "run.h5", tmp_path / "run.png"
    code = main([
        "simulate", "schrodinger", "--n", "128", "--length", "30", "--potential", "square-barrier:height=1,width=1",
        "--center", "-6", "--momentum", "1.5", "--width", "1.0", "--dt", "0.01", "--t-final", "1", "--n-saves", "4",
        "--out", str(out), "--plot", str(plot), "--no-progress",
    ])  # fmt: skip
    assert code == 0
    assert plot.stat().st_size > 10_000
    with h5py.File(out) as f:
        assert f.attrs["dataset_name"] == "schrodinger" and f.attrs["n_spatial_dims"] == 1
        assert f.attrs["n_trajectories"] == 1
        assert list(f["dimensions"].attrs["spatial_dims"]) == ["x"]
        assert f["t0_fields/psi_real"].shape == (1, 5, 128)
        assert f["t0_fields/potential"].shape == (1, 128) and not f["t0_fields/potential"].attrs["time_varying"]
        assert set(f["t0_fields"].attrs["field_names"]) == {"psi_real", "psi_imag", "potential"}
        psi = f["t0_fields/psi_real"][0] + 1j * f["t0_fields/psi_imag"][0]
        dx = f["dimensions/x"][1] - f["dimensions/x"][0]
        np.testing.assert_allclose(np.sum(np.abs(psi) ** 2, axis=1) * dx, 1.0, atol=1e-12)
        np.testing.assert_allclose(f["scalars/norm"][0], 1.0, atol=1e-12)
        assert "transmitted" in f["scalars"]
        # A one-trajectory file of the family, as a build writes it: its config, parameters and checks.
        config = json.loads(f["physml"].attrs["config"])
        assert config["family"] == "schrodinger" and config["n_trajectories"] == 1
        assert config["fixed"]["potential_kind"] == "square-barrier" and config["time"] == {"t_final": 1, "n_saves": 4}
        assert json.loads(f["physml"].attrs["complex_fields"]) == {"psi": ["psi_real", "psi_imag"]}
        assert f["physml"].attrs["physml_version"]
        assert 0 <= f["physml/verification/norm_drift"][0] < 1e-12
    (params,) = read_parameters(out)
    assert params["potential_kind"] == "square-barrier" and (params["height"], params["width"]) == (1.0, 1.0)
    assert (params["x0"], params["px"], params["sigma"]) == (-6.0, 1.5, 1.0)
    assert validate(out).ok
    assert "wrote" in capsys.readouterr().out


def test_simulate_2d_driven_eigenstate(tmp_path):
    out = tmp_path / "run2d.h5"
    code = main([
        "simulate", "schrodinger", "--dim", "2", "--n", "32", "--length", "12", "--potential", "harmonic",
        "--initial", "eigenstate", "--eigenstates", "0,1", "--drive-field", "0.1", "--dt", "0.05",
        "--t-final", "0.5", "--n-saves", "2", "--out", str(out), "--no-progress",
    ])  # fmt: skip
    assert code == 0
    with h5py.File(out) as f:
        assert f["t0_fields/psi_real"].shape == (1, 3, 32, 32)
        assert f["t0_fields/potential"].shape == (1, 3, 32, 32)  # time-dependent under the drive
        assert "r2_mean" in f["scalars"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dt", "-1"], "dt = -1.0 is invalid"),
        (["--n", "4"], "n[0] = 4 is invalid"),
        (["--potential", "nope"], "potential = 'nope' is invalid"),
        (["--potential", "harmonic:omega=x"], "omega = 'x' is invalid"),
        (["--potential", "harmonic:depth=1"], "potential parameter 'depth=1' is invalid"),
        (["--center", "19"], "tails reach the box edge"),
    ],
)
def test_bad_parameters_exit_with_a_message(tmp_path, capsys, args, message):
    out = tmp_path / "bad.h5"
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["simulate", "schrodinger", "--out", str(out), "--no-progress", "--t-final", "0.1", "--n-saves", "1", *args]
        )
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_console_script_and_module_entry_points():
    console_script = Path(sys.executable).with_name("physml")
    for command in ([str(console_script), "--version"], [sys.executable, "-m", "physml", "--version"]):
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        assert result.stdout.startswith("physml ")
