"""The trainer: it learns, resumes mid-epoch onto the same loss curve, and refuses bad configs clearly."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch

from physml.models import FNO, load_checkpoint
from physml.training import Trainer, train_config_from_dict


def config(path, **changes):
    raw = {
        "data": {"path": str(path), "n_input": 1, "batch_size": 8},
        "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
        "losses": {"data": 1.0, "schrodinger_norm": 0.1},
        "epochs": 2,
        "optim": {"lr": 3e-3, "warmup_steps": 3},
        "checkpoint_every": 2,
    }
    raw.update(changes)
    return train_config_from_dict(raw)


def rows(path):
    with (path / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_training_lowers_the_validation_loss_and_writes_checkpoints(tiny_dataset, tmp_path):
    trainer = Trainer(
        config(tiny_dataset, epochs=15, optim={"lr": 1e-2, "warmup_steps": 5}), tmp_path / "run", progress=False
    )
    before = trainer.evaluate()
    result = trainer.train()
    assert result["val_loss"] < 0.5 * before
    model, extra = load_checkpoint(tmp_path / "run" / "best.pt")
    assert isinstance(model, FNO) and extra["epoch"] >= 1
    log = rows(tmp_path / "run")
    assert len(log) == result["step"] and {"loss_data", "loss_schrodinger_norm"} <= set(log[0])


def test_validation_every_n_steps_is_logged_and_kept_on_resume(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(config(tiny_dataset, epochs=2, val_every=4), run, progress=False)
    steps = 2 * trainer.batches_per_epoch
    trainer.train(stop_after=6)  # the checkpoint at step 6 (checkpoint_every 2) holds the validation at 4
    Trainer(config(tiny_dataset, epochs=2, val_every=4), run, progress=False).train()
    with (run / "val.csv").open() as f:
        logged = [(int(row["step"]), float(row["loss"])) for row in csv.DictReader(f)]
    expected = sorted({*range(4, steps + 1, 4), trainer.batches_per_epoch, steps})
    assert [step for step, _ in logged] == expected  # no step twice after the resume
    _, extra = load_checkpoint(run / "best.pt")
    assert extra["best"] == min(loss for _, loss in logged)
    # Stopped right after a validation that ends the epoch: the resumed run does not validate that step again.
    again = tmp_path / "again"
    every = trainer.batches_per_epoch
    Trainer(config(tiny_dataset, epochs=2, val_every=every), again, progress=False).train(stop_after=every)
    Trainer(config(tiny_dataset, epochs=2, val_every=every), again, progress=False).train()
    with (again / "val.csv").open() as f:
        assert [int(row["step"]) for row in csv.DictReader(f)] == [every, 2 * every]


def scalars(run):
    """Every TensorBoard scalar series of a run as ``{tag: [(step, value), ...]}``, as TensorBoard shows them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tensorboard"))  # purges events past a restart's purge_step, as TB does
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


class _PaddedCounter:
    """TensorBoard's process-wide event-file counter, zero-padded (see the test below)."""

    def __init__(self) -> None:
        self.count = 0

    def get(self) -> str:
        self.count += 1
        return f"{self.count:09d}"


