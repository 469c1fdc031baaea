"""Training guards: a NaN or inf stops the run naming the step and the term, keeps the last good checkpoint,
and the run resumes from it at a lower learning rate; a Ctrl-C inside a destructor still stops training."""

from __future__ import annotations

import csv
import math
import signal
import sys

import pytest
import torch
import yaml

from physml.cli import main
from physml.models import load_checkpoint
from physml.training import Trainer, train_config_from_dict
from physml.training.guards import TrainingDivergedError, nonfinite_loss

LR = 3e-3


def config(path, **changes):
    raw = {
        "data": {"path": str(path), "n_input": 1, "batch_size": 8},  # 30 training windows: 4 steps an epoch
        "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
        "losses": {"data": 1.0, "schrodinger_norm": 0.1},
        "epochs": 3,
        "optim": {"lr": LR, "warmup_steps": 3},
        "checkpoint_every": 2,
    }
    return train_config_from_dict({**raw, **changes})


def rows(run):
    with (run / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def weights(path):
    model, extra = load_checkpoint(path)
    return model.state_dict(), extra


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def poison(trainer, *, at_step, change):
    """Make training step ``at_step`` of ``trainer`` go through ``change(terms)`` (validation is left alone)."""
    losses = trainer.losses

    def poisoned(batch, *, model=None, **options):
        terms = losses(batch, model=model, **options)
        return change(terms) if model is not None and trainer.step + 1 == at_step else terms

    trainer.losses = poisoned


def test_nonfinite_loss_names_the_term_before_the_total():
    nan, inf = float("nan"), float("inf")
    assert nonfinite_loss(nan, {"data": 0.1, "schrodinger_norm": nan}) == ("loss term 'schrodinger_norm'", nan)
    assert nonfinite_loss(inf, {"data": 1e300, "schrodinger_norm": 1e300}) == ("the total loss", inf)
    assert nonfinite_loss(0.2, {"data": 0.1, "schrodinger_norm": 1.0}) is None


def test_a_nan_term_stops_the_run_keeps_the_last_good_checkpoint_and_resumes_at_a_lower_lr(tiny_dataset, tmp_path):
    reference = tmp_path / "reference"
    Trainer(config(tiny_dataset), reference, progress=False).train(stop_after=6)
    good, _ = weights(reference / "last.pt")
    Trainer(config(tiny_dataset), reference, progress=False).train()  # the same run, never stopped

    run = tmp_path / "run"
    trainer = Trainer(config(tiny_dataset), run, progress=False)
    poison(trainer, at_step=7, change=lambda terms: {**terms, "schrodinger_norm": terms["schrodinger_norm"] * math.nan})
    with pytest.raises(TrainingDivergedError) as stopped:
        trainer.train()
    assert str(stopped.value) == (
        f"step 7: loss term 'schrodinger_norm' is nan ({run / 'last.pt'} from step 6 is kept; "
        "resume from it with a lower learning rate, e.g. --lr 0.0003)"
    )
    assert (stopped.value.step, stopped.value.saved_step) == (7, 6)
    kept, extra = weights(run / "last.pt")
    assert extra["step"] == 6
    assert_same(kept, good)  # the weights after step 6, untouched by step 7
    assert weights(run / "best.pt")[1]["step"] == 4  # the end of epoch 0, as it was
    assert [row["step"] for row in rows(run)] == [1, 2, 3, 4, 5, 6]

    result = Trainer(config(tiny_dataset), run, progress=False, lr=3e-4).train()
    assert result["step"] == 12
    resumed, straight = rows(run), rows(reference)
    assert resumed[:6] == straight[:6]
    for a, b in zip(resumed[6:], straight[6:]):  # the same schedule, scaled by the new peak rate
        assert a["lr"] == pytest.approx(b["lr"] / 10, rel=1e-12) and math.isfinite(a["loss"])
    assert weights(run / "last.pt")[1]["config"]["optim"]["lr"] == 3e-4
    with pytest.raises(ValueError, match=r"goes on at optim.lr = 0.0003, this config gives 0.003: pass --lr 0.0003"):
        Trainer(config(tiny_dataset), run, progress=False).train()


def test_a_nan_gradient_stops_the_run_before_the_optimiser_step(tiny_dataset, tmp_path):
    reference = Trainer(config(tiny_dataset, checkpoint_every=10), tmp_path / "reference", progress=False)
    reference.train(stop_after=2)
    trainer = Trainer(config(tiny_dataset, checkpoint_every=10), tmp_path / "run", progress=False)
    first = next(trainer.model.parameters())
    # sqrt(0 * w) is 0, a finite loss, but its gradient is 0.5 / sqrt(0) * 0 = nan.
    poison(trainer, at_step=3, change=lambda terms: {**terms, "data": terms["data"] + torch.sqrt(0 * first.sum())})
    with pytest.raises(TrainingDivergedError, match=r"^step 3: the gradient norm is nan \(no checkpoint was written"):
        trainer.train()
    assert_same(trainer.model.state_dict(), reference.model.state_dict())  # step 3 never reached the weights
    assert not (tmp_path / "run" / "last.pt").exists()


def test_nonfinite_weights_are_never_saved(tiny_dataset, tmp_path):
    trainer = Trainer(config(tiny_dataset), tmp_path, progress=False)
    name, parameter = next(iter(trainer.model.named_parameters()))
    with torch.no_grad():
        parameter.view(-1)[3] = -math.inf
    with pytest.raises(TrainingDivergedError, match=rf"^step 0: weight '{name}' is -inf"):
        trainer._save("last.pt")
    assert not (tmp_path / "last.pt").exists()


def test_the_cli_reports_the_stop_on_one_line_and_resumes_with_lr(tiny_dataset, tmp_path, capsys, monkeypatch):
    path, run = tmp_path / "train.yaml", tmp_path / "run"
    raw = {
        "data": {"path": str(tiny_dataset), "batch_size": 8},
        "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
        "epochs": 2,
        "optim": {"lr": LR, "warmup_steps": 3},
        "checkpoint_every": 2,
    }
    path.write_text(yaml.safe_dump(raw))
    losses = Trainer.losses

    def nan_at_step_3(self, batch, *, model=None, **options):
        terms = losses(self, batch, model=model, **options)
        return {"data": terms["data"] * math.nan} if model is not None and self.step == 2 else terms

    monkeypatch.setattr(Trainer, "losses", nan_at_step_3)
    command = ["train", str(path), "--out", str(run), "--no-progress"]
    with pytest.raises(SystemExit) as stopped:
        main(command)
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err == (
        f"physml: training stopped: step 3: loss term 'data' is nan ({run / 'last.pt'} from step 2 is kept; "
        "resume from it with a lower learning rate, e.g. --lr 0.0003)\n"
    )
    monkeypatch.undo()
    assert main([*command, "--lr", "3e-4"]) == 0
    assert '"step": 8' in capsys.readouterr().out
    log = rows(run)
    assert [row["step"] for row in log] == list(range(1, 9))
    assert log[2]["lr"] == pytest.approx(3e-4, rel=1e-12)  # step 3 ends the warm-up: the full (new) peak rate
    with pytest.raises(SystemExit) as refused:
        main(command)  # the lowered rate is never dropped silently
    assert refused.value.code == 2 and "pass --lr 0.0003 to go on as before" in capsys.readouterr().err


def test_a_ctrl_c_inside_a_destructor_stops_training_at_the_next_step(tiny_dataset, tmp_path, monkeypatch):
    """CPython would drop a KeyboardInterrupt raised inside a destructor; the trainer's handler raises none
    there, and training stops at the next step."""

    class RaisesSigintWhenCollected:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # the handler runs inside __del__: the exception is dropped

    def interrupt(terms):
        RaisesSigintWhenCollected()  # collected at once
        return terms

    swallowed = []
    monkeypatch.setattr(sys, "unraisablehook", lambda report: swallowed.append(report.exc_type))
    trainer = Trainer(config(tiny_dataset), tmp_path, progress=False)
    poison(trainer, at_step=3, change=interrupt)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert swallowed == []  # nothing raised inside __del__: nothing dropped
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    assert [row["step"] for row in rows(tmp_path)] == [1, 2, 3]  # step 3 ran to its end, step 4 never began


def with_a_nan(source, out):
    """A copy of ``source`` with one NaN in the first state of its first training trajectory."""
    import shutil

    import h5py

    shutil.copy(source, out)
    with h5py.File(out, "r+") as f:
        first = next(i for i, split in enumerate(f["physml/split"].asstr()[...]) if split == "train")
        f["t0_fields/psi_real"][first, 0, 5] = math.nan
    return out


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # two training processes; the one-process tests above run by default
@pytest.mark.xdist_group("processes")
def test_a_nan_on_one_rank_stops_every_rank_at_the_same_step(tiny_dataset, tmp_path):
    """Two ranks started by hand, as ``torchrun`` would (its agent would kill a rank left running, hiding a hang)."""
    import os
    import subprocess

    data = with_a_nan(tiny_dataset, tmp_path / "nan.h5")
    raw = {
        "data": {"path": str(data), "batch_size": 7},  # the NaN window lands on one rank's share of a batch
        "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
        "epochs": 2,
        "checkpoint_every": 1,
        "device": "cpu",
    }
    with pytest.raises(TrainingDivergedError, match=r"loss term 'data' is nan") as single:
        Trainer(train_config_from_dict(raw), tmp_path / "one", progress=False).train()
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(raw))
    rendezvous = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2"}
    ranks = [
        subprocess.Popen(
            [sys.executable, "-m", "physml", "train", str(path), "--out", str(tmp_path / "ddp"), "--no-progress"],
            env={**os.environ, **rendezvous, "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": "2"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    # Each rank checks the losses reduced over both, so both stop at the single process's step, each on its own.
    expected = f"physml: training stopped: step {single.value.step}: loss term 'data' is nan"
    for rank in ranks:
        _, err = rank.communicate(timeout=300)  # a rank left waiting in a collective would hang: fail instead
        assert rank.returncode == 1 and err.count(expected) == 1, err[-3000:]
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")[1]["step"] == single.value.step - 1


def test_a_checkpoint_from_before_a_config_key_existed_still_resumes(tiny_dataset, tmp_path):
    """A key added since (here input_noise, at its default) is not a change of config; a changed value is."""
    from pathlib import Path

    from physml.training.guards import resume_lr

    current = config(tiny_dataset).to_dict()
    older = {k: v for k, v in current.items() if k != "input_noise"}
    assert resume_lr(older, current, lr_given=False, last=Path("last.pt")) == current["optim"]["lr"]
    with pytest.raises(ValueError, match="written by another training config"):
        resume_lr({**older, "input_noise": 0.1}, current, lr_given=False, last=Path("last.pt"))
