"""Building datasets: the Well layout, physml's metadata, determinism, parallel and Dask builds, kill-and-resume."""

from __future__ import annotations

import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
import yaml
from helpers import assert_same_fields, fields_of

from physml.datasets import (
    BuildConfig,
    BuildError,
    DataFileError,
    build_dataset,
    get_family,
    read_info,
    validate,
)
from physml.datasets.build import resolve_plan
from physml.datasets.schema import SCHEMA_VERSION


def test_file_has_the_well_layout_and_physml_metadata(tiny_dataset, tiny_config):
    with h5py.File(tiny_dataset) as f:
        assert f.attrs["dataset_name"] == "schrodinger" and f.attrs["grid_type"] == "cartesian"
        assert f.attrs["n_spatial_dims"] == 1 and f.attrs["n_trajectories"] == 12
        shared = {"ndim", "n", "length", "dt", "eigenstates", "absorber_width", "absorber_strength", "drive_field"}
        assert set(f.attrs["simulation_parameters"]) == shared | {"drive_frequency", "drive_phase"}
        assert f.attrs["dt"] == 0.01
        for group in ("dimensions", "boundary_conditions", "scalars", "t0_fields", "t1_fields", "t2_fields"):
            assert group in f
        assert list(f["dimensions"].attrs["spatial_dims"]) == ["x"]
        assert f["dimensions/time"].shape == (6,) and f["dimensions/x"].shape == (128,)
        assert f["boundary_conditions/x_periodic"].attrs["bc_type"] == "PERIODIC"
        psi = f["t0_fields/psi_real"]
        assert psi.shape == (12, 6, 128) and psi.chunks == (1, 1, 128)
        assert psi.attrs["time_varying"] and psi.attrs["sample_varying"]
        assert f["t0_fields/potential"].shape == (12, 128) and not f["t0_fields/potential"].attrs["time_varying"]
        # Per-trajectory parameters are Well scalars that vary by sample, not in time.
        omega = f["scalars/omega"]
        assert omega.shape == (12,) and omega.attrs["sample_varying"] and not omega.attrs["time_varying"]
        kinds = list(f["scalars/potential_kind"].attrs["categories"])
        assert "harmonic" in kinds and f["scalars/norm"].shape == (12, 6)
        meta = f["physml"]
        assert meta.attrs["schema_version"] == SCHEMA_VERSION and meta["complete"][()] == 1
        for key in ("physml_version", "git_commit", "created", "config", "card", "fingerprint"):
            assert meta.attrs[key]
        assert set(meta["verification"]) == {"norm_drift", "energy_drift", "edge_probability", "spectral_tail"}
    info = read_info(tiny_dataset)
    assert info.card["license"] == "CC-BY-4.0" and info.card["description"] == "tiny test dataset"
    assert sum(info.card["splits"].values()) == 12
    assert yaml.safe_load(info.config)["seed"] == tiny_config["seed"]
    report = validate(tiny_dataset)
    assert report.ok, report.problems


def test_stored_trajectories_are_the_simulations_of_their_parameters(tiny_dataset, tiny_config):
    family, plan, _ = resolve_plan(BuildConfig.from_dict(tiny_config))
    times = BuildConfig.from_dict(tiny_config).times
    stored = fields_of(tiny_dataset)
    with h5py.File(tiny_dataset) as f:
        categories = list(f["scalars/potential_kind"].attrs["categories"])
        kinds = [categories[c] for c in f["scalars/potential_kind"][...]]
        omega = f["scalars/omega"][...]
        norm = f["scalars/norm"][...]
    for i in (0, 5, 11):
        trajectory = family.simulate(plan.parameters[i], times)
        assert np.array_equal(stored["psi_real"][i], trajectory.fields["psi"].real)
        assert np.array_equal(stored["psi_imag"][i], trajectory.fields["psi"].imag)
        assert np.array_equal(stored["potential"][i], trajectory.fields["potential"])
        assert kinds[i] == plan.parameters[i]["potential_kind"]
        assert np.isnan(omega[i]) == (plan.parameters[i]["omega"] is None)
    np.testing.assert_allclose(norm, 1.0, atol=1e-12)