def test_a_run_stopped_mid_epoch_resumes_onto_the_same_curve(tiny_dataset, tmp_path, monkeypatch):
    # TensorBoard reads a run's event files in name order, and names them by the second, the host, the
    # process and a process-wide counter that is not zero-padded: when the killed and the resumed writer
    # start in this one process within one second, the counter going from 9 to 10 (how many writers the
    # suite made before this test) would sort the resumed file first. Separate processes (a real resume)
    # differ by far more than a second. Padding the counter keeps the files in the order they were made.
    from tensorboard.summary.writer import event_file_writer

    monkeypatch.setattr(event_file_writer, "_global_uid", _PaddedCounter())
    straight = Trainer(config(tiny_dataset), tmp_path / "straight", progress=False)
    straight.train()
    Trainer(config(tiny_dataset), tmp_path / "resumed", progress=False).train(stop_after=3)  # mid-epoch 0
    # Then killed after logging step 5, before its checkpoint: it resumes from step 4 and drops step 5's logs.
    killed = Trainer(config(tiny_dataset), tmp_path / "resumed", progress=False)
    save = killed._save

    def save_or_die(name):
        if killed.step == 5:
            raise KeyboardInterrupt
        save(name)

    monkeypatch.setattr(killed, "_save", save_or_die)
    with pytest.raises(KeyboardInterrupt):
        killed.train(stop_after=5)
    assert rows(tmp_path / "resumed")[-1]["step"] == 5 and len(scalars(tmp_path / "resumed")["train/loss"]) == 5
    resumed = Trainer(config(tiny_dataset), tmp_path / "resumed", progress=False)
    resumed.train()
    assert rows(tmp_path / "resumed") == rows(tmp_path / "straight")
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # TensorBoard: every loss term and the lr per step, the validation loss per epoch, no step shown twice.
    board, log = scalars(tmp_path / "resumed"), rows(tmp_path / "straight")
    assert board == scalars(tmp_path / "straight")
    assert set(board) == {"train/lr", "train/loss", "train/loss_data", "train/loss_schrodinger_norm", "val/loss"}
    for name in ("lr", "loss", "loss_data", "loss_schrodinger_norm"):
        assert [step for step, _ in board[f"train/{name}"]] == [row["step"] for row in log]
        assert [value for _, value in board[f"train/{name}"]] == pytest.approx([row[name] for row in log], rel=1e-6)
    epoch_ends = [row["step"] for row in log if row["step"] % straight.batches_per_epoch == 0]
    assert [step for step, _ in board["val/loss"]] == epoch_ends
    assert board["val/loss"][-1][1] == pytest.approx(straight.evaluate(), rel=1e-6)


def test_bad_training_configs_name_the_problem(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match=r"losses \['schrodinger_momentum'\] are invalid"):
        Trainer(config(tiny_dataset, losses={"data": 1.0, "schrodinger_momentum": 1.0}), tmp_path, progress=False)
    no_potential = config(tiny_dataset, data={"path": str(tiny_dataset), "constant_fields": []})
    with pytest.raises(ValueError, match="need psi_real, psi_imag among the fields and potential"):
        Trainer(no_potential, tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"optim keys \['momentum'\] are invalid"):
        config(tiny_dataset, optim={"momentum": 0.9})
    with pytest.raises(ValueError, match="epochs = 0 is invalid"):
        config(tiny_dataset, epochs=0)
    with pytest.raises(ValueError, match=r"input_noise = -0\.1 is invalid"):
        config(tiny_dataset, input_noise=-0.1)


def test_input_noise_perturbs_training_steps_only(tiny_dataset, tmp_path):
    trainer = Trainer(config(tiny_dataset, input_noise=0.5), tmp_path / "run", progress=False)
    batch = torch.utils.data.default_collate([trainer.train_set[i] for i in range(4)])
    trainer.model.eval()
    clean = [float(trainer.losses(batch)["data"].detach()) for _ in range(2)]
    assert clean[0] == clean[1]  # validation: no noise, the same loss every time
    trainer.model.train()
    noisy = [float(trainer.losses(batch)["data"].detach()) for _ in range(2)]
    assert noisy[0] != noisy[1] and clean[0] not in noisy  # a new draw of input noise at every training step


def test_cli_trains_resumes_and_fine_tunes(tiny_dataset, tmp_path, capsys):
    import yaml

    from physml.cli import main

    raw = {
        "data": {"path": str(tiny_dataset), "batch_size": 8},
        "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
        "epochs": 6,
        "optim": {"lr": 1e-2, "warmup_steps": 3},
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert '"step": 24' in capsys.readouterr().out
    assert main(["train", str(path), "--out", str(tmp_path / "a"), "--no-progress"]) == 0  # nothing left to do
    assert len(rows(tmp_path / "a")) == 24
    # Fine-tuning starts from the trained weights: its first loss is far below a fresh start's.
    assert main(["train", str(path), "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a" / "best.pt"),
                 "--no-progress"]) == 0  # fmt: skip
    assert rows(tmp_path / "b")[0]["loss"] < 0.5 * rows(tmp_path / "a")[0]["loss"]
    raw["model"]["params"]["width"] = 16
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(path), "--out", str(tmp_path / "c"), "--init", str(tmp_path / "a" / "best.pt")])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err  # no growth rule for an FNO: the weights that do not fit are named
    assert "a FNO cannot grow" in error and re.search(r"the weights that do not fit .*\.weight: \(12, ", error)


