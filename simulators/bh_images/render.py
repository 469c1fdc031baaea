"""Render the image of a scene: one backward ray per pixel, intensity ``g^p r^-q`` where a ray meets the disk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physml.simulators.bh_images.geodesic import DISK, UNFINISHED
from physml.simulators.bh_images.scene import DEFAULT_TOLERANCE, Camera, Scene, Tolerance
from physml.simulators.bh_images.tracer import Rays, trace_rays

__all__ = ["BHImage", "image_plane", "render"]


def image_plane(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``alpha (nx,)`` and ``beta (ny,)`` in length units, both centred on 0.

    ``alpha`` spans ``[-fov/2, fov/2]``; pixels are square, so ``beta`` spans ``fov ny/nx``.
    An even pixel count keeps pixel centres off the axis ``alpha = 0``.
    """
    nx, ny = camera.resolution
    pixel = camera.fov / nx
    return pixel * (np.arange(nx) - 0.5 * (nx - 1)), pixel * (np.arange(ny) - 0.5 * (ny - 1))


@dataclass(frozen=True)
class BHImage:
    """A rendered image. Arrays are ``(ny, nx)``: row ``i`` at ``beta[i]``, column ``j`` at ``alpha[j]``.

    Attributes
    ----------
    intensity
        Observed intensity (float64): ``g^redshift_power (r/M)^-emissivity_index`` on
        the disk, 0 for escaping and captured rays (the shadow), NaN for unfinished rays.
    redshift
        ``g = nu_obs / nu_em`` where the ray meets the disk, else NaN.
    radius
        Boyer-Lindquist radius where the ray meets the disk (length units), else NaN.
    rays
        Every ray's fate (:class:`Rays`, arrays ``(ny, nx)``).
    alpha, beta
        Pixel-centre coordinates (length units).
    scene
        What was rendered.
    """

    intensity: np.ndarray
    redshift: np.ndarray
    radius: np.ndarray
    rays: Rays
    alpha: np.ndarray
    beta: np.ndarray
    scene: Scene


def render(scene: Scene, *, tolerance: Tolerance = DEFAULT_TOLERANCE) -> BHImage:
    """Ray-trace ``scene`` into an image (parallel over pixels).

    Observed intensity ``I = g^p I_em`` (``I/nu^3`` is invariant along rays, so
    frequency-integrated intensity scales as ``g^4``), ``g = 1/(u^t (1 - Omega xi))``
    from the Keplerian emitter to an observer at rest at infinity.

    Examples
    --------
    >>> from physml.simulators.bh_images import Camera, Kerr
    >>> image = render(Scene(Kerr(spin=0.5), Camera(inclination=60.0, fov=30.0, resolution=32)))
    >>> image.intensity.shape, bool(image.intensity.max() > 0)
    ((32, 32), True)
    """
    alpha, beta = image_plane(scene.camera)
    rays = trace_rays(scene, alpha[None, :], beta[:, None], tolerance=tolerance)
    hit = rays.status == DISK
    m = scene.black_hole.mass
    r = np.where(hit, rays.end[..., 0], np.nan)
    redshift = np.where(hit, rays.redshift, np.nan)
    intensity = np.zeros(rays.status.shape)
    if scene.disk is not None:
        d = scene.disk
        intensity[hit] = redshift[hit] ** d.redshift_power * r[hit] ** -d.emissivity_index
    intensity[rays.status == UNFINISHED] = np.nan
    return BHImage(intensity, redshift, r * m, rays, alpha, beta, scene)
