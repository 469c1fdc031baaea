"""Scores for continuous-time surrogates: error between the saves a model trained on, and drift of the invariants.

:func:`dense_errors` asks a neural ODE for every save within a span, in one solve, from each window's first
state: with ``data.time_stride = s`` in training, saves whose offset is a multiple of ``s`` were targets and
the others were withheld, so the two errors side by side measure interpolation in time. :func:`invariant_drift`
rolls any surrogate (discrete or continuous) far past its training windows and follows the relative change
of the family's conserved quantities (the Schrödinger norm and energy), which needs no stored truth.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch.utils.data import DataLoader

from physml.models import HamiltonianODE
from physml.models.metrics import nrmse
from physml.training.constraints import invariants_adapter
from physml.training.surrogate import Surrogate

__all__ = ["dense_errors", "dense_windows", "invariant_drift"]


def dense_windows(surrogate: Surrogate, path: str | os.PathLike[str], *, split: str | None, saves: int,
                  **kwargs: Any):  # fmt: skip
    """Windows of ``path`` with every one of the ``saves`` saves after the input as a target.

    The input steps keep the run's spacing (``time_stride`` saves apart, as the model was trained): the
    windows hold every save in between too, so take ``batch["input_fields"][:, ::time_stride]``.
    """
    stride, n_input = surrogate.data.get("time_stride", 1), surrogate.data["n_input"]
    return surrogate.windows(path, split=split, n_output=saves, time_stride=1, n_input=(n_input - 1) * stride + 1,
                             **kwargs)  # fmt: skip


@torch.no_grad()
def dense_errors(
    surrogate: Surrogate, path: str | os.PathLike[str], *, split: str | None, saves: int, batch_size: int = 16
) -> dict[str, Any]:
    """nRMSE (physical units, mean over windows) at each of the ``saves`` saves after a window's first state.

    Windows start every ``saves`` saves. Returns ``per_save`` (list), ``trained`` and ``withheld`` (mean over the
    offsets that are / are not multiples of the run's ``time_stride``; ``withheld`` is ``None`` at stride 1)
    and their ratio.
    """
    if not getattr(surrogate.model, "continuous", False):
        raise ValueError(f"{type(surrogate.model).__name__} steps one save interval at a time: it has no dense output")
    stride = surrogate.data.get("time_stride", 1)
    dataset = dense_windows(surrogate, path, split=split, saves=saves, window_stride=saves)
    errors = []
    for batch in DataLoader(dataset, batch_size=batch_size):
        times = batch["output_time"] - batch["input_time"][:, -1:]  # (B, saves)
        inputs = surrogate.format.inputs(batch["input_fields"][:, ::stride], batch.get("constant_fields"))
        predicted = surrogate.model(inputs, times=times).double()  # (B, saves, C, *space)
        truth = dataset.denormalize(batch["output_fields"].double())
        errors.append(torch.stack([nrmse(dataset.denormalize(predicted[:, k]), truth[:, k]).mean(1)
                                   for k in range(saves)], dim=1))  # fmt: skip
    per_save = torch.cat(errors).mean(0)  # (saves,)
    offsets = torch.arange(1, saves + 1)
    trained = float(per_save[offsets % stride == 0].mean())
    withheld = float(per_save[offsets % stride != 0].mean()) if stride > 1 else None
    ratio = None if withheld is None else withheld / trained
    return {"per_save": per_save.tolist(), "time_stride": stride, "trained": trained, "withheld": withheld,
            "ratio": ratio, "windows": sum(len(e) for e in errors)}  # fmt: skip


@torch.no_grad()
def invariant_drift(
    surrogate: Surrogate,
    path: str | os.PathLike[str],
    *,
    split: str | None,
    steps: int,
    trajectories: int = 16,
) -> dict[str, list[float]]:
    """Mean relative drift ``|I(t) - I(0)| / |I(0)|`` of each conserved quantity over a ``steps``-step rollout.

    For a :class:`~physml.models.HamiltonianODE` also its own ``learned energy``.
    One rollout from the first window of each of the first ``trajectories`` trajectories of ``split``; the
    model steps ``time_stride`` saves at a time. ``ValueError`` if the family conserves nothing the run's
    channels can express.
    """
    dataset = surrogate.windows(path, split=split, n_output=1)
    physics = invariants_adapter(dataset)
    if physics is None:
        raise ValueError(f"{path}: its family has no conserved quantity these channels can express")
    starts = [i * dataset.windows_per_trajectory for i in range(min(trajectories, len(dataset.trajectories)))]
    batch = next(iter(DataLoader(torch.utils.data.Subset(dataset, starts), batch_size=len(starts))))
    predicted = surrogate.rollout(batch["input_fields"], batch.get("constant_fields"), steps, batch).cpu().double()
    states = [batch["input_fields"][:, -1].double(), *predicted.unbind(1)]  # (B, C, *space) each
    along = [physics.invariants(batch, x) for x in states]  # each state's invariants, computed once
    values = {name: torch.stack([a[name] for a in along], dim=1) for name in along[0]}  # (B, steps + 1)
    if isinstance(surrogate.model, HamiltonianODE):  # the energy it learned, which its integrator keeps
        constant = batch.get("constant_fields")
        values["learned energy"] = torch.stack([surrogate.model.energy(surrogate.format.inputs(
            x.float()[:, None], constant)).double() for x in states], dim=1)  # fmt: skip
    drift: dict[str, list[float]] = {}
    for name, value in values.items():
        relative = (value[:, 1:] - value[:, :1]).abs() / value[:, :1].abs().clamp(min=1e-12)
        drift[name] = relative.mean(0).tolist()
    return drift
