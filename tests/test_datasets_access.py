"""Reading stores: the lazy xarray view, torch windows (with DataLoader workers), and The Well's own loader."""

from __future__ import annotations

import json
import re

import dask.array as da
import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from physml.datasets import WindowDataset, open_dataset, read_info


def test_open_dataset_is_lazy_labelled_and_recombines_complex_fields(tiny_dataset):
    ds = open_dataset(tiny_dataset)
    assert dict(ds.sizes) == {"trajectory": 12, "time": 6, "x": 128}
    assert ds.psi.dims == ("trajectory", "time", "x") and ds.potential.dims == ("trajectory", "x")
    assert isinstance(ds.psi.data, da.Array) and ds.psi.dtype == np.complex128
    assert ds.psi.data.chunksize == (1, 1, 128)  # one save of one trajectory per chunk, as on disk
    with h5py.File(tiny_dataset) as f:
        psi = f["t0_fields/psi_real"][...] + 1j * f["t0_fields/psi_imag"][...]
        np.testing.assert_array_equal(ds.psi.values, psi)
        np.testing.assert_array_equal(ds.x.values, f["dimensions/x"][...])
        np.testing.assert_array_equal(ds.time.values, f["dimensions/time"][...])
    # Parameters are coordinates along trajectory; categorical ones come back as strings.
    assert ds.omega.dims == ("trajectory",) and "potential_kind" in ds.coords
    harmonic = ds.sel(trajectory=ds.potential_kind == "harmonic")
    assert harmonic.sizes["trajectory"] > 0 and np.all(np.isfinite(harmonic.omega))
    assert set(np.unique(ds.split.values)) <= {"train", "val", "test", "extrapolation"}
    assert ds.norm.dims == ("trajectory", "time") and ds.norm_drift.dims == ("trajectory",)
    # Attributes carry over, with JSON for the structured ones.
    assert ds.attrs["dataset_name"] == "schrodinger" and ds.attrs["status"] == "complete"
    assert json.loads(ds.attrs["card"])["name"] == "tiny-1d"
    assert "psi_real" in json.loads(ds.attrs["statistics"])
    # Physics straight from the view: every trajectory keeps unit norm.
    norm = (np.abs(ds.psi) ** 2).sum("x") * float(ds.x[1] - ds.x[0])
    np.testing.assert_allclose(norm.values, 1.0, atol=1e-12)


def test_open_dataset_reads_a_plain_well_file(tmp_path):
    # Written by hand from The Well's format description: a vector field, a constant field and constant scalars.
    path = tmp_path / "plain.hdf5"
    n_traj, n_t, nx, ny = 2, 3, 8, 6
    with h5py.File(path, "w") as f:
        f.attrs.update(dataset_name="plain", grid_type="cartesian", n_spatial_dims=2, n_trajectories=n_traj,
                       simulation_parameters=["Re"], Re=100.0)  # fmt: skip
        dims = f.create_group("dimensions")
        dims.attrs["spatial_dims"] = ["x", "y"]
        for name, size in (("time", n_t), ("x", nx), ("y", ny)):
            dims.create_dataset(name, data=np.linspace(0, 1, size)).attrs.update(sample_varying=False)
        f.create_group("boundary_conditions")
        scalars = f.create_group("scalars")
        scalars.attrs["field_names"] = ["Re"]
        scalars.create_dataset("Re", data=100.0).attrs.update(sample_varying=False, time_varying=False)
        t0, t1 = f.create_group("t0_fields"), f.create_group("t1_fields")
        f.create_group("t2_fields").attrs["field_names"] = []
        t0.attrs["field_names"], t1.attrs["field_names"] = ["pressure", "mask"], ["velocity"]
        t0.create_dataset("pressure", data=np.random.default_rng(0).random((n_traj, n_t, nx, ny))).attrs.update(
            sample_varying=True, time_varying=True, dim_varying=[True, True]
        )
        t0.create_dataset("mask", data=np.ones((nx, ny))).attrs.update(
            sample_varying=False, time_varying=False, dim_varying=[True, True]
        )
        t1.create_dataset("velocity", data=np.zeros((n_traj, n_t, nx, ny, 2))).attrs.update(
            sample_varying=True, time_varying=True, dim_varying=[True, True]
        )
    ds = open_dataset(path)
    assert ds.pressure.dims == ("trajectory", "time", "x", "y")
    assert ds.velocity.dims == ("trajectory", "time", "x", "y", "component")
    assert list(ds.component.values) == ["x", "y"] and ds.mask.dims == ("x", "y")
    assert float(ds.Re) == 100.0 and ds.attrs["Re"] == 100.0
    assert read_info(path).is_physml is False


