"""What a surrogate saves: the simulator's time for the same trajectories, measured in the same run.

``physml evaluate --trace N`` simulates ``N`` of the split's trajectories again
with the family's own ``simulate`` (what ``physml dataset build`` ran, checks
and observables included), over the span the rollouts cover, one trajectory
after another; the surrogates are timed on their rollouts of the whole split
(:data:`~physml.training.evaluate.ROLLOUT_BATCH` trajectories at a time). The
ratio is the speed-up printed beside each model's error. Generators of static
fields (:mod:`~physml.training.generation`) are timed against the same
``simulate``, one image per trajectory (ray tracing for ``bh_images``, the closed
forms for ``spacetime``). The first simulation runs outside the clock (Numba
compiles there).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["clock", "simulator_seconds"]


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` once the device's queued work is done (what timing a model on a GPU needs)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def simulator_seconds(path: str | os.PathLike[str], trajectories: Sequence[int], n_saves: int) -> float:
    """Seconds per trajectory for the family's simulator to produce the first ``n_saves`` saves of ``trajectories``."""
    import h5py

    from physml.datasets import get_family, read_info, read_parameters

    if not trajectories:
        raise ValueError("trajectories is empty: give at least one to simulate")
    info = read_info(path)
    family, rows = get_family(info.family), read_parameters(info)
    with h5py.File(info.path, "r") as f:
        times = np.asarray(f["dimensions"]["time"][:n_saves], dtype=np.float64)
    family.simulate(rows[trajectories[0]], times)  # compile outside the clock
    start = time.perf_counter()
    for t in trajectories:
        family.simulate(rows[t], times)
    return (time.perf_counter() - start) / len(trajectories)
