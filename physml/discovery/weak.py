"""Weak-form integrals: a field against smooth test functions, every derivative moved onto the test function.

The weak form of a PDE (weak SINDy, Messenger & Bortz 2021) multiplies it by
test functions ``phi(t) phi(x) ...`` that vanish, with their derivatives, at the
edges of their windows, and integrates. By parts, ``∫ phi ∂^k f = (-1)^k ∫ (∂^k
phi) f``: the derivative lands on ``phi``, known in closed form, and none is
taken of the data. :class:`TestFunctions` holds separable ``(1 - s^2)^p`` bumps
on evenly spread windows of each axis and integrates any field against any of
their derivatives, by the rectangle rule (spectrally accurate on an integrand
that vanishes smoothly at both ends).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TestFunctions", "bumps"]


def bumps(points: np.ndarray, count: int, width: int, degree: int, orders: int) -> np.ndarray:
    """``(orders + 1, count, len(points))``: derivatives 0..orders of ``(1 - s^2)^degree`` test functions.

    Each is centred on its own window of ``2 width + 1`` points (``s`` from -1 to 1 across it), the
    windows spread evenly over ``points`` (which must be evenly spaced).
    """
    if not (isinstance(width, int) and width >= 1 and 2 * width + 1 <= len(points)):
        raise ValueError(f"width = {width!r} is invalid: windows of 2 width + 1 points must fit in {len(points)}")
    if not (isinstance(count, int) and count >= 1):
        raise ValueError(f"count = {count!r} is invalid: need at least one test function per axis")
    h = (points[1] - points[0]) * width
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** degree
    starts = np.linspace(0, len(points) - 2 * width - 1, count).round().astype(int)
    out = np.zeros((orders + 1, count, len(points)))
    for j, start in enumerate(starts):
        s = (points[start : start + 2 * width + 1] - points[start + width]) / h
        for k in range(orders + 1):
            out[k, j, start : start + 2 * width + 1] = poly.deriv(k)(s) / h**k
    return out


class TestFunctions:
    """Separable test functions on a ``(time, *space)`` grid.

    Parameters
    ----------
    times, axes
        Evenly spaced coordinates of the time axis and of each space axis.
    counts, widths
        Test functions per axis (time first) and their half-widths in grid points.
    degree
        ``p`` in ``(1 - s^2)^p``: must exceed every derivative order asked of it.
    orders
        Highest derivative wanted along time and along space.
    """

    __test__ = False  # not a pytest class, whatever its name

    def __init__(
        self, times: np.ndarray, axes: tuple[np.ndarray, ...], *, counts: tuple[int, int], widths: tuple[int, int],
        degree: int, orders: tuple[int, int],
    ) -> None:  # fmt: skip
        if degree <= max(orders):
            raise ValueError(f"degree = {degree} is invalid: must exceed the highest derivative taken, {max(orders)}")
        self.time = bumps(times, counts[0], widths[0], degree, orders[0])
        self.space = [bumps(axis, counts[1], widths[1], degree, orders[1]) for axis in axes]
        self.cell = (times[1] - times[0]) * math.prod(a[1] - a[0] for a in axes)

    def integrate(self, field: np.ndarray, t_order: int = 0, index: tuple[int, ...] | None = None) -> np.ndarray:
        """``∫ (∂_t^t_order ∂^index phi) field`` for every test function.

        ``field`` is ``(trajectories, times, *space)``; the result ``(trajectories, n_t * n_x^ndim)``.
        The sign of integration by parts is the caller's (``(-1)^order``).
        """
        index = index or (0,) * len(self.space)
        out = np.moveaxis(np.tensordot(field, self.time[t_order], axes=([1], [1])), -1, 1)  # (A, L, *space)
        for d, order in enumerate(index):
            out = np.moveaxis(np.tensordot(out, self.space[d][order], axes=([2 + d], [1])), -1, 2 + d)
        return out.reshape(len(field), -1) * self.cell

    def where(self, density: np.ndarray, share: float) -> np.ndarray:
        """Which test functions see a mean ``density`` of at least ``share`` of the largest such mean.

        ``density`` (e.g. ``|psi|^2``) is ``(trajectories, times, *space)``; the result flattens like
        :meth:`integrate`'s. Elsewhere a test function integrates noise alone.
        """
        mean = self.integrate(density).reshape(-1) / self.integrate(np.ones_like(density)).reshape(-1)
        return mean >= share * mean.max()
