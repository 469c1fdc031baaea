"""The main job: ``physml demo`` simulates, trains, evaluates and reports; rerunning resumes instead of redoing."""

from __future__ import annotations

import json

import pytest

from physml.cli import main


def _demo(out, *extra: str) -> int:
    return main(["demo", "--out", str(out), "--trajectories", "16", "--epochs", "1", "--rollout", "4",
                 "--no-progress", *extra])  # fmt: skip


@pytest.mark.xdist_group("processes")  # the heaviest test: keep it apart from the timed ones
def test_demo_writes_data_runs_metrics_plots_and_a_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert _demo(out) == 0
    printed = capsys.readouterr().out
    assert "one-step gain over persistence: resnet" in printed and "| persistence |" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"fno", "resnet", "persistence"}
    for model in metrics["models"].values():
        assert model["one_step"]["nrmse"] > 0 and len(model["rollout"]["nrmse_per_step"]) == 4
    assert metrics["gain_over_persistence"]["persistence"] == 1.0
    written = {p.name for p in out.iterdir()}
    assert {"data.h5", "fno", "resnet", "report.md", "rollout_error.png", "drift.png", "spectra.png"} <= written
    assert {"best.pt", "last.pt", "log.csv", "tensorboard"} <= {p.name for p in (out / "fno").iterdir()}

    # A second run finds everything done: no new training steps, the same numbers.
    log = (out / "fno" / "log.csv").read_text()
    assert _demo(out) == 0
    assert (out / "fno" / "log.csv").read_text() == log
    again = json.loads((out / "metrics.json").read_text())
    assert again["models"]["fno"]["one_step"] == metrics["models"]["fno"]["one_step"]


def test_demo_refuses_bad_sizes(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--out", str(tmp_path), "--epochs", "0"])
    assert exit_info.value.code == 2 and "--epochs = 0 is invalid: must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_the_full_demo_headlines_its_best_model(tmp_path):
    from physml.demo import run_demo

    metrics = run_demo(tmp_path / "demo", progress=False)
    gains = metrics["gain_over_persistence"]  # measured: resnet 19.9x, fno 5.0x (docs/surrogates.md)
    assert gains["resnet"] >= 10 and gains["fno"] >= 2 and gains["resnet"] > 2 * gains["fno"]