def test_windows_hold_the_stored_steps(tiny_dataset):
    data = WindowDataset(tiny_dataset, n_input=2, n_output=2, time_stride=1, window_stride=2)
    # 6 saves, windows of 4 consecutive saves starting every 2: starts 0 and 2.
    assert data.windows_per_trajectory == 2 and len(data) == 24
    assert data.channel_names == ["psi_real", "psi_imag"] and data.constant_channel_names == ["potential"]
    sample = data[3]
    assert data.locate(3) == (1, 2)
    with h5py.File(tiny_dataset) as f:
        expected = np.stack([f["t0_fields/psi_real"][1, 2:6], f["t0_fields/psi_imag"][1, 2:6]], axis=1)
        potential = f["t0_fields/potential"][1]
        times = f["dimensions/time"][2:6]
        omega = f["scalars/omega"][1]
    assert sample["input_fields"].shape == (2, 2, 128) and sample["output_fields"].shape == (2, 2, 128)
    assert sample["input_fields"].dtype == torch.float32
    np.testing.assert_allclose(torch.cat([sample["input_fields"], sample["output_fields"]]).numpy(), expected,
                               rtol=1e-6, atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(sample["constant_fields"][0].numpy(), potential, rtol=1e-6)
    np.testing.assert_allclose(torch.cat([sample["input_time"], sample["output_time"]]).numpy(), times, rtol=1e-6)
    np.testing.assert_equal(sample["parameters"]["omega"].item(), np.float32(omega))
    assert sample["trajectory"].item() == 1 and sample["start"].item() == 2


def test_time_stride_split_selection_and_field_choice(tiny_dataset):
    info = read_info(tiny_dataset)
    data = WindowDataset(tiny_dataset, n_input=1, n_output=2, time_stride=2, split="val", fields=["psi"],
                         constant_fields=[], dtype=torch.float64)  # fmt: skip
    assert list(data.trajectories) == list(np.flatnonzero(info.splits == "val"))
    assert data.windows_per_trajectory == 2  # saves (0, 2, 4) and (1, 3, 5)
    sample = data[1]
    with h5py.File(tiny_dataset) as f:
        traj = int(data.trajectories[0])
        np.testing.assert_array_equal(sample["output_fields"][:, 0].numpy(), f["t0_fields/psi_real"][traj, [3, 5]])
    assert "constant_fields" not in sample and sample["input_fields"].dtype == torch.float64


def test_normalisation_uses_the_stored_statistics_and_inverts(tiny_dataset):
    stats = read_info(tiny_dataset).statistics
    raw = WindowDataset(tiny_dataset, dtype=torch.float64)
    for kind, shift_key, scale_key in (("zscore", "mean", "std"), ("rms", None, "rms")):
        normed = WindowDataset(tiny_dataset, normalize=kind, dtype=torch.float64)
        a, b = raw[7], normed[7]
        for c, name in enumerate(raw.channel_names):
            shift = stats[name][shift_key] if shift_key else 0.0
            expected = (a["input_fields"][:, c] - shift) / stats[name][scale_key]
            torch.testing.assert_close(b["input_fields"][:, c], expected)
        torch.testing.assert_close(normed.denormalize(b["output_fields"]), a["output_fields"])
        batch = torch.stack([b["output_fields"], b["output_fields"]])
        torch.testing.assert_close(normed.denormalize(batch)[1], a["output_fields"])
        expected_v = (a["constant_fields"][0] - (stats["potential"]["mean"] if shift_key else 0.0)) / stats[
            "potential"
        ][scale_key]
        torch.testing.assert_close(b["constant_fields"][0], expected_v)


def test_dataloader_with_worker_processes_gives_the_same_batches(tiny_dataset):
    data = WindowDataset(tiny_dataset, n_input=2, n_output=1, split="train", normalize="zscore")
    serial = next(iter(DataLoader(data, batch_size=len(data), num_workers=0)))
    parallel = list(DataLoader(data, batch_size=5, num_workers=2, persistent_workers=False))
    for key in ("input_fields", "output_fields", "constant_fields", "trajectory", "start"):
        torch.testing.assert_close(torch.cat([b[key] for b in parallel]), serial[key])
    torch.testing.assert_close(torch.cat([b["parameters"]["sigma"] for b in parallel]), serial["parameters"]["sigma"])


def test_windows_held_in_memory_equal_windows_read_from_the_file(tiny_dataset):
    kwargs = {"n_input": 2, "n_output": 2, "split": "test", "normalize": "rms", "dtype": torch.float64}
    from_file, in_memory = WindowDataset(tiny_dataset, **kwargs), WindowDataset(tiny_dataset, in_memory=True, **kwargs)
    assert len(from_file) == len(in_memory) > 0
    for index in range(len(from_file)):
        a, b = from_file[index], in_memory[index]
        for key in ("input_fields", "output_fields", "constant_fields", "trajectory", "start"):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert len(WindowDataset(tiny_dataset, split="extrapolation", in_memory=True)) == len(
        WindowDataset(tiny_dataset, split="extrapolation")
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_input": 0}, "n_input = 0 is invalid: must be an integer >= 1"),
        ({"split": "training"}, "split = 'training' is invalid: choose one of train, val, test, extrapolation"),
        ({"normalize": "minmax"}, "normalize = 'minmax' is invalid"),
        ({"n_input": 4, "n_output": 3}, "span 7 saves; the file has 6"),
        ({"fields": ["phi"]}, "fields entry 'phi' is invalid: choose from ['psi', 'psi_imag', 'psi_real']"),
    ],
)
def test_bad_window_arguments_name_the_problem(tiny_dataset, kwargs, message):
    with pytest.raises(ValueError) as info:
        WindowDataset(tiny_dataset, **kwargs)
    assert message in str(info.value)


