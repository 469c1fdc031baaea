"""``physml dataset``: list, build, info, validate, and one-line errors instead of tracebacks."""

from __future__ import annotations

import subprocess
import sys

import h5py
import pytest
import yaml

from physml.cli import main


def test_list_shows_shipped_configs_and_families(capsys):
    assert main(["dataset", "list", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "schrodinger-1d" in out and "schrodinger-2d" in out
    assert "potential_kind [1] = 'free'" in out and "norm_drift <= 1e-09" in out


def test_build_help_explains_resuming_and_scaling(capsys):
    with pytest.raises(SystemExit):
        main(["dataset", "build", "--help"])
    out = capsys.readouterr().out
    for option in ("--out", "--n-trajectories", "--workers", "--scheduler", "--resume", "--overwrite"):
        assert option in out
    assert "running the same command again resumes it" in out


def test_build_info_validate_round_trip(tmp_path, tiny_config, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config))
    out = tmp_path / "tiny.h5"
    assert main(["dataset", "build", str(config), "--out", str(out), "--n-trajectories", "8", "--workers", "1",
                 "--no-progress"]) == 0  # fmt: skip
    assert f"wrote {out}: 8 trajectories (8 built) in" in capsys.readouterr().out
    assert main(["dataset", "info", str(out)]) == 0
    info = capsys.readouterr().out
    for text in ("status     complete: 8/8", "licence    CC-BY-4.0", "potential_kind", "statistics (training split)",
                 "norm_drift", "ok", "provenance physml"):  # fmt: skip
        assert text in info, text
    assert main(["dataset", "validate", str(out)]) == 0
    assert "valid" in capsys.readouterr().out

    with h5py.File(out, "r+") as f:
        f["physml/verification/energy_drift"][2] = 0.5
    assert main(["dataset", "validate", str(out), "--no-data"]) == 1
    assert "FAIL: 1 trajectories fail energy_drift <= 0.001 (worst 0.5; trajectories 2)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dataset", "build", "no-such-config", "--out", "{tmp}/x.h5"], "neither a shipped configuration"),
        (["dataset", "build", "schrodinger-1d", "--out", "{tmp}/x.h5", "--workers", "0"], "workers = 0 is invalid"),
        (["dataset", "info", "{tmp}/missing.h5"], "missing.h5: no such file"),
        (["dataset", "validate", "{tmp}/garbage.h5"], "cannot be opened as HDF5 (truncated, corrupted, not HDF5"),
    ],
)
def test_errors_are_one_line_messages(tmp_path, args, message):
    (tmp_path / "garbage.h5").write_bytes(b"not an hdf5 file" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "physml", *(a.format(tmp=tmp_path) for a in args)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
