"""The main job: a small Schrödinger dataset, a trained ResNet and FNO, an evaluation against persistence.

``physml demo --out runs/demo`` runs it in a few minutes on a laptop CPU:

1. builds 128 trajectories of the shipped ``schrodinger-1d`` configuration
   (wave packets in harmonic, double-well, lattice and barrier potentials);
2. trains a ResNet, the best of physml's models for this budget, and the shipped FNO recipe
   (``fno-schrodinger-1d``) on them, both shortened (measured in docs/surrogates.md: at the
   demo's budget the ResNet halves the FNO's error, and the U-Net recipe lands between them);
3. scores both and persistence on the held-out test trajectories, one step and
   along 20-step rollouts, and writes ``metrics.json``, plots and ``report.md``.

Every stage resumes: rerunning the command after an interruption keeps what
was built and trained.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from physml.datasets import build_dataset, load_config
from physml.training import ModelSpec, Trainer, evaluate_checkpoints, load_train_config, resolve_device
from physml.training.report import summary_table

__all__ = ["DEMO_TRAJECTORIES", "run_demo", "summary"]

#: Trajectories of the demo dataset (the shipped config has 256).
DEMO_TRAJECTORIES = 128


def _recipes(data: Path, *, epochs: int) -> dict[str, Any]:
    """A ResNet for ``epochs`` and the shipped FNO recipe for half as many, on the demo data, both on the data loss.

    The FNO recipe's physics terms make a step 40 % dearer and, at equal steps, lower the rollout's norm drift
    at some cost in error (the ablation in docs/benchmarks.md): in a few minutes' training, steps count most.
    """
    fno = load_train_config("fno-schrodinger-1d")
    fno = dataclasses.replace(fno, data=dataclasses.replace(fno.data, path=str(data)), epochs=epochs,
                              losses={"data": 1.0}, optim=dataclasses.replace(fno.optim, warmup_steps=50))  # fmt: skip
    resnet_model = ModelSpec(
        "resnet", {"width": 48, "n_blocks": 4, "kernel_size": 5}, residual=True, squash=dict(fno.model.squash)
    )
    # The local ResNet learns this short-range step faster than the FNO and costs less per step: it gets the
    # budget; the FNO, at half the epochs, is the comparison.
    resnet = dataclasses.replace(fno, model=resnet_model)
    return {"resnet": resnet, "fno": dataclasses.replace(fno, epochs=max(1, epochs // 2))}


def run_demo(
    out: str | os.PathLike[str] = "runs/demo",
    *,
    n_trajectories: int = DEMO_TRAJECTORIES,
    epochs: int = 14,
    rollout: int = 20,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, Any]:
    """Run the demo into ``out`` and return the evaluation metrics (also in ``out/metrics.json``).

    Parameters
    ----------
    out
        Directory for ``data.h5``, the runs ``resnet/`` and ``fno/``, and the report.
    n_trajectories, epochs
        Size of the dataset and length of training (smaller for a smoke test).
    rollout
        Autoregressive steps of the rollout evaluation.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    """
    resolve_device(device)  # a bad device is refused before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = out / "data.h5"
    build_dataset(load_config("schrodinger-1d"), data, n_trajectories=n_trajectories, resume=data.exists(),
                  progress=progress)  # fmt: skip
    timings["dataset"] = time.perf_counter() - start
    checkpoints = {}
    for name, config in _recipes(data, epochs=epochs).items():
        start = time.perf_counter()
        config = dataclasses.replace(config, device=device)
        Trainer(config, out / name, progress=progress).train()
        checkpoints[name] = out / name / "best.pt"
        timings[f"train_{name}"] = time.perf_counter() - start
    start = time.perf_counter()
    metrics = evaluate_checkpoints(checkpoints, data, split="test", rollout=rollout, out=out, device=device)
    timings["evaluate"] = time.perf_counter() - start
    metrics["seconds"] = timings
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def summary(metrics: dict[str, Any]) -> str:
    """The demo's closing lines: the table, and how much better than persistence each model is."""
    seconds = sum(metrics.get("seconds", {}).values())
    gains = ", ".join(f"{k} {v:.1f}x" for k, v in metrics["gain_over_persistence"].items() if k != "persistence")
    return f"{summary_table(metrics)}\n\none-step gain over persistence: {gains}; total {seconds:.0f} s"
