"""Task (b)'s training runs (``benchmarks/waveform_forecast.py``): a run stopped part-way resumes from its last saved
state to the very weights and record of a run never stopped, and reports its progress as it goes."""

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import waveform_forecast as wf
from _shell_streams import N_SAMPLES, SPLITS


@pytest.fixture
def waveforms(tmp_path) -> Path:
    """Two series per split in the study's layout: damped tones at three radii (only the layout matters here)."""
    path, t = tmp_path / "waveforms.h5", np.arange(N_SAMPLES) * 0.2
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for split in SPLITS:
            tones = [np.sin(rng.uniform(0.2, 0.6) * t + rng.uniform(0, 6)) * np.exp(-(t % 100) / 40) for _ in range(6)]
            f[f"{split}/psi"] = np.reshape(tones, (2, 3, N_SAMPLES)).astype(np.float32)
    return path


RUN = {"arch": "lstm", "context": 1024, "dim": 8, "lr": 3e-3, "steps": 4, "seed": 0, "pushforward": 2}


def train(data: Path, out: Path) -> dict:
    out.mkdir(exist_ok=True)
    return wf.train(**{k: v for k, v in RUN.items() if k != "pushforward"}, data=data, out=out,
                    pushforward=RUN["pushforward"])  # fmt: skip


def test_a_run_stopped_part_way_resumes_to_the_weights_and_record_of_one_never_stopped(waveforms, tmp_path,
                                                                                     monkeypatch, capsys):  # fmt: skip
    monkeypatch.setattr(wf, "CHECKPOINT_EVERY", 2)
    whole = train(waveforms, tmp_path / "whole")

    drawn, windows = [], wf.windows

    def stopped_at_the_third_step(*args, **kwargs):
        drawn.append(1)
        if len(drawn) == 3:
            raise KeyboardInterrupt
        return windows(*args, **kwargs)

    out = tmp_path / "stopped"
    with monkeypatch.context() as patch:
        patch.setattr(wf, "windows", stopped_at_the_third_step)
        with pytest.raises(KeyboardInterrupt):
            train(waveforms, out)
    assert (out / "checkpoint.pt").exists() and not (out / "model.pt").exists()
    assert not (out / "trained.json").exists()
    capsys.readouterr()

    resumed = train(waveforms, out)
    assert capsys.readouterr().err.splitlines()[-1].startswith("stopped: 4/4 step (100%)")
    assert not (out / "checkpoint.pt").exists(), "the finished run keeps no checkpoint"
    saved = [torch.load(run / "model.pt", weights_only=True) for run in (tmp_path / "whole", out)]
    assert saved[0].keys() == saved[1].keys()
    assert all(torch.equal(saved[0][k], saved[1][k]) for k in saved[0])
    record = [json.loads((run / "trained.json").read_text()) for run in (tmp_path / "whole", out)]
    assert record[0]["val_loss"] == record[1]["val_loss"]
    assert record[0]["train_loss_last"] == record[1]["train_loss_last"]
    assert resumed["forecast_102M"] == whole["forecast_102M"]
    assert np.isfinite(whole["one_step"]).all()
