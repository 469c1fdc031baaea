"""Joint training across families: one run over two tiny builds, per-family normalisation, transfer and refusals."""

from __future__ import annotations

import collections
import csv

import pytest
import torch

from physml.datasets import BuildConfig, build_dataset
from physml.models import load_checkpoint
from physml.training import Trainer, train_config_from_dict

NEAR = {"name": "joint-pulses", "family": "near_horizon", "description": "pulses for the joint tests", "seed": 1,
        "n_trajectories": 4, "time": {"t_final": 40.0, "n_saves": 12},
        "fixed": {"ndim": 1, "h": 0.2, "r_star_min": -40.0, "r_star_max": 79.2, "stride": 4, "extract_at": [30.0],
                  "s": 2, "l": 2}, "splits": {"train": 0.5, "val": 0.25, "test": 0.25}}  # fmt: skip


@pytest.fixture(scope="module")
def pulses(tmp_path_factory):
    path = tmp_path_factory.mktemp("joint") / "pulses.h5"
    build_dataset(BuildConfig.from_dict(NEAR), path, workers=1, progress=False)
    return path


def _config(schrodinger, pulses, *, weights=(1.0, 1.0), epochs=6, **changes):
    data = {
        "schrodinger": {"path": str(schrodinger), "batch_size": 8, "constant_fields": [], "in_memory": True},
        "near_horizon": {"path": str(pulses), "batch_size": 8, "constant_fields": [], "in_memory": True},
    }
    for entry, weight in zip(data.values(), weights):
        entry["weight"] = weight
    raw = {
        "data": data,
        "epochs": epochs,
        "optim": {"lr": 3e-3, "warmup_steps": 3},
        "checkpoint_every": 50,
        "model": {
            "name": "multiphysics_transformer",
            "residual": True,
            "params": {
                "patch": {"schrodinger": 8, "near_horizon": 6},
                "dim": 16,
                "depth": 2,
                "n_heads": 2,
                "n_kv_heads": 1,
            },
        },
    }
    return train_config_from_dict({**raw, **changes})  # fmt: skip


