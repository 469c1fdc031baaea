"""What an observer measures on a black-hole image: the dark region's size and where its centre lies.

A thin disk lit around a hole leaves a dark region in the middle of the image:
the shadow (rays that fall in) together with the sky seen between the lensed
images of the disk. Its apparent size and its horizontal offset are what
horizon-scale imaging quotes. Frame dragging moves both sideways: for ``a > 0``
the centre shifts towards ``+alpha``, by up to ``~2 a sin i`` for the shadow's
critical curve. With a disk from the ISCO the dark region is bounded by the
disk's direct image, so it is larger than the critical curve (13.3 M across for a
face-on Schwarzschild hole, against ``2 sqrt(27) M = 10.4 M``) and it shrinks as
the ISCO moves in with spin.

:func:`dark_region` finds it on any image, ray-traced or generated: the pixels
fainter than ``threshold`` that are enclosed by emission, i.e. that do not
connect (4-neighbour) to the image border, where the dark sky is. Its size is
the area-equivalent diameter ``2 sqrt(A / pi)`` (robust to the few pixels a
generated image gets wrong on the edge, unlike a max-minus-min width), its
centre the mean ``(alpha, beta)`` of its pixels. On pixels of side ``h`` both
carry an error of about ``h / 2`` from the pixel grid, the same for two images of
the same scene at the same resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["DEFAULT_DARK_THRESHOLD", "DarkRegion", "dark_region"]

#: Intensity below which a pixel is dark: well under any lit disk pixel of the shipped configs
#: (a face-on retrograde disk with q = 3.5 is ~3e-5 at 20 M) and above the empty sky (0).
DEFAULT_DARK_THRESHOLD = 1e-5


@dataclass(frozen=True)
class DarkRegion:
    """The enclosed dark region of an image (length units of the image plane).

    ``diameter`` is ``2 sqrt(area / pi)``; ``centroid_alpha`` is the horizontal centre (the
    shift a spinning hole's shadow shows), ``centroid_beta`` the vertical one; ``pixels`` its size
    in pixels. An image with no enclosed dark pixel has ``pixels = 0`` and NaN for the rest.
    """

    area: float
    diameter: float
    centroid_alpha: float
    centroid_beta: float
    pixels: int


def dark_region(
    intensity: np.ndarray, alpha: np.ndarray, beta: np.ndarray, *, threshold: float = DEFAULT_DARK_THRESHOLD
) -> DarkRegion:
    """The dark pixels of ``intensity`` ``(ny, nx)`` (row ``i`` at ``beta[i]``) enclosed by emission.

    Parameters
    ----------
    intensity
        Observed intensity, ``>= 0`` (NaN counts as dark).
    alpha, beta
        Pixel-centre coordinates ``(nx,)`` and ``(ny,)``, evenly spaced (as from
        :func:`~physml.simulators.bh_images.image_plane`).
    threshold
        Pixels with ``intensity < threshold`` are dark.

    Examples
    --------
    >>> a = b = np.linspace(-10, 10, 81)
    >>> ring = np.where(np.hypot(*np.meshgrid(a - 1.0, b)) < 4.0, 0.0, 1.0)  # a hole of radius 4 at alpha = 1
    >>> region = dark_region(ring, a, b)
    >>> abs(region.diameter - 8.0) < 0.125, round(region.centroid_alpha, 2), round(region.centroid_beta, 2)
    (True, 1.0, 0.0)
    """
    image = np.asarray(intensity, dtype=np.float64)
    alpha, beta = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    if image.ndim != 2 or image.shape != (len(beta), len(alpha)):
        raise ValueError(
            f"intensity shape = {image.shape} is invalid: must be (len(beta), len(alpha)) = ({len(beta)}, {len(alpha)})"
        )
    if min(image.shape) < 3:
        raise ValueError(f"intensity shape = {image.shape} is invalid: need >= 3 pixels per axis")
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold = {threshold!r} is invalid: must be a finite intensity > 0")
    steps = [np.diff(axis) for axis in (alpha, beta)]
    if not all(np.all(step > 0) and np.allclose(step, step[0], rtol=1e-6) for step in steps):
        raise ValueError("alpha and beta are invalid: must be evenly spaced and increasing")
    dark = ~(image >= threshold)  # NaN is dark
    labels, _ = ndimage.label(dark)  # 4-neighbour components
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    enclosed = dark & ~np.isin(labels, border)
    n = int(enclosed.sum())
    if n == 0:
        return DarkRegion(0.0, math.nan, math.nan, math.nan, 0)
    area = n * float(steps[0][0] * steps[1][0])
    rows, cols = np.nonzero(enclosed)
    return DarkRegion(area, 2 * math.sqrt(area / math.pi), float(alpha[cols].mean()), float(beta[rows].mean()), n)
