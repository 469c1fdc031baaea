"""Every notebook's code cells run top to bottom (headless matplotlib); the quickstart on a tiny trained run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
QUICKSTART = next(p for p in NOTEBOOKS if p.stem.endswith("quickstart"))
#: Notebooks that need nothing but the package.
STANDALONE = [p for p in NOTEBOOKS if p != QUICKSTART]


def run_notebook(path: Path) -> dict:
    """Execute ``path``'s code cells in order in one namespace, and return it."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict = {}
    try:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    finally:
        plt.close("all")
    return namespace


@pytest.mark.parametrize("path", STANDALONE, ids=[p.stem for p in STANDALONE])
def test_notebook_runs(path):
    namespace = run_notebook(path)
    assert namespace, "notebook has no code"


@pytest.fixture
def tiny_run(tiny_dataset, tmp_path) -> Path:
    """What ``physml demo`` writes (``data.h5``, ``fno/best.pt``), on the tiny dataset with a 2-epoch FNO."""
    from physml.training import Trainer, train_config_from_dict

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(tiny_dataset, run / "data.h5")
    config = train_config_from_dict(
        {
            "data": {"path": str(run / "data.h5"), "n_input": 1, "batch_size": 8},
            "model": {
                "name": "fno",
                "params": {"modes": [12], "width": 12, "n_layers": 2},
                "residual": True,
                "squash": {"potential": 2.0},
            },
            "epochs": 2,
            "optim": {"lr": 3e-3, "warmup_steps": 3},
            "device": "cpu",
        }
    )
    Trainer(config, run / "fno", progress=False).train()
    return run


def test_quickstart_rolls_out_a_tiny_run_and_reproduces_physml_evaluate(tiny_run, monkeypatch):
    from physml.training import evaluate_checkpoints

    monkeypatch.setenv("PHYSML_QUICKSTART_RUN", str(tiny_run))
    ns = run_notebook(QUICKSTART)
    ds = ns["ds"]
    try:
        test = ds.sel(trajectory=ds.split == "test")
        n_test, n_times, n_x = test.sizes["trajectory"], test.sizes["time"], test.sizes["x"]
        assert ns["STEPS"] == n_times - 1  # the tiny file holds 6 saves: 5 steps after a 1-step window
        assert ns["TRAJ"] in test.trajectory
        for name, predicted in ns["rollouts"].items():
            assert predicted.shape == (n_test, ns["STEPS"], 2, n_x), name
            assert predicted.isfinite().all(), name

        # Persistence after one step, from the file alone: psi(t0) against psi(t1) in physical units.
        psi = test.psi.values  # (B, T, x) complex
        error = [np.sqrt(np.mean((part(psi[:, 0]) - part(psi[:, 1])) ** 2, axis=-1))
                 / np.sqrt(np.mean(part(psi[:, 1]) ** 2, axis=-1)) for part in (np.real, np.imag)]  # fmt: skip
        np.testing.assert_allclose(ns["nrmse_per_step"]["persistence"][0], np.mean(error), rtol=1e-4)
    finally:
        ds.close()

    # The notebook's curves are the ones `physml evaluate` reports.
    metrics = evaluate_checkpoints({"fno": tiny_run / "fno" / "best.pt"}, tiny_run / "data.h5", device="cpu")
    for label, name in (("fno", "FNO"), ("persistence", "persistence")):
        reported = metrics["models"][label]["rollout"]["nrmse_per_step"]
        np.testing.assert_allclose(ns["nrmse_per_step"][name], reported, rtol=1e-5, err_msg=label)


def test_quickstart_without_a_run_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PHYSML_QUICKSTART_RUN", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="make demo"):
        run_notebook(QUICKSTART)
