"""Data-parallel training: ``torchrun`` on two processes takes the same steps as one process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import yaml

from physml.models import FNO, load_checkpoint
from physml.training import Trainer, distributed, train_config_from_dict
from physml.training.mixture import epoch_batches

# batch_size 7 over 30 training windows: each full batch splits 4 + 3 between two ranks, the last
# (2 windows) 1 + 1, so the test fails unless unequal shares are weighted into the gradient.
RAW = {
    "model": {"name": "fno", "params": {"modes": [12], "width": 12, "n_layers": 2}},
    "losses": {"data": 1.0, "schrodinger_norm": 0.1},
    "epochs": 2,
    "optim": {"lr": 1e-2, "warmup_steps": 3},
    "checkpoint_every": 3,
    "device": "cpu",
}


def raw_config(path, batch_size=7):
    return {**RAW, "data": {"path": str(path), "n_input": 1, "batch_size": batch_size}}


def rows(path):
    with (path / "log.csv").open() as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.mark.xdist_group("processes")  # two training processes: keep the timed multi-process tests apart
def test_torchrun_on_two_processes_takes_the_one_process_steps(tiny_dataset, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = train_config_from_dict(raw_config(tiny_dataset))
    single = Trainer(config, tmp_path / "one", progress=False)
    initial_val = single.evaluate()
    single.train()
    # The torchrun job resumes a run that one process stopped mid-epoch 0: resuming is exact across world sizes.
    Trainer(config, tmp_path / "ddp", progress=False).train(stop_after=3)
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(raw_config(tiny_dataset)))
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "physml", "train", str(path), "--out", str(tmp_path / "ddp"), "--no-progress"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('"step"') == 1  # one report, from rank 0

    ddp, one = rows(tmp_path / "ddp"), rows(tmp_path / "one")
    assert [row["step"] for row in ddp] == list(range(1, 2 * single.batches_per_epoch + 1))
    # Logged losses are global-batch means: the same as one process's, step by step.
    for a, b in zip(ddp, one):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5), (a["step"], key)
    model, extra = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert isinstance(model, FNO) and extra["step"] == len(ddp)
    for a, b in zip(model.state_dict().values(), single.model.state_dict().values()):
        assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())
    best, extra = load_checkpoint(tmp_path / "ddp" / "best.pt")
    assert isinstance(best, FNO) and extra["best"] == pytest.approx(single.best, rel=1e-5)
    assert extra["best"] < 0.8 * initial_val  # it learns

    board = tmp_path / "ddp" / "tensorboard"
    assert len(list(board.iterdir())) == 2  # the first process's events, then rank 0's: rank 1 writes none
    events = EventAccumulator(str(board))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [row["step"] for row in ddp]
    assert [e.step for e in events.Scalars("val/loss")] == [single.batches_per_epoch, 2 * single.batches_per_epoch]


def test_each_rank_takes_a_strided_share_of_every_global_batch(tiny_dataset, tmp_path, monkeypatch):
    trainer = Trainer(train_config_from_dict(raw_config(tiny_dataset)), tmp_path, progress=False)
    plan = epoch_batches({"": len(trainer.train_set)}, None, batch_size=7, seed=trainer.config.seed, epoch=1)
    batches = [batch for _, batch in plan]
    for world in (2, 3):  # with 3 ranks the last batch (2 windows) leaves rank 2 without one
        monkeypatch.setattr(distributed, "world_size", lambda world=world: world)
        shares = []
        for rank in range(world):
            monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
            parts, weights, _ = trainer._shares(1, 0)
            assert trainer._shares(1, 2)[:2] == (parts[2:], weights[2:])  # resuming at batch 2 of the epoch
            shares.append(list(zip(parts, weights)))
        for j, batch in enumerate(batches):
            taken = [shares[rank][j] for rank in range(world)]
            assert sorted(i for part, w in taken if w > 0 for i in part) == sorted(batch)
            assert sum(w for _, w in taken) == pytest.approx(1.0)
            assert all(len(part) == 1 for part, w in taken if w == 0)
        if world == 3:
            assert shares[2][-1][1] == 0


def test_a_global_batch_smaller_than_the_world_is_refused(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    with pytest.raises(ValueError, match=r"data\.batch_size = 1 is invalid with 2 processes"):
        Trainer(train_config_from_dict(raw_config(tiny_dataset, batch_size=1)), tmp_path, progress=False)