def test_evaluation_scores_model_and_persistence_on_physical_fields(tiny_dataset, tmp_path, capsys):
    import json

    import h5py
    import numpy as np

    from physml.cli import main
    from physml.datasets import read_info

    Trainer(config(tiny_dataset), tmp_path / "run", progress=False).train()
    code = main(["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_dataset), "--split", "train",
                 "--rollout", "3", "--out", str(tmp_path / "eval")])  # fmt: skip
    assert code == 0 and "| persistence |" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    written = {p.name for p in (tmp_path / "eval").iterdir()}
    assert {"rollout_error.png", "drift.png", "spacetime.png", "spectra.png", "report.md"} <= written
    assert len(metrics["models"]["fno"]["rollout"]["nrmse_per_step"]) == metrics["rollout_steps"] == 3
    # Persistence's one-step nRMSE, recomputed from the file: |psi(t+1) - psi(t)| / |psi(t+1)| per channel.
    train = np.flatnonzero(read_info(tiny_dataset).splits == "train")
    with h5py.File(tiny_dataset) as f:
        errors = []
        for name in ("psi_real", "psi_imag"):
            data = f["t0_fields"][name][...][train]  # (n, T, X)
            diff = np.sqrt(((data[:, 1:] - data[:, :-1]) ** 2).mean(-1))
            errors.append(diff / np.sqrt((data[:, 1:] ** 2).mean(-1)))
    expected = np.mean(errors, axis=0).mean()
    persistence = metrics["models"]["persistence"]
    np.testing.assert_allclose(persistence["one_step"]["nrmse"], expected, rtol=1e-5)
    # Persistence keeps norm and energy exactly (up to the file's float rounding).
    assert persistence["rollout"]["norm_drift_max"] < 1e-6 and persistence["rollout"]["energy_drift_max"] < 1e-6
    assert metrics["gain_over_persistence"]["persistence"] == 1.0


def test_residual_and_squash_reach_the_checkpoint_and_are_checked(tiny_dataset, tmp_path):
    from physml.training import load_surrogate

    model = {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}, "residual": True,
             "squash": {"potential": 2.0}}  # fmt: skip
    trainer = Trainer(config(tiny_dataset, model=model, epochs=1), tmp_path / "run", progress=False)
    rms = float(trainer.train_set.constant_normalization.scale[0])
    assert trainer.format.residual and trainer.format.squash == pytest.approx((2.0 / rms,))
    trainer.train()
    surrogate = load_surrogate(tmp_path / "run" / "best.pt")
    assert surrogate.format == trainer.format
    with pytest.raises(ValueError, match=r"model.squash names \['psi'\], which are not constant fields"):
        Trainer(config(tiny_dataset, model={**model, "squash": {"psi": 1.0}}), tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match=r"model\.squash\.potential = -1\.0 is invalid: must be a number > 0"):
        config(tiny_dataset, model={**model, "squash": {"potential": -1.0}})
    zscore = config(tiny_dataset, model=model, data={"path": str(tiny_dataset), "normalize": "zscore"})
    with pytest.raises(ValueError, match=r"model\.squash needs data\.normalize = rms or null"):
        Trainer(zscore, tmp_path / "y", progress=False)
    persistence = config(tiny_dataset, model={"name": "persistence", "residual": True}, losses={"data": 1.0})
    with pytest.raises(ValueError, match=r"model\.residual = true is invalid for persistence"):
        Trainer(persistence, tmp_path / "z", progress=False)


