"""Dataset configs: sweeps, splits, determinism, shipped configs, and clear errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from physml.datasets import BuildConfig, list_configs, load_config, make_plan
from physml.datasets.build import resolve_plan


def config(raw: dict, **changes) -> BuildConfig:
    return BuildConfig.from_dict({**raw, **changes})


def test_sweep_kinds_draw_what_they_promise(tiny_config):
    tiny_config["n_trajectories"] = 40
    tiny_config["cases"] = []
    tiny_config["sweep"] = {
        "omega": {"log-uniform": [0.5, 2.0]},
        "sigma": {"uniform": [0.8, 1.2]},
        "x0": {"list": [-1.0, 0.0, 1.0]},
        "px": {"grid": [0.1, 0.2]},
        "mass": {"grid": {"start": 1.0, "stop": 4.0, "num": 3, "log": True}},
        "hbar": {"choice": [0.5, 1.0]},
    }
    tiny_config["fixed"]["potential_kind"] = "harmonic"
    plan = make_plan(config(tiny_config))
    column = {k: np.array([p[k] for p in plan.parameters]) for k in tiny_config["sweep"]}
    assert np.all((column["omega"] >= 0.5) & (column["omega"] <= 2.0))
    assert np.all((column["sigma"] >= 0.8) & (column["sigma"] <= 1.2))
    # log-uniform: log(omega) is uniform, so about half the draws fall below the geometric mean 1.
    assert 10 < np.sum(column["omega"] < 1.0) < 30
    np.testing.assert_array_equal(column["x0"], np.tile([-1.0, 0.0, 1.0], 14)[:40])
    # The grid parameters walk their Cartesian product in order: (0.1, 1), (0.1, 2), (0.1, 4), (0.2, 1), ...
    pairs = list(zip(column["px"], column["mass"]))
    assert pairs[:6] == [(0.1, 1.0), (0.1, 2.0), (0.1, 4.0), (0.2, 1.0), (0.2, 2.0), (0.2, 4.0)]
    assert pairs[6:12] == pairs[:6]
    assert set(column["hbar"]) == {0.5, 1.0}


def test_plan_is_deterministic_prefix_stable_and_seed_dependent(tiny_config):
    a = make_plan(config(tiny_config))
    assert make_plan(config(tiny_config)) == a
    longer = make_plan(config(tiny_config, n_trajectories=30))
    assert longer.parameters[:12] == a.parameters and longer.splits[:12] == a.splits
    other = make_plan(config(tiny_config, seed=8))
    assert other.parameters != a.parameters


def test_cases_leave_foreign_parameters_unset(tiny_config):
    _, plan, shared = resolve_plan(config(tiny_config, n_trajectories=40))
    assert shared == {
        "ndim": 1, "n": 128, "length": 24.0, "dt": 0.01, "scheme": "strang", "eigenstates": [0],
        "absorber_width": 0.0, "absorber_strength": 4.0, "drive_field": 0.0, "drive_frequency": 1.0, "drive_phase": 0.0,
    }  # fmt: skip
    kinds = {p["potential_kind"] for p in plan.parameters}
    assert kinds == {"harmonic", "double-well", "lattice", "gaussian-barrier"}
    for p in plan.parameters:
        if p["potential_kind"] == "harmonic":
            assert p["omega"] is not None and p["barrier"] is None and p["height"] is None
        if p["potential_kind"] == "double-well":
            assert p["omega"] is None and p["x0"] == -2.0


def test_splits_follow_fractions_and_hold_out_the_extrapolation_range(tiny_config):
    tiny_config["n_trajectories"] = 400
    plan = make_plan(config(tiny_config))
    splits = np.array(plan.splits)
    held = np.array([p["height"] is not None and p["height"] > 1.6 for p in plan.parameters])
    assert np.array_equal(splits == "extrapolation", held)
    rest = splits[~held]
    # 0.5 / 0.25 / 0.25 within 4 binomial standard deviations.
    for name, fraction in (("train", 0.5), ("val", 0.25), ("test", 0.25)):
        sd = math.sqrt(fraction * (1 - fraction) / rest.size)
        assert abs(np.mean(rest == name) - fraction) < 4 * sd


def test_shipped_configs_are_listed_and_resolve():
    shipped = list_configs()
    assert {"schrodinger-1d", "schrodinger-2d"} <= set(shipped)
    for name in shipped:
        _, plan, _ = resolve_plan(load_config(name))  # every trajectory's parameters pass the checks
        # Training sets hold at least 64 trajectories; a discovery run (a fit, not a training set) 16.
        assert len(plan) == load_config(name).n_trajectories >= (16 if name.startswith("discovery-") else 64)
    assert load_config("schrodinger-2d").fixed["ndim"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"family": "navier-stokes"},
            "family = 'navier-stokes' is invalid: choose one of bh_images, collapse, near_horizon, "
            "schrodinger, spacetime",
        ),
        ({"sweep": {"omegaa": {"uniform": [0.5, 1.0]}}}, "parameters ['omegaa'] are invalid for family"),
        ({"sweep": {"sigma": {"uniform": [1.0, 1.0]}}}, "empty or inverted range"),
        ({"sweep": {"sigma": {"uniform": [1.2, 0.8]}}}, "empty or inverted range"),
        ({"sweep": {"sigma": {"log-uniform": [0.0, 1.0]}}}, "need 0 < low < high"),
        ({"sweep": {"sigma": {"grid": {"start": 2, "stop": 1, "num": 3}}}}, "empty or inverted range"),
        ({"sweep": {"sigma": {"list": []}}}, "non-empty list"),
        ({"sweep": {"sigma": {"normal": [1, 0.1]}}}, "sweep kind 'normal' for 'sigma' is invalid"),
        ({"sweep": {"n": {"list": [64, 128]}}}, "parameter 'n' varies across trajectories"),
        ({"splits": {"train": 0.9, "val": 0.2}}, "summing to 1"),
        ({"splits": {"train": 1.0, "holdout": 0.1}}, "splits ['holdout'] are invalid"),
        ({"splits": {"train": 1.0, "extrapolation": {"parameter": "spin", "above": 1}}}, "must be one of the config"),
        ({"n_trajectories": 0}, "n_trajectories = 0 is invalid"),
        ({"time": {"t_final": -1.0, "n_saves": 5}}, "time.t_final = -1.0 is invalid"),
        ({"storage": {"compression": "zstd"}}, "storage.compression = 'zstd' is invalid"),
        ({"colour": "blue"}, "config keys ['colour'] are invalid"),
        ({"time": {"t_final": [1], "n_saves": 5}}, "time.t_final = [1] is invalid: must be a number"),
        ({"fixed": 5}, "fixed = 5 is invalid: must be a mapping"),
        ({"cases": 5}, "cases = 5 is invalid: give a list"),
        ({"storage": [1]}, "storage = [1] is invalid: must be a mapping"),
        ({"sweep": {"sigma": {"uniform": ["a", "b"]}}}, "sweep sigma.uniform = 'a' is invalid: must be a number"),
        ({"sweep": {"sigma": {"list": [{"a": 1}]}}}, "values must be numbers or names"),
        ({"sweep": {"mass": {"list": ["heavy"]}}}, "mass = 'heavy' is invalid: must be a number"),
        ({"sweep": {"hbar": {"list": [-1.0]}}}, "hbar = -1.0 is invalid: must be finite and > 0"),
        ({"fixed": {"n": 128, "length": 24.0, "dt": 0.03}}, "dt = 0.03 is invalid: it must divide the save interval"),
        ({"splits": {"train": 1.0, "extrapolation": {"parameter": "potential_kind", "above": 0.5}}}, "categorical"),
        ({"splits": {"train": 1.0, "extrapolation": {"parameter": "sigma", "above": 0.1}}}, "no trajectory falls in"),
    ],
)
def test_bad_configs_name_the_problem(tiny_config, change, message):
    with pytest.raises(ValueError) as info:
        resolve_plan(config(tiny_config, **change))
    assert message in str(info.value)


def test_physics_checks_run_before_anything_is_simulated(tiny_config):
    # A lattice period that does not divide the box would make V jump at the edge.
    tiny_config["cases"][2]["fixed"]["period"] = 2.5
    with pytest.raises(ValueError, match=r"period = 2.5 is invalid: it must divide the box length 24"):
        resolve_plan(config(tiny_config))
    # A packet whose tails cross the box edge.
    tiny_config["cases"][2]["fixed"]["period"] = 2.0
    tiny_config["cases"][0]["fixed"]["x0"] = 10.0
    with pytest.raises(ValueError, match=r"trajectory \d+: center = .* tails reach the box edge"):
        resolve_plan(config(tiny_config))
    # A parameter that belongs to another potential.
    tiny_config["cases"][0]["fixed"] = {"potential_kind": "harmonic", "barrier": 2.0}
    with pytest.raises(ValueError, match=r"parameters \['barrier'\] do not apply to potential 'harmonic'"):
        resolve_plan(config(tiny_config))


def test_yaml_reads_exponent_floats_as_numbers(tmp_path, tiny_config):
    # PyYAML (YAML 1.1) reads "1e-2" as a string; configs use YAML 1.2 floats.
    import yaml

    text = yaml.safe_dump(tiny_config).replace("dt: 0.01", "dt: 1e-2")
    assert "dt: 1e-2" in text
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.fixed["dt"] == 0.01 and isinstance(config.fixed["dt"], float)


def test_unknown_config_name_lists_the_shipped_ones():
    with pytest.raises(ValueError, match="schrodinger-1d, schrodinger-2d"):
        load_config("schrodinger-3d")
