"""Shared fixtures: small grids and systems that keep the suite fast."""

from __future__ import annotations

import os

import pytest

from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerSystem


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, one torch thread per worker: the workers already fill the cores, and OpenMP
    threads competing for them make a training step several times slower (measured: 0.16 s -> 3.4 s)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture
def harmonic_1d() -> SchrodingerSystem:
    """omega = 1 trap on [-12, 12) with 128 points: spectrally converged for |x0| <= 3."""
    return SchrodingerSystem(Grid(n=128, length=24.0), Harmonic(omega=1.0))


#: A small build config: 1D, 128 points, 6 saves, all four potential kinds of the shipped 1D config.
TINY_CONFIG = {
    "name": "tiny-1d",
    "family": "schrodinger",
    "description": "tiny test dataset",
    "seed": 7,
    "n_trajectories": 12,
    "time": {"t_final": 0.5, "n_saves": 5},
    "fixed": {"ndim": 1, "n": 128, "length": 24.0, "dt": 0.01},
    "sweep": {"sigma": {"uniform": [0.7, 1.1]}, "px": {"uniform": [-1.0, 1.0]}},
    "cases": [
        {"fixed": {"potential_kind": "harmonic"}, "sweep": {"omega": {"log-uniform": [0.5, 1.5]}}},
        {
            "fixed": {"potential_kind": "double-well", "x0": -2.0},
            "sweep": {"barrier": {"uniform": [1.0, 2.0]}, "sigma": {"uniform": [0.5, 0.7]}},
        },
        {"fixed": {"potential_kind": "lattice", "period": 2.0}, "sweep": {"depth": {"list": [1.0, 2.0]}}},
        {"fixed": {"potential_kind": "gaussian-barrier", "x0": -3.0}, "sweep": {"height": {"uniform": [0.5, 2.0]}}},
    ],
    "splits": {"train": 0.5, "val": 0.25, "test": 0.25, "extrapolation": {"parameter": "height", "above": 1.6}},
}


@pytest.fixture
def tiny_config() -> dict:
    import copy

    return copy.deepcopy(TINY_CONFIG)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The tiny config built once, in process, for read-only tests."""
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path_factory.mktemp("data") / "tiny.h5"
    build_dataset(BuildConfig.from_dict(TINY_CONFIG), path, workers=1, progress=False)
    return path


TINY_PACKETS_2D = {
    "name": "tiny-2d", "family": "schrodinger", "description": "tiny 2D packets for tests", "seed": 9,
    "n_trajectories": 4, "time": {"t_final": 0.4, "n_saves": 4},
    "fixed": {"ndim": 2, "n": [32, 32], "length": [16.0, 16.0], "dt": 0.01, "scheme": "strang",
              "potential_kind": "harmonic", "sigma": 1.0},
    "sweep": {"x0": {"uniform": [-0.5, 0.5]}, "px": {"uniform": [-0.5, 0.5]}},
    "splits": {"train": 0.5, "test": 0.5},
}  # fmt: skip


@pytest.fixture(scope="session")
def tiny_packets_2d(tmp_path_factory):
    """Four 2D Schrödinger packets on a 32² periodic box, built once, for read-only tests."""
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path_factory.mktemp("packets-2d") / "packets.h5"
    build_dataset(BuildConfig.from_dict(TINY_PACKETS_2D), path, workers=1, progress=False)
    return path


TINY_IMAGES = {
    "name": "tiny-bh-images",
    "family": "bh_images",
    "description": "tiny black-hole images for tests",
    "license": "CC-BY-4.0",
    "seed": 5,
    "n_trajectories": 12,
    "time": {"t_final": 1.0, "n_saves": 1},
    "fixed": {"resolution": 16, "fov": 25.0, "r_obs": 1000.0},
    "sweep": {"spin": {"uniform": [0.0, 0.9]}, "inclination": {"uniform": [10.0, 80.0]}},
    "splits": {"train": 0.5, "val": 0.25, "test": 0.25},
    "storage": {"compression": "gzip-4", "dtype": "float32"},
}


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory):
    """Twelve 16 x 16 ray-traced black-hole images (static fields), built once."""
    from physml.datasets import BuildConfig, build_dataset

    path = tmp_path_factory.mktemp("images") / "tiny-images.h5"
    build_dataset(BuildConfig.from_dict(TINY_IMAGES), path, workers=1, progress=False)
    return path


def tiny_recipe(recipe: str, path, **model_params):
    """A shipped training recipe shrunk for a tiny build at ``path``: batch 4, 3 epochs, 2 warm-up steps, the
    model's params overridden by ``model_params``."""
    import dataclasses

    from physml.training import load_train_config

    config = load_train_config(recipe)
    model = dataclasses.replace(config.model, params={**config.model.params, **model_params})
    data = dataclasses.replace(config.data, path=str(path), batch_size=4)
    optim = dataclasses.replace(config.optim, warmup_steps=2)
    return dataclasses.replace(config, data=data, model=model, optim=optim, epochs=3)
