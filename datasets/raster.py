"""Pictures from arrays: anti-aliased filled curves and resampled maps, as float32 in [0, 1].

Every image here follows one convention: ``(C, H, W)``, row ``i`` at the
``i``-th value of the vertical coordinate counted upwards (matplotlib's
``origin="lower"``), column ``j`` at the ``j``-th value of the horizontal one.

Curves are rasterised with numpy rather than matplotlib: a figure canvas costs
~10 ms and a GUI backend per image, where the exact area coverage below costs
~0.1 ms for 64 x 64 pixels, and the result does not depend on a font or backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["OVERSAMPLE", "check_size", "column_points", "fill_below", "scale_to_unit", "signed_to_unit"]

#: Sub-samples per pixel column when a curve is rasterised (box-filter anti-aliasing along x).
OVERSAMPLE = 4


def check_size(size: Sequence[int]) -> tuple[int, int]:
    """``(H, W)`` as ints, or ``ValueError`` naming ``size`` unless both are integers >= 2."""
    pair = tuple(size) if isinstance(size, Sequence) and not isinstance(size, str) else ()
    if len(pair) != 2 or not all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n >= 2 for n in pair):
        raise ValueError(f"size = {size!r} is invalid: give (H, W), two integers >= 2")
    return int(pair[0]), int(pair[1])


def column_points(low: float, high: float, width: int, oversample: int = OVERSAMPLE) -> np.ndarray:
    """``(width, oversample)`` abscissae: sub-pixel centres of ``width`` equal columns covering ``[low, high]``.

    Column ``j`` covers ``[low + j d, low + (j + 1) d)`` with ``d = (high - low) / width``.
    """
    step = (high - low) / (width * oversample)
    return low + (np.arange(width * oversample) + 0.5).reshape(width, oversample) * step


def fill_below(values: np.ndarray, *, low: float, high: float, height: int) -> np.ndarray:
    """The area under a curve as an ``(height, W)`` coverage image (row 0 at ``low``).

    Parameters
    ----------
    values
        ``(W, k)`` curve values at ``k`` sub-samples per column (see :func:`column_points`).
    low, high
        The value range the rows cover, ``low < high``: values outside it are clipped,
        so images of different curves share one scale.
    height
        Number of rows.

    Returns
    -------
    ``(height, W)`` float32: the fraction of each pixel that lies below the curve
    (exact for a curve constant within each sub-sample: box-filter anti-aliasing).

    Examples
    --------
    >>> fill_below(np.full((2, 1), 0.5), low=0.0, high=1.0, height=4)[:, 0].tolist()
    [1.0, 1.0, 0.0, 0.0]
    """
    if not low < high:
        raise ValueError(f"low = {low!r}, high = {high!r} are invalid: need low < high")
    row = (high - low) / height
    bottoms = low + row * np.arange(height)
    # (H, 1, 1) against (1, W, k): the covered fraction of each row, averaged over the column's sub-samples.
    covered = np.clip((np.asarray(values, dtype=np.float64)[None] - bottoms[:, None, None]) / row, 0.0, 1.0)
    return covered.mean(axis=2).astype(np.float32)


def scale_to_unit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(values - low) / (high - low)`` clipped to [0, 1], float32 (a fixed, documented grey scale)."""
    return np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 0.0, 1.0).astype(np.float32)


def signed_to_unit(values: np.ndarray, scale: float) -> np.ndarray:
    """``0.5 + 0.5 values / scale`` clipped to [0, 1], float32: 0.5 is zero, 0 and 1 are ``-scale`` and ``+scale``."""
    return scale_to_unit(values, -scale, scale)
