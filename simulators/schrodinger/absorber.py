"""Complex absorbing layer at the edges of a periodic box.

Adding ``-i W(x)`` to the Hamiltonian, with ``W >= 0`` only inside a layer of
width ``w`` at each box edge, damps outgoing waves instead of letting them
wrap around the periodic box. A smooth polynomial ramp
``W = W0 (s / w)^p`` (``s`` the depth into the layer) keeps reflection from
the layer's inner edge small; the layer must be a few wavelengths wide and
``W0`` comparable to the kinetic energy of what it absorbs
(Muga, Palao, Navarro & Egusquiza, Phys. Rep. 395, 357, 2004, sec. 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physml.simulators.grid import Grid

__all__ = ["AbsorbingLayer"]


@dataclass(frozen=True)
class AbsorbingLayer:
    """Polynomial complex absorbing potential ``-i W0 (s/w)^p`` at every box edge.

    Parameters
    ----------
    width
        Layer width ``w`` (length units), at each edge of every axis.
    strength
        Peak absorption rate ``W0`` (energy units) at the box edge.
    power
        Ramp exponent ``p`` (>= 1).

    Examples
    --------
    >>> AbsorbingLayer(width=5.0, strength=2.0)(Grid(n=64, length=40.0)).max() <= 2.0
    True
    """

    width: float = 5.0
    strength: float = 4.0
    power: float = 2.0

    def __post_init__(self) -> None:
        for name, ok, allowed in (
            ("width", self.width > 0, "> 0"),
            ("strength", self.strength > 0, "> 0"),
            ("power", self.power >= 1, ">= 1"),
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and ok):
                raise ValueError(f"AbsorbingLayer.{name} = {value!r} is invalid: must be finite and {allowed}")

    def __call__(self, grid: Grid) -> np.ndarray:
        """``W(x) >= 0`` on ``grid`` (energy units)."""
        for axis, size in enumerate(grid.length):
            if 2 * self.width >= size:
                raise ValueError(
                    f"AbsorbingLayer.width = {self.width} is invalid: two layers must fit in the box "
                    f"(length[{axis}] = {size}), so width < {size / 2}"
                )
        w = np.zeros(grid.shape)
        for x, size in zip(grid.coords, grid.length):
            depth = np.clip(np.abs(x) - (size / 2 - self.width), 0.0, None) / self.width
            w = w + self.strength * depth**self.power
        return w

    def interior(self, grid: Grid) -> np.ndarray:
        """Boolean mask of the points outside every layer."""
        inside = np.ones(grid.shape, dtype=bool)
        for x, size in zip(grid.coords, grid.length):
            inside &= np.abs(x) < size / 2 - self.width
        return inside
