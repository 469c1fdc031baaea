"""Generators of spacetime slices: the geometric scores against closed forms, the U-Net's coordinate input, and a
tiny parameters-to-metric run through ``physml train`` and ``physml evaluate``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from physml.datasets.families.spacetime import SpacetimeFamily
from physml.models import UNet, UNetConfig
from physml.training.scores_spacetime import SpacetimeScores, horizon_semi_axes, kretschmann_peak

HOLES = [(0.0, 0.0), (0.9, 0.0), (0.5, 0.5), (-0.99, 0.0)]

TINY_SPACETIME = {
    "name": "tiny-spacetime",
    "family": "spacetime",
    "description": "tiny Kerr-Newman slices for tests",
    "license": "CC-BY-4.0",
    "seed": 2,
    "n_trajectories": 16,
    "time": {"t_final": 1.0, "n_saves": 1},
    "fixed": {"pixels": 32, "extent": 6.0},
    "sweep": {"mass": {"uniform": [0.9, 1.1]}, "spin": {"uniform": [-0.9, 0.9]}},
    "splits": {"train": 0.5, "val": 0.25, "test": 0.25},
    "storage": {"compression": "gzip-4", "dtype": "float32"},
}


def _slice(spin: float, charge: float, pixels: int) -> tuple[dict, dict[str, np.ndarray], np.ndarray]:
    params = {"pixels": pixels, "extent": 12.0, "mass": 1.0, "spin": spin, "charge": charge}
    family = SpacetimeFamily()
    return params, family.simulate(params, np.zeros(1)).fields, family.axis(params)


@pytest.mark.parametrize("spin, charge", HOLES)
def test_the_horizon_ellipse_is_read_off_the_mask_to_the_pixel_error(spin, charge):
    params, fields, axis = _slice(spin, charge, 128)
    bh = SpacetimeFamily.black_hole(params)
    equatorial, polar = horizon_semi_axes(fields["outside"], axis, axis)
    h = axis[1] - axis[0]
    # A mask resolves the boundary to a pixel: each semi-axis within half a pixel (measured: <= 1.5 %, 0.02 M).
    assert polar == pytest.approx(bh.horizon, abs=h / 2)
    assert equatorial == pytest.approx(math.hypot(bh.horizon, bh.a), abs=h / 2)


def test_the_horizon_estimate_converges_with_the_pixel_size():
    errors = []
    for pixels in (64, 512):
        _, fields, axis = _slice(0.0, 0.0, pixels)
        errors.append(abs(horizon_semi_axes(fields["outside"], axis, axis)[1] - 2.0))
    assert errors[1] < errors[0] / 8  # 8 times finer pixels: measured 0.019 M -> 0.0002 M


def test_the_kretschmann_peak_of_schwarzschild_sits_on_the_horizon_at_its_closed_form():
    _, fields, axis = _slice(0.0, 0.0, 128)
    peak, x, z = kretschmann_peak(fields["log_kretschmann"], fields["outside"], axis, axis)
    h = axis[1] - axis[0]
    # K M^4 = 48 (M/r)^6 is largest on r = 2M: 0.75. The first pixel outside lies within sqrt(2) h of the horizon,
    # where log10 K falls by 6 / (r ln 10) = 1.3 dex per M.
    assert 2.0 < math.hypot(x, z) < 2.0 + math.sqrt(2) * h
    assert math.log10(0.75) - 1.31 * math.sqrt(2) * h < peak <= math.log10(0.75)


def test_a_wrong_black_hole_scores_worse_than_the_right_one():
    params, fields, axis = _slice(0.9, 0.0, 128)
    _, wrong, _ = _slice(0.3, 0.0, 128)
    scores = SpacetimeScores({"x": axis, "z": axis})
    right = scores.score(fields, fields, params)
    assert right["pixel_nrmse"] == 0 and right["kretschmann_peak_error"] == 0
    worse = scores.score(wrong, fields, params)
    assert worse["horizon_polar_error_generated"] > 10 * right["horizon_polar_error_stored"]
    assert worse["kretschmann_peak_error"] > 0.1 and worse["pixel_nrmse"] > 0.01


def test_a_unet_with_coordinates_generates_from_nothing_but_its_condition():
    torch.manual_seed(0)
    model = UNet(UNetConfig(0, 2, field_size=(16, 8), width=8, multipliers=(1, 2), groups=4, parameter_dim=3,
                            coordinates=True))  # fmt: skip
    for module in model.modules():  # FiLM and the head start at zero: give them weights to see the condition
        if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.2)
    with torch.no_grad():
        out = model(torch.zeros(2, 0, 16, 8), parameters=torch.randn(2, 3))
    assert out.shape == (2, 2, 16, 8)
    assert float(out.std(dim=(2, 3)).min()) > 0  # the coordinates make the output vary across the grid
    assert not torch.allclose(out[0], out[1])  # and the parameters make it differ between samples
    grid = model._coordinates(torch.zeros(1, 0, 16, 8))
    assert grid.shape == (1, 2, 16, 8) and torch.allclose(grid[0, 0, :, 0], -grid[0, 0, :, 0].flip(0))
    with pytest.raises(ValueError, match=r"in_channels = 0 is invalid.*coordinates = false"):
        UNetConfig(0, 2, field_size=(16, 8), width=8, multipliers=(1, 2), groups=4)
    with pytest.raises(ValueError, match="coordinates"):
        UNetConfig(1, 2, field_size=(16, 8), coordinates="yes")


@pytest.fixture(scope="module")
def tiny_spacetime(tmp_path_factory):
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path_factory.mktemp("spacetime") / "tiny-spacetime.h5"
    build_dataset(BuildConfig.from_dict(TINY_SPACETIME), path, workers=1, progress=False)
    return path


def test_the_shipped_spacetime_recipe_trains_and_is_scored_by_its_geometry(tiny_spacetime, tmp_path):
    from physml.cli import main
    from physml.training import Trainer, load_train_config

    config = load_train_config("unet-spacetime-2d").to_dict()
    config["data"] |= {"path": str(tiny_spacetime), "batch_size": 4}
    config["model"]["params"] |= {"width": 8, "multipliers": [1, 2], "groups": 4}
    config |= {"epochs": 6}
    config["optim"]["warmup_steps"] = 2
    from physml.training import train_config_from_dict

    trainer = Trainer(train_config_from_dict(config), tmp_path / "run", progress=False)
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    out = tmp_path / "eval"
    command = ["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_spacetime), "--split", "test", "--trace", "2",
               "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert main(command) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    summary = metrics["models"]["run"]["summary"]
    assert metrics["simulator"] == "closed-form slice" and summary["speedup_over_simulator"] > 0
    rows = metrics["models"]["run"]["images"]
    assert len(rows) == summary["images"] > 0
    # The stored masks hold the closed-form horizon to half a pixel (0.375 M here) on every test image.
    assert all(abs(r["horizon_polar_stored"] - r["horizon_polar_exact"]) < 0.1875 for r in rows)
    assert {"kretschmann_peak_error_median", "horizon_equatorial_error_generated_median"} <= set(summary)
    report = (out / "report.md").read_text()
    assert "horizon r+ error" in report and (out / "generated_vs_simulated.png").stat().st_size > 0