def test_shipped_training_configs_load_and_name_the_shipped_dataset():
    from physml.datasets import list_configs
    from physml.training import load_train_config
    from physml.training.config import shipped_train_configs

    shipped = shipped_train_configs()
    assert "fno-schrodinger-1d" in shipped
    for name in shipped:
        config = load_train_config(name)
        for data in config.datasets.values():
            assert Path(data.path).stem in list_configs()  # data/<shipped dataset>.h5
    with pytest.raises(ValueError, match="neither a file nor a shipped config"):
        load_train_config("no-such-config")


@pytest.mark.slow
def test_the_shipped_recipe_meets_its_targets_on_the_shipped_dataset(tmp_path):
    """Issue 4's bar, end to end (~25 min on 2 cores): build schrodinger-1d, train fno-schrodinger-1d, evaluate."""
    import dataclasses

    from physml.datasets import build_dataset
    from physml.training import evaluate_checkpoints, load_train_config

    data = tmp_path / "schrodinger-1d.h5"
    build_dataset("schrodinger-1d", data, progress=False)
    config = load_train_config("fno-schrodinger-1d")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, path=str(data)))
    Trainer(config, tmp_path / "run", progress=False).train()
    metrics = evaluate_checkpoints([tmp_path / "run" / "best.pt"], data, split="test", rollout=20)
    fno = metrics["models"]["fno"]
    assert fno["one_step"]["nrmse"] <= 1e-2
    assert fno["rollout"]["nrmse_final"] <= 0.1
    assert metrics["gain_over_persistence"]["fno"] >= 10


def test_a_model_reads_other_files_in_the_units_it_was_trained_in(tiny_dataset, tiny_config, tmp_path):
    """A longer test set or a new build has statistics of its own; the model's inputs (and its squash
    scales) are in its training file's units, which the checkpoint carries."""
    from physml.datasets import BuildConfig, build_dataset
    from physml.models import load_checkpoint, save_checkpoint
    from physml.training import load_surrogate

    model = {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}, "squash": {"potential": 2.0}}
    Trainer(config(tiny_dataset, model=model, epochs=1), tmp_path / "run", progress=False).train()
    other = tmp_path / "other.h5"
    build_dataset(BuildConfig.from_dict({**tiny_config, "seed": 8}), other, workers=1, progress=False)
    from physml.datasets import WindowDataset

    surrogate = load_surrogate(tmp_path / "run" / "best.pt")
    trained, own = (WindowDataset(p, split="train", normalize="rms") for p in (tiny_dataset, other))
    assert not torch.equal(own.constant_normalization.scale, trained.constant_normalization.scale)  # premise
    read = surrogate.windows(other, split="train")
    assert torch.equal(read.normalization.scale, trained.normalization.scale)
    assert torch.equal(read.constant_normalization.scale, trained.constant_normalization.scale)
    # A checkpoint without it (an earlier version's) reads each file in that file's units, as before.
    net, extra = load_checkpoint(tmp_path / "run" / "best.pt")
    extra.pop("normalization")
    save_checkpoint(tmp_path / "old.pt", net, **extra)
    old = load_surrogate(tmp_path / "old.pt").windows(other, split="train")
    assert torch.equal(old.constant_normalization.scale, own.constant_normalization.scale)
    # Fine-tuning on the other build reads it in the units of the weights it starts from, and keeps them.
    tuned = Trainer(config(other, model=model, epochs=1), tmp_path / "tuned", init_from=tmp_path / "run" / "best.pt",
                    progress=False)  # fmt: skip
    assert torch.equal(tuned.train_set.normalization.scale, trained.normalization.scale)
    assert torch.equal(tuned.val_set.constant_normalization.scale, trained.constant_normalization.scale)
    assert tuned.format.squash == surrogate.format.squash  # (squash scales are in normalised units)
    tuned.train()
    assert torch.equal(load_surrogate(tmp_path / "tuned" / "best.pt").windows(other, split="train").normalization.scale,
                       trained.normalization.scale)  # fmt: skip
