"""The benchmarks' training runs and records: a folder holds one config's run, never another's under its name, and
invocations side by side add their rows to one record without writing back a stale one."""

import fcntl
import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import _report
from _report import merged_json, train_run

from physml.locks import lock_path


def finished(out: Path, config: dict) -> Path:
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (out / "done").write_text(json.dumps({"seconds": 1.0}))
    return out


CONFIG = {"model": {"name": "fno", "params": {"width": 16}}, "training": {"lr": 0.003, "epochs": 6}}


def test_a_finished_run_of_the_same_config_is_left_as_it_is(tmp_path):
    out = finished(tmp_path / "run", CONFIG)
    assert train_run(json.loads(json.dumps(CONFIG)), out) == out  # no training: `done` is there
    assert yaml.safe_load((out / "config.yaml").read_text()) == CONFIG


def test_a_finished_twin_of_the_same_config_is_copied_and_one_of_another_config_is_trained_anew(tmp_path, monkeypatch):
    trained = []
    monkeypatch.setattr(_report.subprocess, "run", lambda command, **kw: trained.append(command))
    twin = finished(tmp_path / "sweep-lr0.003", CONFIG)
    (twin / "best.pt").write_bytes(b"weights")
    out = train_run(json.loads(json.dumps(CONFIG)), tmp_path / "seed0", twin=twin)
    assert trained == [] and (out / "best.pt").read_bytes() == b"weights" and (out / "done").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0", "sweep-lr0.003"]  # no partial copy left
    longer = {**CONFIG, "training": {"lr": 0.003, "epochs": 24}}
    out = train_run(longer, tmp_path / "seed0-longer", twin=twin)
    assert len(trained) == 1 and trained[0][4:6] == ["train", str(out / "config.yaml")]
    assert not (out / "best.pt").exists()


@pytest.mark.parametrize("begun", ["done", "last.pt"])
def test_a_run_of_another_config_is_refused_naming_what_differs(tmp_path, begun):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    (out / begun).write_bytes(b"{}")
    other = {"model": {"name": "fno", "params": {"width": 16}}, "training": {"lr": 0.003, "epochs": 24, "seed": 1}}
    with pytest.raises(ValueError, match=r"training\.epochs \(6 -> 24\), training\.seed \(None -> 1\)"):
        train_run(other, out)
    assert yaml.safe_load((out / "config.yaml").read_text()) == CONFIG  # the old run's record is kept


def test_a_record_is_updated_under_a_lock_and_left_whole_by_a_failed_update(tmp_path):
    path = tmp_path / "results.json"
    with merged_json(path, {"runs": {}}) as record:
        record["runs"]["a"] = 1
        # another invocation would wait here
        with lock_path(path).open("a") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with merged_json(path, {"runs": {}}) as record:  # the next one reads the rows written before it
        record["runs"]["b"] = 2
    assert json.loads(path.read_text()) == {"runs": {"a": 1, "b": 2}}
    with pytest.raises(RuntimeError), merged_json(path, {"runs": {}}) as record:
        record["runs"]["c"] = 3
        raise RuntimeError("interrupted")
    assert json.loads(path.read_text()) == {"runs": {"a": 1, "b": 2}}
    with lock_path(path).open("a") as other:  # released
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
