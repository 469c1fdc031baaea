"""What a build will need, checked before anything is planned or written: disk for the file, memory per trajectory.

A config asking for 2^62 trajectories, or for a grid or a number of saves far
beyond the machine, is refused at once with the sizes involved, instead of
drawing parameters for hours, allocating the file until the disk is full or
being killed for memory mid-build. The sizes come from trajectory 0's layout
(the grid and fields every trajectory of a file shares), in exact integers.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physml.datasets.config import BuildConfig
from physml.datasets.families import get_family
from physml.datasets.plan import make_plan
from physml.machine import check_fits, format_bytes

__all__ = ["BuildSize", "build_size", "check_resources"]


@dataclass(frozen=True)
class BuildSize:
    """Bytes of one stored trajectory (in the file's dtype; in float64 while simulated) and of the whole file."""

    per_trajectory: int
    n_trajectories: int
    float64_per_trajectory: int
    grid: tuple[int, ...]

    @property
    def file(self) -> int:
        return self.per_trajectory * self.n_trajectories


def build_size(config: BuildConfig) -> BuildSize:
    """Sizes from trajectory 0's grid and fields: no array is allocated for the saves or trajectories."""
    family = get_family(config.family)
    try:
        first = family.resolve(make_plan(config.with_trajectories(1)).parameters[0])
    except (ValueError, ArithmeticError) as exc:  # as the full plan would say it (build.resolve_plan)
        raise ValueError(f"trajectory 0: {exc}") from None
    shared = {name: first[name] for name, spec in family.parameters.items() if spec.shared}
    layout = family.layout({**first, **shared}, np.array([0.0, config.t_final]))
    points = math.prod(int(n) for n in layout.shape)
    n_t = config.n_saves + 1
    values = sum((n_t if f.time_varying else 1) * points * (2 if f.complex else 1) for f in layout.fields)
    values += n_t * len(layout.scalars)
    itemsize = np.dtype(config.dtype).itemsize
    return BuildSize(values * itemsize, config.n_trajectories, values * 8, layout.shape)


def check_resources(config: BuildConfig, out: str | os.PathLike[str] | None) -> BuildSize:
    """Refuse a build whose file cannot fit on the disk of ``out`` (``None``: no file) or whose trajectories
    cannot fit in memory.

    Raises ``ValueError`` naming ``n_trajectories``, ``time.n_saves`` and the grid with the sizes.
    """
    size = build_size(config)
    what = (
        f"n_trajectories = {config.n_trajectories}, time.n_saves = {config.n_saves} on a {size.grid} grid "
        f"({format_bytes(size.per_trajectory)} per trajectory)"
    )
    # While simulated, a trajectory is held in float64, beside the simulator's own work arrays: half the memory.
    check_fits(2 * size.float64_per_trajectory, what=f"{what} (twice its float64 size while simulated)")
    if out is None:
        return size
    folder = Path(out).resolve().parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if size.file > free:
        raise ValueError(
            f"{what} is invalid: the file would need {format_bytes(size.file)}; {folder} has {format_bytes(free)} free"
        )
    return size
