"""Zooming on the centre: regrid to a stronger sinh stretch as the near-critical solution shrinks.

Close to the threshold the solution passes through echoes, each ``e^Δ ≈ 31`` times
smaller than the last (Choptuik 1993): a run ``p - p*`` away from it reaches scales
``~(p - p*)^γ`` of the data's. A sinh grid ``r = r_max sinh(s x) / sinh(s)`` is
logarithmic outside its core ``r ≲ r_c = r_max sinh(1) / sinh(s)``, with a relative
spacing ``Δr / r ≈ s h`` there, and uniform inside. It resolves every echo the same
way while they are larger than the core, and none once they are smaller. Choptuik
used Berger–Oliger mesh refinement. physml uses the log grid's own scale invariance
instead:

* **regrid**: when the radius of largest ``2m/r`` (the size of the collapsing
  region) falls below ``points`` central spacings, the fields are interpolated
  (sixth-order Lagrange in the uniform coordinate, parity ghosts at the centre) onto a
  grid with stretch ``s + step`` and as many more intervals as keep the spacing at
  ``r_max`` (``n s' coth s' / (s coth s)``). This shrinks the core by ``~e^step``
  and, for ``s ≳ 3``, keeps ``s h``, the relative spacing of the log region;
* **coarsen** back, grid by grid, once that region has grown to four times the
  threshold of the coarser grid (a dispersing field leaves the centre);
* **local time steps**: each step is a fixed fraction of the smallest local light-crossing
  time ``Δr a / α``, and the Kreiss–Oliger dissipation is scaled by ``α / a``
  (:func:`~physml.simulators.collapse.method_of_lines.advance` with ``courant > 0``).
  In polar slicing the lapse at the centre falls as the echoes shrink, so steps
  shrink more slowly than the central spacing.

A run then costs a few thousand steps per echo instead of a count that grows as
``e^Δ`` per echo, and the bisection reaches a relative bracket of 1e-12.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physml.simulators.collapse.grid import MAX_STRETCH, RadialGrid
from physml.simulators.collapse.stencils import GHOSTS

__all__ = ["Refinement", "refined", "resample"]

#: Interpolation stencil width (sixth order, above the scheme's fourth).
_STENCIL = 6


@dataclass(frozen=True)
class Refinement:
    """When and how far to zoom; pass to :func:`~physml.simulators.collapse.run.evolve` as ``refinement``.

    Parameters
    ----------
    points
        Regrid once the radius of largest ``2m/r`` spans fewer than this many central spacings
        ``Δr(0)`` (and ``2m/r`` exceeds ``min_compactness``, i.e. gravity is strong there).
    step
        Stretch added per regrid: the central spacing shrinks by about ``e^step``.
    max_stretch
        Largest stretch a run may reach (at most :data:`~physml.simulators.collapse.grid.MAX_STRETCH`).
    min_compactness
        Smallest ``max 2m/r`` at which a regrid may happen.
    """

    points: float = 200.0
    step: float = 2.0
    max_stretch: float = MAX_STRETCH
    min_compactness: float = 0.1

    def __post_init__(self) -> None:
        if not (math.isfinite(self.points) and self.points >= 16):
            raise ValueError(f"points = {self.points!r} is invalid: must be >= 16")
        if not 0.5 <= self.step <= 5:
            raise ValueError(f"step = {self.step!r} is invalid: the stretch increment must be in [0.5, 5]")
        if not 0 < self.max_stretch <= MAX_STRETCH:
            raise ValueError(f"max_stretch = {self.max_stretch!r} is invalid: must be in (0, {MAX_STRETCH}]")
        if not 0 <= self.min_compactness < 1:
            raise ValueError(f"min_compactness = {self.min_compactness!r} is invalid: must be in [0, 1)")

    def wants(self, grid: RadialGrid, radius: float, compactness: float) -> bool:
        """Whether a collapsing region of ``radius`` at ``max 2m/r = compactness`` needs a finer centre."""
        return (
            compactness >= self.min_compactness
            and radius < self.points * grid.min_spacing
            and grid.stretch + self.step <= self.max_stretch
        )

    def allows(self, coarser: RadialGrid, radius: float) -> bool:
        """Whether the region of largest ``2m/r`` has grown back to ``radius``, enough for ``coarser``.

        Four times the refinement threshold: hysteresis, so that a run does not regrid back and forth.
        A dispersing field leaves the centre, and the finest steps would otherwise last until it is gone.
        """
        return radius > 4 * self.points * coarser.min_spacing


def refined(grid: RadialGrid, step: float) -> RadialGrid:
    """The grid with stretch ``s + step`` and as many more intervals as keep the spacing at ``r_max``.

    The spacing ``Δr = s h sqrt(r² + (r_max / sinh s)²)`` is ``h r_max s coth s`` at the edge, so ``n``
    grows by ``s' coth s' / (s coth s)`` (``s coth s = 1`` for a uniform grid): the outgoing field
    stays as resolved as before, and for ``s ≳ 3`` the relative spacing ``s h`` of the log region too.
    """
    stretch = grid.stretch + step
    n = math.ceil(grid.n * _edge_factor(stretch) / _edge_factor(grid.stretch) - 1e-9)
    return RadialGrid(n=n, r_max=grid.r_max, stretch=stretch)


def _edge_factor(s: float) -> float:
    """``s coth s`` (1 at ``s = 0``): the spacing at ``r_max`` in units of ``h r_max``."""
    return 1.0 if s == 0 else s / math.tanh(s)


def resample(grid: RadialGrid, values: np.ndarray, parity: float, r: np.ndarray) -> np.ndarray:
    """Values of a field given on ``grid`` (``(n + 1,)`` or ghosted) at radii ``r`` in ``[0, r_max]``.

    Sixth-order Lagrange interpolation in the uniform coordinate ``x`` of ``grid``, where the
    field is smooth; ``parity`` (``+1`` even, ``-1`` odd in ``r``) fills the mirror points at the
    centre, and the stencil shifts inwards at ``r_max``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape[0] == grid.n + 1:
        padded = np.empty(grid.n + 1 + GHOSTS)
        padded[GHOSTS:] = values
    elif values.shape[0] == grid.n + 1 + GHOSTS:
        padded = values.copy()
    else:
        raise ValueError(f"values have {values.shape[0]} points; the grid has {grid.n + 1} (+{GHOSTS} ghosts)")
    padded[:GHOSTS] = parity * padded[2 * GHOSTS : GHOSTS : -1]
    r = np.clip(np.asarray(r, dtype=np.float64), 0.0, grid.r_max)
    s = grid.stretch
    x = r / grid.r_max if s == 0 else np.arcsinh(r * math.sinh(s) / grid.r_max) / s
    u = x * grid.n  # position in grid intervals
    first = np.clip(np.floor(u).astype(np.int64) - _STENCIL // 2 + 1, -GHOSTS, grid.n + 1 - _STENCIL)
    out = np.zeros_like(u)
    offsets = u - first
    for k in range(_STENCIL):
        weight = np.ones_like(u)
        for q in range(_STENCIL):
            if q != k:
                weight *= (offsets - q) / (k - q)
        out += weight * padded[first + k + GHOSTS]
    return out
