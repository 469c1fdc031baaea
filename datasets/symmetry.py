"""The square grid's exact symmetries, the dihedral group D4, as transforms of samples.

The eight actions (four rotations by multiples of 90°, four reflections) map a square grid of equal spacings
onto itself: no interpolation. On a periodic grid of points ``x_i = x_0 + i·dx`` each action is the
physical rotation or reflection about the box centre followed by a shift of at most one cell, so a trajectory
turned with its potential is again an exact solution of any equation that commutes with rotations,
reflections and translations of the box (the Schrödinger equation with its potential turned alike).

:class:`Orient` turns every field of a :class:`~physml.datasets.samples.WindowDataset` sample (inputs, targets,
static fields) by one action: the test split "in another orientation" for models that never saw it
(``physml evaluate --orientation``). The fields must be scalars, which is what windows hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["ORIENTATIONS", "Orient", "check_orientation", "check_square", "orient"]

#: The D4 actions on the last two (spatial) axes, by name: ``x`` is the first of the two, ``y`` the second.
ORIENTATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "rotate-90": lambda x: x.rot90(1, (-2, -1)),
    "rotate-180": lambda x: x.rot90(2, (-2, -1)),
    "rotate-270": lambda x: x.rot90(3, (-2, -1)),
    "flip-x": lambda x: x.flip(-2),
    "flip-y": lambda x: x.flip(-1),
    "transpose": lambda x: x.transpose(-2, -1),
    "antitranspose": lambda x: x.rot90(2, (-2, -1)).transpose(-2, -1),
}


def check_orientation(orientation: str) -> None:
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation = {orientation!r} is invalid: must be one of {', '.join(ORIENTATIONS)}")


def orient(x: torch.Tensor, orientation: str) -> torch.Tensor:
    """``x`` (``(..., X, Y)``) under one of :data:`ORIENTATIONS`."""
    check_orientation(orientation)
    return ORIENTATIONS[orientation](x)


def check_square(axes: Mapping[str, np.ndarray], orientation: str) -> None:
    """A rotation or diagonal reflection needs two spatial axes of equal length and spacing; every action two axes."""
    check_orientation(orientation)
    if orientation == "identity":
        return
    if len(axes) != 2:
        raise ValueError(f"orientation = {orientation!r} needs a 2-D grid; the data has {len(axes)} spatial axes")
    (nx, x), (ny, y) = ((name, np.asarray(a, float)) for name, a in axes.items())
    if orientation in ("flip-x", "flip-y", "rotate-180"):
        return
    dx, dy = (float(np.diff(a[:2])[0]) if len(a) > 1 else 0.0 for a in (x, y))
    if len(x) != len(y) or not np.isclose(dx, dy, rtol=1e-9):
        raise ValueError(
            f"orientation = {orientation!r} needs a square grid: {nx} has {len(x)} points {dx:g} apart, "
            f"{ny} has {len(y)} points {dy:g} apart"
        )


class Orient:
    """A sample transform: every field of a window (inputs, targets, static fields) under one action."""

    FIELDS = ("input_fields", "output_fields", "constant_fields")

    def __init__(self, orientation: str) -> None:
        check_orientation(orientation)
        self.orientation = orientation

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        return {k: orient(v, self.orientation) if k in self.FIELDS else v for k, v in sample.items()}

    def __repr__(self) -> str:
        return f"Orient({self.orientation!r})"