def test_statistics_are_those_of_the_training_split(tiny_dataset):
    info = read_info(tiny_dataset)
    train = info.splits == "train"
    assert 0 < train.sum() < 12
    with h5py.File(tiny_dataset) as f:
        psi = f["t0_fields/psi_real"][...][train]
        potential = f["t0_fields/potential"][...][train]
    stats = info.statistics
    np.testing.assert_allclose(stats["psi_real"]["mean"], psi.mean(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(stats["psi_real"]["std"], psi.std(), rtol=1e-10)
    np.testing.assert_allclose(stats["psi_real"]["rms"], np.sqrt(np.mean(psi**2)), rtol=1e-10)
    np.testing.assert_allclose(stats["psi_real"]["std_delta"], np.diff(psi, axis=1).std(), rtol=1e-10)
    np.testing.assert_allclose(stats["potential"]["max"], potential.max())
    assert "std_delta" not in stats["potential"]


def test_two_worker_build_matches_the_in_process_build(tiny_dataset, tiny_config, tmp_path):
    out = tmp_path / "parallel.h5"
    report = build_dataset(BuildConfig.from_dict(tiny_config), out, workers=2, progress=False)
    assert report.n_built == 12 and "2 local processes" in report.workers
    assert_same_fields(out, tiny_dataset)


def test_builds_are_bit_identical_whatever_the_process_ran_before(tiny_config, tmp_path):
    # FFTW wisdom from an earlier FFTW_MEASURE plan of the same shape must not change the build's bits.
    from physml.kernels import FFTPlan

    FFTPlan((128,), threads=1, measure=True)
    here = tmp_path / "here.h5"
    build_dataset(BuildConfig.from_dict(tiny_config), here, workers=1, progress=False)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config))
    fresh = tmp_path / "fresh.h5"
    command = [sys.executable, "-m", "physml", "dataset", "build", str(config), "--out", str(fresh), "--workers", "1"]
    subprocess.run(command, check=True, capture_output=True)
    assert_same_fields(here, fresh)


def test_by_default_small_builds_stay_in_process(tiny_dataset, tiny_config, tmp_path):
    # 12 quick trajectories end long before a worker process would have started.
    report = build_dataset(BuildConfig.from_dict(tiny_config), tmp_path / "auto.h5", progress=False)
    assert report.workers == "1 (in process)" and report.n_built == 12
    assert_same_fields(tmp_path / "auto.h5", tiny_dataset)


def test_dask_cluster_build_matches_the_in_process_build(tiny_dataset, tiny_config, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.h5"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        report = build_dataset(
            BuildConfig.from_dict(tiny_config), out, scheduler=cluster.scheduler_address, progress=False
        )
    assert report.n_built == 12 and report.workers.startswith("dask: 2 worker threads")
    assert_same_fields(out, tiny_dataset)


def test_compressed_store_holds_the_same_data(tiny_dataset, tiny_config, tmp_path):
    out = tmp_path / "lzf.h5"
    tiny_config["storage"] = {"compression": "lzf"}
    build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)
    with h5py.File(out) as f:
        assert f["t0_fields/psi_real"].compression == "lzf" and f["t0_fields/psi_real"].shuffle
    assert_same_fields(out, tiny_dataset)
    assert read_info(out).statistics == read_info(tiny_dataset).statistics
    assert validate(out).ok


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_trajectory_stops_the_build_naming_it(tmp_path, tiny_config, workers, monkeypatch):
    from failing_family import FailingFamily

    from physml.datasets import FAMILIES

    # Registered here only; the family object travels to the worker processes with the work.
    monkeypatch.setitem(FAMILIES, FailingFamily.name, FailingFamily())
    tiny_config["family"] = "failing-schrodinger"
    tiny_config["sweep"]["sigma"] = {"list": [1.0] * 7 + [0.777]}
    out = tmp_path / "failing.h5"
    with pytest.raises(BuildError, match=r"trajectory 7 \(.*sigma=0.777.*\) failed: FloatingPointError: simulated"):
        build_dataset(BuildConfig.from_dict(tiny_config), out, workers=workers, progress=False)
    info = read_info(out)
    assert info.status == "building" and not info.completed[7]
    assert validate(out).ok


