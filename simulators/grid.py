"""Uniform periodic grids for spectral simulators."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from physml.machine import check_fits

__all__ = ["MIN_POINTS", "Grid"]

#: Fewest points per axis a spectral grid may have: below this the Nyquist
#: mode dominates and no smooth field is resolved.
MIN_POINTS = 8


@dataclass(frozen=True)
class Grid:
    """A periodic box ``[-L/2, L/2)`` per axis, sampled at ``n`` uniform points.

    Parameters
    ----------
    n
        Points per axis: an int for 1D or a tuple of ints (one per axis, 1D or 2D).
        Each must be at least 8.
    length
        Box length per axis (same units as positions); a float applies to every axis.

    Examples
    --------
    >>> g = Grid(n=256, length=40.0)
    >>> g.ndim, g.dx, g.axes[0].shape
    (1, (0.15625,), (256,))
    >>> Grid(n=(64, 32), length=(20.0, 10.0)).shape
    (64, 32)
    """

    n: tuple[int, ...]
    length: tuple[float, ...]

    def __post_init__(self) -> None:
        n = (self.n,) if isinstance(self.n, int | np.integer) else tuple(self.n)
        if not 1 <= len(n) <= 2:
            raise ValueError(f"n must give 1 or 2 axes, got {len(n)} ({self.n!r})")
        length = self.length
        length = (length,) * len(n) if isinstance(length, int | float | np.floating) else tuple(length)
        if len(length) != len(n):
            raise ValueError(f"length must give {len(n)} values to match n={n}, got {self.length!r}")
        for axis, points in enumerate(n):
            if int(points) != points or points < MIN_POINTS:
                raise ValueError(f"n[{axis}] = {points!r} is invalid: need an integer >= {MIN_POINTS} points per axis")
        for axis, size in enumerate(length):
            if not (math.isfinite(size) and size > 0):
                raise ValueError(f"length[{axis}] = {size!r} is invalid: need a finite length > 0")
        # A run holds a few complex fields on the grid (psi, its FFT buffers, the kicks): they must fit.
        check_fits(4 * 16 * math.prod(int(p) for p in n), what=f"n = {self.n!r}")
        object.__setattr__(self, "n", tuple(int(p) for p in n))
        object.__setattr__(self, "length", tuple(float(s) for s in length))

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.n)

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape of a field on this grid."""
        return self.n

    @property
    def size(self) -> int:
        """Total number of grid points."""
        return math.prod(self.n)

    @property
    def dx(self) -> tuple[float, ...]:
        """Spacing per axis."""
        return tuple(size / points for size, points in zip(self.length, self.n))

    @property
    def cell_volume(self) -> float:
        """Volume element ``prod(dx)`` for quadratures ``sum(f) * cell_volume``."""
        return math.prod(self.dx)

    @cached_property
    def axes(self) -> tuple[np.ndarray, ...]:
        """1D coordinate arrays ``x_j = -L/2 + j dx`` per axis (float64)."""
        return tuple(-size / 2 + np.arange(points) * step for size, points, step in zip(self.length, self.n, self.dx))

    @cached_property
    def wavenumber_axes(self) -> tuple[np.ndarray, ...]:
        """1D angular wavenumbers ``2 pi fftfreq(n, dx)`` per axis, in FFT order."""
        return tuple(2 * np.pi * np.fft.fftfreq(points, step) for points, step in zip(self.n, self.dx))

    @cached_property
    def coords(self) -> tuple[np.ndarray, ...]:
        """Broadcastable coordinate arrays, ``ij`` indexing: ``(X,)`` or ``(X[:, None], Y[None, :])``."""
        return tuple(np.meshgrid(*self.axes, indexing="ij", sparse=True))

    @cached_property
    def wavenumbers(self) -> tuple[np.ndarray, ...]:
        """Broadcastable wavenumber arrays in FFT order, ``ij`` indexing."""
        return tuple(np.meshgrid(*self.wavenumber_axes, indexing="ij", sparse=True))

    @cached_property
    def k_squared(self) -> np.ndarray:
        """``|k|^2`` on the full grid, FFT order."""
        return sum(k**2 for k in self.wavenumbers) * np.ones(self.shape)

    @property
    def k_max(self) -> tuple[float, ...]:
        """Nyquist wavenumber ``pi / dx`` per axis."""
        return tuple(np.pi / step for step in self.dx)

    def integrate(self, values: np.ndarray) -> float | np.ndarray:
        """Rectangle-rule integral over the last ``ndim`` axes (spectrally accurate when periodic)."""
        axes = tuple(range(-self.ndim, 0))
        return np.sum(values, axis=axes) * self.cell_volume
