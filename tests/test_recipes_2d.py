"""The shipped recipes for the 2D and static families train on tiny builds of their data, and are scored."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import tiny_recipe

from physml.datasets import BuildConfig, build_dataset

MAPS = {
    "name": "tiny-maps", "family": "near_horizon", "description": "tiny field maps for tests", "seed": 9,
    "n_trajectories": 4, "time": {"t_final": 16.0, "n_saves": 8},
    "fixed": {"ndim": 2, "h": 0.15, "extent": 20.0, "pixels": 16, "l_max": 2, "mass": 1.0, "s": 0,
              "direction": "ingoing", "theta_width": 0.4, "width": 2.0},
    "sweep": {"center": {"uniform": [10.0, 14.0]}, "theta0": {"uniform": [0.0, 3.1]}},
    "splits": {"train": 0.5, "test": 0.5},  # seed 9: two of each
}  # fmt: skip


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    path = tmp_path_factory.mktemp("maps") / "maps.h5"
    build_dataset(BuildConfig.from_dict(MAPS), path, workers=1, progress=False)
    return path


def test_the_schrodinger_2d_recipe_learns(tiny_packets_2d, tmp_path):
    from physml.training import Trainer

    trainer = Trainer(
        tiny_recipe("unet-schrodinger-2d", tiny_packets_2d, width=8, groups=4), tmp_path / "run", progress=False
    )
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before


@pytest.mark.parametrize("recipe, shrink", [
    ("unet-near-horizon-maps", {"width": 8, "groups": 4}),
    ("fno-near-horizon-maps", {"modes": [4, 4], "width": 8}),
    ("equivariant-near-horizon-maps", {"width": 2, "n_blocks": 1}),
    ("transformer-near-horizon-maps-video", {"patch": 4, "video_patch": 4, "dim": 16, "depth": 1, "n_heads": 2,
                                             "n_kv_heads": 1}),  # it watches the film only (rollout: its own)
])  # fmt: skip
def test_the_field_map_recipes_learn_and_roll_out(maps, tmp_path, recipe, shrink):
    from physml.cli import main
    from physml.training import Trainer

    trainer = Trainer(tiny_recipe(recipe, maps, **shrink), tmp_path / "run", progress=False)
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(maps), "--split", "test", "--rollout", "4",
                 "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    label = next(label for label in metrics["models"] if label != "persistence")  # the model's name
    rollout = metrics["models"][label]["rollout"]
    assert len(rollout["nrmse_per_step"]) == 4 and "steps_correlation_above_0.8" in rollout
    assert metrics["simulator_seconds_per_trajectory"] > 0 and rollout["speedup_over_simulator"] > 0


def test_the_black_hole_image_recipe_generates_in_one_pass_and_is_scored_by_its_shadow(tiny_images, tmp_path):
    from physml.cli import main
    from physml.training import Trainer

    # 16^2 tiny images: 2 x 2 patches, two levels.
    config = tiny_recipe("unet-bh-images", tiny_images, width=8, groups=4, multipliers=[1, 2], patch=2)
    config = dataclasses.replace(
        config, modalities=dataclasses.replace(config.modalities, parameters=("spin", "inclination"))
    )
    trainer = Trainer(config, tmp_path / "run", progress=False)
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_images), "--split", "test", "--trace", "1",
                 "--out", str(out), "--device", "cpu"]) == 0  # fmt: skip
    summary = next(iter(json.loads((out / "metrics.json").read_text())["models"].values()))["summary"]
    assert summary["speedup_over_simulator"] > 0 and "diameter_error_median" in summary