def test_a_joint_run_lowers_the_loss_of_both_families(tiny_dataset, pulses, tmp_path):
    config = _config(tiny_dataset, pulses, weights=(1.0, 3.0), epochs=30)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    model = trainer.model.config
    assert model.families == ("schrodinger", "near_horizon") and model.in_channels == (2, 1)
    assert model.field_size[0] == 128 and model.field_size[1] == 150
    before = trainer.evaluate_sources()
    trainer.train()
    after = trainer.evaluate_sources()
    # (A family alone does as well over these few samples: 0.74 and 0.19 of its start in 120 steps.)
    assert after["schrodinger"] < 0.9 * before["schrodinger"] and after["near_horizon"] < 0.5 * before["near_horizon"]
    with (tmp_path / "run" / "log.csv").open() as f:
        drawn = collections.Counter(row["dataset"] for row in csv.DictReader(f))
    sizes = {name: len(s.train) for name, s in trainer.sources.items()}
    per_epoch = sum(-(-n // 8) for n in sizes.values())
    assert sum(drawn.values()) == 30 * per_epoch
    assert abs(drawn["near_horizon"] / sum(drawn.values()) - 0.75) <= 1 / per_epoch  # the weights 1 : 3
    _, extra = load_checkpoint(tmp_path / "run" / "best.pt")
    assert set(extra["sources"]) == {"schrodinger", "near_horizon"}
    with (tmp_path / "run" / "val.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["loss_near_horizon"]) == pytest.approx(after["near_horizon"], rel=1e-6)
    assert float(last["loss"]) == pytest.approx(0.25 * after["schrodinger"] + 0.75 * after["near_horizon"], rel=1e-6)


def test_each_family_is_normalised_by_its_own_statistics_and_round_trips(tiny_dataset, pulses, tmp_path):
    from physml.datasets.samples import Normalization, WindowDataset

    trainer = Trainer(_config(tiny_dataset, pulses, epochs=1), tmp_path / "run", progress=False)
    trainer.train(stop_after=1)
    _, extra = load_checkpoint(tmp_path / "run" / "last.pt")
    scales = []
    for name, source in trainer.sources.items():
        saved = Normalization.from_dict(extra["sources"][name]["normalization"]["fields"])
        raw = WindowDataset(source.data.path, split="train", normalize=None, constant_fields=())[3][
            "input_fields"
        ].double()
        normed = source.train[3]["input_fields"].double()  # (n_input, C, X), in the run's units
        torch.testing.assert_close(saved.normalize(raw, channel_dim=1), normed, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(saved.denormalize(normed, channel_dim=1), raw, rtol=1e-5, atol=1e-6)
        scales.append(saved.scale)
    assert scales[0].shape == (2,) and scales[1].shape == (1,)  # psi (re, im), the pulses' psi: their own


def test_a_fine_tune_to_a_new_family_keeps_the_trunk_and_refuses_to_drop_one(tiny_dataset, pulses, tmp_path):
    single = _config(tiny_dataset, pulses, epochs=1)
    single = train_config_from_dict(
        {**single.to_dict(), "data": {"schrodinger": single.to_dict()["data"]["schrodinger"]}}
    )
    first = Trainer(single, tmp_path / "one", progress=False)
    first.train()
    both = Trainer(_config(tiny_dataset, pulses, weights=(0.0, 1.0)), tmp_path / "two",
                   init_from=tmp_path / "one" / "last.pt", progress=False)  # fmt: skip
    trunk, old = both.model.trunk.blocks[0].mix.q.weight, first.model.trunk.blocks[0].mix.q.weight
    assert torch.equal(trunk, old)
    assert both.evaluate_sources()["schrodinger"] == pytest.approx(first.evaluate(), rel=1e-5)
    both.train(stop_after=2)  # weight 0: the old family is scored, never drawn
    with (tmp_path / "two" / "log.csv").open() as f:
        assert {row["dataset"] for row in csv.DictReader(f)} == {"near_horizon"}
    with pytest.raises(ValueError, match=r"the checkpoint's families \['near_horizon'\] are not in this run's data"):
        Trainer(single, tmp_path / "three", init_from=tmp_path / "two" / "last.pt", progress=False)


@pytest.mark.parametrize("freeze_steps", [None, 1])
def test_a_frozen_trunk_is_held_for_its_steps_while_the_new_family_trains(tiny_dataset, pulses, tmp_path,
                                                                         freeze_steps):  # fmt: skip
    single = _config(tiny_dataset, pulses, epochs=1).to_dict()
    single["data"].pop("near_horizon")
    Trainer(train_config_from_dict(single), tmp_path / "one", progress=False).train(stop_after=2)
    optim = {"lr": 3e-3, "warmup_steps": 1, "freeze": ["trunk"], "freeze_steps": freeze_steps}
    tune = Trainer(_config(tiny_dataset, pulses, weights=(0.0, 1.0), optim=optim), tmp_path / "two",
                   init_from=tmp_path / "one" / "last.pt", progress=False)  # fmt: skip
    trunk = {n: p.detach().clone() for n, p in tune.model.trunk.named_parameters()}
    embed = tune.model.members["near_horizon"].field_embed.weight.detach().clone()
    tune.train(stop_after=3)
    moved = [n for n, p in tune.model.trunk.named_parameters() if not torch.equal(p, trunk[n])]
    assert not torch.equal(tune.model.members["near_horizon"].field_embed.weight, embed)  # the new family learns
    if freeze_steps is None:
        assert moved == []  # held the whole run
    else:
        assert len(moved) == len(trunk)  # released after its first step


@pytest.mark.parametrize(
    ("optim", "message"),
    [
        ({"freeze": "trunk"}, r"optim.freeze = 'trunk' is invalid: must be a list"),
        ({"freeze_steps": 10}, r"optim.freeze_steps = 10 is invalid without optim.freeze"),
        ({"freeze": ["trunk"], "freeze_steps": 0}, r"optim.freeze_steps = 0 is invalid: must be an integer >= 1"),
    ],
)
def test_freeze_options_are_checked(tiny_dataset, pulses, optim, message):
    with pytest.raises(ValueError, match=message):
        _config(tiny_dataset, pulses, optim=optim)


def test_freezing_a_part_the_model_lacks_is_refused_at_start(tiny_dataset, pulses, tmp_path):
    with pytest.raises(ValueError, match=r"optim.freeze: 'body' names no parameter .* \['members', 'trunk'\]"):
        Trainer(_config(tiny_dataset, pulses, optim={"freeze": ["body"]}), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"name": "multimodal_transformer", "params": {"patch": 8}}},
         r"model.name = 'multimodal_transformer' is invalid for a joint run .* use multiphysics_transformer"),
        ({"losses": {"data": 1.0, "collapse_hamiltonian": 0.1}},
         r"losses \['collapse_hamiltonian'\] are invalid: no dataset of this joint run defines them"),
    ],
)  # fmt: skip
def test_options_a_joint_run_cannot_follow_are_refused_at_start(tiny_dataset, pulses, tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        Trainer(_config(tiny_dataset, pulses, **change), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["near_horizon"].update(batch_size=4), r"data.\*.batch_size = .* share one batch_size"),
        (
            lambda d: [e.update(weight=0.0) for e in d.values()],
            r"data.\*.weight = \{'schrodinger': 0.0, 'near_horizon': 0.0\}",
        ),
        (lambda d: d["near_horizon"].update(weight=-1.0), r"data.near_horizon.weight = -1.0 is invalid"),
        (lambda d: d.update({"2d": d.pop("near_horizon")}), r"data names \['schrodinger', '2d'\] are invalid"),
    ],
)
def test_joint_data_configs_are_checked_by_name(tiny_dataset, pulses, edit, message):
    raw = _config(tiny_dataset, pulses).to_dict()
    edit(raw["data"])
    with pytest.raises(ValueError, match=message):
        train_config_from_dict(raw)