def test_the_wells_own_loader_reads_a_physml_file(tiny_dataset, tmp_path):
    well = pytest.importorskip("the_well.data")
    folder = tmp_path / "well"
    folder.mkdir()
    (folder / "tiny.hdf5").write_bytes(tiny_dataset.read_bytes())
    data = well.WellDataset(path=str(folder), n_steps_input=2, n_steps_output=1, use_normalization=False)
    assert data.metadata.dataset_name == "schrodinger" and data.metadata.spatial_resolution == (128,)
    assert data.metadata.field_names[0] == ["psi_real", "psi_imag"]
    assert data.metadata.constant_field_names[0] == ["potential"]
    assert "omega" in data.metadata.constant_scalar_names and "norm" in data.metadata.scalar_names
    assert len(data) == 12 * 4  # 6 saves, windows of 3
    sample = data[5]  # trajectory 1, start 1; The Well puts channels last
    ours = WindowDataset(tiny_dataset, n_input=2, n_output=1, dtype=torch.float64)[5]
    torch.testing.assert_close(sample["input_fields"].double(), ours["input_fields"].permute(0, 2, 1))
    torch.testing.assert_close(sample["output_fields"].double(), ours["output_fields"].permute(0, 2, 1))
    torch.testing.assert_close(sample["constant_fields"][..., 0].double(), ours["constant_fields"][0])


def test_a_fraction_of_the_trajectories_is_fixed_nested_and_keeps_the_units(tiny_dataset, tiny_images):
    from physml.datasets import StaticDataset
    from physml.datasets.samples import fraction_of

    ids = np.arange(3, 43)
    tenth, quarter, whole = (fraction_of(ids, f) for f in (0.1, 0.25, 1.0))
    assert len(tenth) == 4 and len(quarter) == 10 and np.array_equal(whole, ids)
    assert set(tenth) <= set(quarter) and np.array_equal(fraction_of(ids, 0.25), quarter)  # nested, repeatable
    assert len(fraction_of(ids[:3], 0.1)) == 1  # at least one trajectory
    full = WindowDataset(tiny_dataset, split="train", normalize="rms")
    half = WindowDataset(tiny_dataset, split="train", normalize="rms", fraction=0.5)
    assert len(half.trajectories) == int(np.ceil(len(full.trajectories) / 2))
    assert set(half.trajectories) <= set(full.trajectories)
    assert torch.equal(half.normalization.scale, full.normalization.scale)  # the file's statistics, not the subset's
    images = StaticDataset(tiny_images, split="train", normalize="rms")
    few = StaticDataset(tiny_images, split="train", normalize="rms", fraction=0.5)
    assert len(few) == int(np.ceil(len(images) / 2)) and torch.equal(
        few.normalization.scale, images.normalization.scale
    )
    row = int(np.searchsorted(images.trajectories, few.trajectories[0]))
    torch.testing.assert_close(few[0]["output_fields"], images[row]["output_fields"])
    for bad in (0.0, 1.5, True):
        with pytest.raises(ValueError, match=f"fraction = {bad!r} is invalid: must lie in"):
            WindowDataset(tiny_dataset, split="train", fraction=bad)