def test_existing_files_are_never_damaged(tiny_dataset, tiny_config, tmp_path):
    config = BuildConfig.from_dict(tiny_config)
    copy = tmp_path / "copy.h5"
    copy.write_bytes(tiny_dataset.read_bytes())
    before = copy.read_bytes()
    with pytest.raises(ValueError, match="is a complete build of this config; pass --overwrite"):
        build_dataset(config, copy, workers=1, progress=False)
    with pytest.raises(ValueError, match=r"holds a different dataset .* pass --overwrite"):
        build_dataset(config.with_trajectories(13), copy, workers=1, progress=False)
    assert copy.read_bytes() == before
    assert build_dataset(config, copy, resume=True, progress=False).n_built == 0

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(before[: len(before) // 2])
    for bad in (truncated, tmp_path / "missing.h5"):
        with pytest.raises(DataFileError, match=re.escape(bad.name)):
            read_info(bad)
    with pytest.raises(DataFileError, match="truncated, corrupted"):
        build_dataset(config, truncated, workers=1, progress=False)
    assert truncated.read_bytes() == before[: len(before) // 2]

    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(DataFileError, match="not a Well-layout file: missing dataset_name"):
        build_dataset(config, foreign, workers=1, progress=False)

    newer = tmp_path / "newer.h5"
    newer.write_bytes(before)
    with h5py.File(newer, "r+") as f:
        f["physml"].attrs["schema_version"] = "9.0"
    with pytest.raises(DataFileError, match=r"uses physml schema 9\.0, newer than the 0\.2 this physml reads"):
        read_info(newer)


def test_corrupted_metadata_gives_a_data_file_error(tiny_dataset, tiny_config, tmp_path):
    data = tiny_dataset.read_bytes()
    for offset in (800, 2000, 3000, 6000, 12000):
        bad = tmp_path / f"corrupt-{offset}.h5"
        bad.write_bytes(data[:offset] + b"\xff" * 64 + data[offset + 64 :])
        try:
            read_info(bad)
            validate(bad)  # may succeed or report problems, but never raise anything else
        except DataFileError as exc:
            assert str(bad) in str(exc)
    with pytest.raises(ValueError, match="is a directory; give a file name"):
        build_dataset(BuildConfig.from_dict(tiny_config), tmp_path, workers=1, progress=False)


def test_validate_reports_failing_trajectories(tiny_dataset, tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(tiny_dataset.read_bytes())
    with h5py.File(broken, "r+") as f:
        f["physml/verification/norm_drift"][3] = 0.1
        f["t0_fields/psi_real"][5, 2, 10] = np.nan
    report = validate(broken)
    assert not report.ok
    assert any("1 trajectories fail norm_drift <= 1e-09 (worst 0.1; trajectories 3)" in p for p in report.problems)
    assert any("t0_fields/psi_real has non-finite values in trajectories 5" in p for p in report.problems)


@pytest.mark.parametrize("name", ["schrodinger-1d", "schrodinger-2d"])
def test_shipped_configs_pass_their_checks_in_full(name, tmp_path):
    # The whole shipped dataset (a few seconds each): every trajectory within every verification threshold.
    out = tmp_path / f"{name}.h5"
    build_dataset(name, out, workers=2, progress=False)
    report = validate(out)
    assert report.ok, report.problems
    assert len(read_info(out).card["parameters"]["potential_kind"]["categories"]) == 4


def test_verification_flags_an_under_resolved_trajectory():
    # A fast packet on a coarse grid: the spectral tail check catches what the grid cannot hold.
    family = get_family("schrodinger")
    params = family.resolve({"n": 64, "length": 24.0, "dt": 0.01, "potential_kind": "harmonic", "omega": 2.0,
                             "x0": 4.0, "sigma": 0.5})  # fmt: skip
    trajectory = family.simulate(params, np.linspace(0, 1.5, 4))
    assert trajectory.verification["spectral_tail"] > family.checks["spectral_tail"].threshold
    assert trajectory.verification["norm_drift"] < 1e-12