def test_a_physics_term_applies_to_the_family_that_defines_it(tiny_dataset, pulses, tmp_path):
    raw = _config(tiny_dataset, pulses, epochs=1, losses={"data": 1.0, "schrodinger_norm": 0.1}).to_dict()
    raw["data"]["schrodinger"]["constant_fields"] = ["potential"]  # (the Schrödinger terms read V)
    config = train_config_from_dict(raw)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert trainer.physics["schrodinger"] is not None and trainer.physics["near_horizon"] is None
    trainer.train()
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {row["dataset"] for row in rows if row["loss_schrodinger_norm"]} == {"schrodinger"}
    assert {row["dataset"] for row in rows if not row["loss_schrodinger_norm"]} == {"near_horizon"}


def test_a_joint_model_is_scored_as_the_family_of_the_file(tiny_dataset, pulses, tmp_path):
    from physml.training import evaluate_checkpoints, load_surrogate

    trainer = Trainer(_config(tiny_dataset, pulses, epochs=2), tmp_path / "run", progress=False)
    trainer.train()
    checkpoint = tmp_path / "run" / "best.pt"
    near = load_surrogate(checkpoint, data=pulses)
    assert near.model is not None and near.model.config.in_channels == 1 and near.data["path"] == str(pulses)
    assert load_surrogate(checkpoint, family="schrodinger").model.config.field_size == (128,)
    scores = {}
    for path in (tiny_dataset, pulses):
        result = evaluate_checkpoints({"joint": checkpoint}, path, split="val", rollout=2, device="cpu")
        scores[path] = result["models"]["joint"]["one_step"]["nrmse"]
        assert 0 < scores[path] < result["models"]["persistence"]["one_step"]["nrmse"] * 10
    with pytest.raises(ValueError, match=r"family = 'collapse' is invalid for .* a joint model of \['schrodinger'"):
        load_surrogate(checkpoint, family="collapse")


@pytest.mark.xdist_group("processes")  # two training processes: keep the multi-process tests apart
def test_a_joint_run_trains_data_parallel_under_torchrun(tiny_dataset, pulses, tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    raw = {**_config(tiny_dataset, pulses, epochs=1).to_dict(), "device": "cpu"}
    single = Trainer(train_config_from_dict(raw), tmp_path / "one", progress=False)
    single.train()
    path = tmp_path / "joint.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))  # (the datasets' order is the families' order)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "physml", "train", str(path), "--out", str(tmp_path / "ddp"), "--no-progress"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]  # each step leaves the other family's weights unused
    with (tmp_path / "ddp" / "log.csv").open() as f, (tmp_path / "one" / "log.csv").open() as g:
        ddp, one = list(csv.DictReader(f)), list(csv.DictReader(g))
    assert [row["dataset"] for row in ddp] == [row["dataset"] for row in one]
    for a, b in zip(ddp, one):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-4)
