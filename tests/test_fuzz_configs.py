"""Hostile YAML configs: every shipped dataset and training config with one value changed, removed or added.

A changed config either loads (and plans, for datasets; builds its trainer, for training) or raises a
``ValueError`` naming the key it is about; ``physml dataset build`` / ``physml train`` then exit 2 with
that one line and write nothing. Examples are derandomised; ``-m slow`` tries many more.
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from fuzzing import FUZZ, FUZZ_SLOW, numbers, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from physml.datasets import BuildConfig
from physml.datasets.budget import check_resources
from physml.datasets.build import resolve_plan
from physml.training import Trainer, train_config_from_dict

DATASET_CONFIGS = {
    p.name.removesuffix(".yaml"): yaml.safe_load(p.read_text())
    for p in resources.files("physml.datasets").joinpath("configs").iterdir()
    if p.name.endswith(".yaml")
}
#: The shipped recipes that train on ``schrodinger-1d`` (the tiny dataset stands in for it).
TRAIN_CONFIGS = {
    p.name.removesuffix(".yaml"): yaml.safe_load(p.read_text())
    for p in resources.files("physml.training").joinpath("configs").iterdir()
    if p.name.endswith(".yaml") and "schrodinger-1d" in p.name
}


def yaml_values():
    """What YAML can hold, of every type and range: numbers (NaN, ±inf, 2^63), text in any script, lists, maps."""
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
    leaves = st.one_of(st.none(), st.booleans(), numbers(), text)
    containers = lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3))  # noqa: E731
    return st.recursive(leaves, containers, max_leaves=6)


def key_paths(tree, prefix=()):
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from key_paths(value, (*prefix, key))


@st.composite
def changed(draw, configs: dict):
    """``(name, raw config, the changed key path)`` with one value replaced, one key removed, or one added."""
    name = draw(st.sampled_from(sorted(configs)))
    raw = copy.deepcopy(configs[name])
    path = draw(st.sampled_from(sorted(key_paths(raw), key=repr)))
    *parents, last = path
    node = raw
    for key in parents:
        node = node[key]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if action == "delete" and isinstance(node, dict):
        del node[last]
    elif action == "add" and isinstance(node, dict):
        last = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in node))
        node[last] = draw(yaml_values())
    else:
        node[last] = draw(yaml_values())
    return name, raw, (*parents, last)


def names_the_key(message: str, path: tuple) -> bool:
    """The message names the changed key, or the mapping or list it sits in (for a list entry or a missing key).

    A value drawn for a trajectory can break a rule that ties it to other parameters (a grid spacing that
    no longer resolves a lighter hole, two parameters given together): the family's message then names the
    trajectory and the parameters of that rule.
    """
    words = [str(k) for k in path if not isinstance(k, int)]
    if not words or any(word in message or repr(word)[1:-1] in message for word in words[-2:]):
        return True
    # A change can also break a key that depends on it (removing the cases that define the parameter the
    # extrapolation split holds out): the message then names that key, in the house form "key = value is invalid".
    return re.match(r"trajectory \d+: |[\w.\[\]]+ = .* is invalid", message) is not None


def _cli_refuses(argv: list[str], out: Path, message: str) -> None:
    code, err = run_cli(argv)
    assert code == 2, (code, err)
    assert err.startswith("physml: error: ") and err.count("\n") == 1, err
    assert not out.exists(), "a refused command wrote its output"


def _dataset_case(case, folder: Path) -> None:
    name, raw, path = case
    out = folder / "out.h5"
    try:
        config = BuildConfig.from_dict(raw)
        check_resources(config, out)
        resolve_plan(config)
    except ValueError as exc:
        assert names_the_key(str(exc), path), (name, path, str(exc))
        config_file = folder / "config.yaml"
        config_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
        _cli_refuses(["dataset", "build", str(config_file), "--out", str(out)], out, str(exc))


def _train_case(case, folder: Path, data: Path) -> None:
    name, raw, path = case
    raw = copy.deepcopy(raw)
    if isinstance(raw.get("data"), dict) and "path" in raw["data"]:
        raw["data"]["path"] = str(data)  # the shipped recipes name a file built elsewhere
    out = folder / "run"
    try:
        Trainer(train_config_from_dict(raw), out, progress=False)
    except ValueError as exc:
        assert names_the_key(str(exc), path), (name, path, str(exc))
        config_file = folder / "train.yaml"
        config_file.write_text(yaml.safe_dump(raw, allow_unicode=True))
        _cli_refuses(["train", str(config_file), "--out", str(out)], out, str(exc))
    assert not out.exists(), "setting up a trainer wrote its output folder"


@settings(FUZZ)
@given(case=changed(DATASET_CONFIGS))
def test_changed_dataset_configs_load_or_name_the_key(case, tmp_path_factory):
    _dataset_case(case, tmp_path_factory.mktemp("dataset-config"))


@settings(FUZZ)
@given(case=changed(TRAIN_CONFIGS))
def test_changed_training_configs_load_or_name_the_key(case, tmp_path_factory, tiny_dataset):
    _train_case(case, tmp_path_factory.mktemp("train-config"), tiny_dataset)


@pytest.mark.slow
@settings(FUZZ_SLOW)
@given(case=changed(DATASET_CONFIGS))
def test_changed_dataset_configs_many(case, tmp_path_factory):
    _dataset_case(case, tmp_path_factory.mktemp("dataset-config"))


@pytest.mark.slow
@settings(FUZZ_SLOW)
@given(case=changed(TRAIN_CONFIGS))
def test_changed_training_configs_many(case, tmp_path_factory, tiny_dataset):
    _train_case(case, tmp_path_factory.mktemp("train-config"), tiny_dataset)


def test_sizes_beyond_the_machine_are_refused_before_anything_is_planned(tmp_path):
    raw = copy.deepcopy(DATASET_CONFIGS["schrodinger-2d"])
    for key, value in (("n_trajectories", 2**62), ("time", {"t_final": 1.0, "n_saves": 2**62})):
        changed_raw = {**raw, key: value}
        with pytest.raises(ValueError, match=key if key != "time" else "n_saves"):
            check_resources(BuildConfig.from_dict(changed_raw), tmp_path / "out.h5")
    assert not any(tmp_path.iterdir())
