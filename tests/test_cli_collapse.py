"""``physml simulate collapse`` and ``physml critical``: files, help, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from physml.cli import main
from physml.datasets import open_dataset


def test_simulate_collapse_writes_the_metric_and_a_plot(tmp_path, capsys):
    out, plot = tmp_path / "shell.h5", tmp_path / "shell.png"
    args = ["simulate", "collapse", "--amplitude", "0.02", "--n", "300", "--r-max", "12", "--stretch", "5",
            "--t-final", "40", "--n-saves", "20", "--out", str(out), "--plot", str(plot), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert "dispersal" in capsys.readouterr().out
    ds = open_dataset(out)
    for name in ("a", "alpha", "Phi", "Pi", "phi", "mass_function"):
        assert ds[name].dims == ("trajectory", "time", "r"), name
    # Polar-areal gauge: a(0) = 1 at the regular centre, and alpha a = 1 at the outer edge.
    np.testing.assert_allclose(ds.a.values[0, :, 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(ds.alpha.values[0, :, -1] * ds.a.values[0, :, -1], 1.0, atol=1e-9)
    assert plot.stat().st_size > 10_000


def test_critical_help_explains_the_experiment(capsys):
    with pytest.raises(SystemExit):
        main(["critical", "--help"])
    out = capsys.readouterr().out
    assert "--bracket" in out and "gamma" in out and "Delta" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "collapse", "--amplitude", "-0.1", "--out", "x.h5"], "amplitude = -0.1 is invalid"),
        (["simulate", "collapse", "--amplitude", "0.1", "--width", "0", "--out", "x.h5"], "width = 0.0 is invalid"),
        (["critical", "--bracket", "0.05,0.04"], "p_low = 0.05, p_high = 0.04 are invalid"),
        (["critical", "--bracket", "0.04,0.05", "--rungs", "2"], "rungs = 2 is invalid"),
        (["critical", "--bracket", "0.04,0.05", "--no-refine"], "is invalid with --no-refine"),
    ],
)
def test_bad_input_exits_with_a_one_line_message(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
