"""One trajectory of a configuration, simulated in this process and written as a one-trajectory file.

This is ``physml simulate``: the family resolves the parameters, says what the file holds
(``Family.layout``) and simulates (``Family.simulate``, with its progress display); the file is
the store a build of the same one-trajectory configuration would write (same schema, card and
verification figures, :func:`~physml.datasets.build.create_build_store`). It is written beside
``out`` and moved onto it only once finished, flushed to the disk (:mod:`physml.durable`): ``out``
is the old file or the whole new one, never a part.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physml.datasets.budget import check_resources
from physml.datasets.build import create_build_store, resolve_plan
from physml.datasets.config import BuildConfig
from physml.datasets.families.base import Family, Layout, Trajectory
from physml.datasets.finalize import finalize
from physml.datasets.store import StoreWriter
from physml.durable import atomic_path
from physml.locks import exclusive_output

__all__ = ["SimulatedRun", "simulate_to_file"]


@dataclass(frozen=True)
class SimulatedRun:
    """A simulated trajectory with what describes it: resolved parameters, saved times, layout, file."""

    family: Family
    params: dict[str, Any]
    times: np.ndarray
    layout: Layout
    trajectory: Trajectory
    path: Path | None

    @property
    def failed_checks(self) -> dict[str, tuple[float, float]]:
        """Verification figures over their family's thresholds: name -> (value, threshold)."""
        figures = self.trajectory.verification
        return {
            name: (figures.get(name, math.nan), check.threshold)
            for name, check in self.family.checks.items()
            if check.failed(figures)
        }


def simulate_to_file(
    config: BuildConfig, out: str | os.PathLike[str] | None, *, progress: bool = False
) -> SimulatedRun:
    """Simulate the one trajectory of ``config`` here and write it to ``out`` (``None``: write nothing).

    Parameters
    ----------
    config
        A configuration of one trajectory (``n_trajectories: 1``, no sweep needed).
    out
        Output ``.h5`` file, replaced atomically; ``None`` keeps the run in memory only.
    progress
        Show the simulator's progress (:func:`physml.progress.progress`).

    Returns
    -------
    SimulatedRun
        The trajectory as stored (fields in the family's layout) and its description.
    """
    if config.n_trajectories != 1:
        raise ValueError(f"n_trajectories = {config.n_trajectories} is invalid: simulate_to_file runs one")
    path = None if out is None else Path(out)
    if path is not None and path.is_dir():
        raise ValueError(f"out = {str(path)!r} is a directory; give a file name such as {path / 'run.h5'}")
    check_resources(config, path)  # before planning: a grid or a save count beyond the machine is refused at once
    family, plan, shared = resolve_plan(config)
    params, times = plan.parameters[0], config.times
    if path is None:
        trajectory = family.simulate(params, times, progress=progress)
        return SimulatedRun(family, params, times, family.layout(shared, times), trajectory, None)
    _check_folder(path)  # before the run, not after it
    with exclusive_output(path, action="simulated"):  # a second run writing the same file is refused at once
        trajectory = family.simulate(params, times, progress=progress)
        with atomic_path(path, tag="writing") as tmp:
            create_build_store(tmp, config, family, plan, shared)
            with StoreWriter(tmp) as writer:
                writer.write(0, trajectory)
            finalize(tmp)
    return SimulatedRun(family, params, times, family.layout(shared, times), trajectory, path)


def _check_folder(path: Path) -> None:
    """``ValueError`` unless ``path``'s folder exists or can be made (no file where a folder must be)."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"out = {str(path)!r} is invalid: {folder} is a file, not a folder")