def test_a_run_trains_on_its_share_of_the_training_trajectories_only(tiny_dataset, tmp_path):
    from physml.training import Trainer, train_config_from_dict

    raw = {"data": {"path": str(tiny_dataset), "n_input": 1, "batch_size": 4, "train_fraction": 0.5},
           "model": {"name": "fno", "params": {"modes": [4], "width": 4, "n_layers": 1}}, "epochs": 1}  # fmt: skip
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    whole = WindowDataset(tiny_dataset, split="train")
    assert len(trainer.train_set.trajectories) == int(np.ceil(len(whole.trajectories) / 2))
    assert len(trainer.val_set.trajectories) == len(WindowDataset(tiny_dataset, split="val").trajectories)
    with pytest.raises(ValueError, match=r"data.train_fraction = 0 is invalid: must lie in \(0, 1\]"):
        train_config_from_dict({**raw, "data": {**raw["data"], "train_fraction": 0}})


def test_parts_of_a_split_are_disjoint_cover_it_and_nest_with_fractions(tiny_dataset, tiny_images):
    from physml.datasets import StaticDataset
    from physml.datasets.config import parse_split
    from physml.datasets.samples import fraction_of, split_part

    ids = np.arange(5, 45)
    first, second, third = split_part(ids, 0, 0.5), split_part(ids, 0.5, 0.75), split_part(ids, 0.75, 1)
    assert (len(first), len(second), len(third)) == (20, 10, 10)
    assert np.array_equal(np.sort(np.concatenate([first, second, third])), ids)  # disjoint, and every one
    assert np.array_equal(first, fraction_of(ids, 0.5))  # [0, f) is the fraction f
    assert parse_split("extrapolation[0.5:]") == ("extrapolation", 0.5, 1.0) and parse_split("val") == ("val", 0, 1)
    whole = WindowDataset(tiny_dataset, split="train")
    halves = [WindowDataset(tiny_dataset, split=s) for s in ("train[:0.5]", "train[0.5:]")]
    assert set(halves[0].trajectories).isdisjoint(halves[1].trajectories)
    assert sorted({*halves[0].trajectories, *halves[1].trajectories}) == sorted(whole.trajectories)
    images = StaticDataset(tiny_images, split="train[:0.5]", normalize="rms")
    assert set(images.trajectories) < set(StaticDataset(tiny_images, split="train").trajectories)
    for bad in ("tset", "test[0.5]", "test[0.6:0.5]", "test[:1.5]", "test[a:]"):
        with pytest.raises(ValueError, match=rf"split = {re.escape(repr(bad))} is invalid: choose one of train"):
            WindowDataset(tiny_dataset, split=bad)


def test_a_run_fine_tunes_on_a_part_of_a_held_out_split_and_is_scored_on_the_rest(tiny_dataset, tmp_path):
    """As a fine-tune to a held-out parameter range does (test[:0.5]); the tiny build has 3 test runs."""
    from physml.cli import main
    from physml.training import Trainer, train_config_from_dict

    data = {"path": str(tiny_dataset), "n_input": 1, "batch_size": 4, "train_split": "test[:0.5]",
            "val_split": "test[0.5:]"}  # fmt: skip
    raw = {"data": data, "model": {"name": "fno", "params": {"modes": [4], "width": 4, "n_layers": 1}}, "epochs": 1}
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    held_out = WindowDataset(tiny_dataset, split="test[0.5:]")
    assert np.array_equal(trainer.train_set.trajectories, WindowDataset(tiny_dataset, split="test[:0.5]")
                          .trajectories)  # fmt: skip
    assert np.array_equal(trainer.val_set.trajectories, held_out.trajectories)
    assert set(trainer.train_set.trajectories).isdisjoint(held_out.trajectories)
    trainer.train()
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_dataset), "--split", "test[0.5:]",
                 "--rollout", "2", "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
    assert "test[0.5:]" in (out / "report.md").read_text()
    with pytest.raises(ValueError, match=r"data.val_split = 'test\[0.5\]' is invalid: choose one of train"):
        train_config_from_dict({**raw, "data": {**data, "val_split": "test[0.5]"}})
