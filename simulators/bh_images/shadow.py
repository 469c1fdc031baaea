"""The shadow's edge found by tracing: bisection along image-plane rays from the centre.

For each direction ``psi`` in the image plane, camera rays at radius ``rho``
are captured inside the shadow and escape outside it; bisecting on ``rho``
for that transition gives the edge to any tolerance, independently of the
analytic curve in :mod:`~physml.simulators.bh_images.critical` it is checked
against. The disk is ignored (the shadow is a property of the spacetime).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from physml.simulators.bh_images.geodesic import CAPTURED, ESCAPED, initial_state, integrate_ray
from physml.simulators.bh_images.scene import SHADOW_TOLERANCE, Scene, Tolerance
from physml.simulators.bh_images.tracer import _radii

__all__ = ["ShadowBoundary", "shadow_boundary"]


@njit(cache=True)
def _fate(rho, c, s, a, incl, r_obs, r_capture, r_escape, rtol, atol, max_steps, no_path) -> int:
    y = np.empty(4)
    xi = initial_state(rho * c, rho * s, a, incl, r_obs, y)
    return integrate_ray(y, a, xi, r_capture, r_escape, 0.0, 0.0, rtol, atol, max_steps, no_path)[0]


@njit(cache=True, parallel=True)
def _bisect_kernel(psi, lo0, hi0, n_iter, a, incl, r_obs, r_capture, r_escape, rtol, atol, max_steps, rho):
    no_path = np.empty((0, 5))
    for j in prange(psi.shape[0]):
        c, s = math.cos(psi[j]), math.sin(psi[j])
        args = (a, incl, r_obs, r_capture, r_escape, rtol, atol, max_steps, no_path)
        if _fate(lo0, c, s, *args) != CAPTURED or _fate(hi0, c, s, *args) != ESCAPED:
            rho[j] = math.nan
            continue
        lo, hi = lo0, hi0
        for _ in range(n_iter):
            mid = 0.5 * (lo + hi)
            fate = _fate(mid, c, s, *args)
            if fate == CAPTURED:
                lo = mid
            elif fate == ESCAPED:
                hi = mid
            else:
                lo = hi = math.nan
                break
        rho[j] = 0.5 * (lo + hi)


@dataclass(frozen=True)
class ShadowBoundary:
    """Edge points of the shadow: direction ``psi`` (rad), polar radius ``rho`` and ``(alpha, beta)`` (length units)."""

    psi: np.ndarray
    rho: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    tol: float


def shadow_boundary(
    scene: Scene,
    *,
    n_directions: int = 32,
    tol: float = 1e-8,
    tolerance: Tolerance = SHADOW_TOLERANCE,
    bracket: tuple[float, float] = (1.0, 10.0),
) -> ShadowBoundary:
    """Bisect camera rays for the captured/escaping transition along ``n_directions`` radial lines.

    Parameters
    ----------
    scene
        Black hole and camera (``inclination``, ``r_obs``); the disk is ignored.
    n_directions
        Directions ``psi_k = 2 pi k / n_directions`` in the image plane (``psi`` from the ``+alpha`` axis).
    tol
        Bisection stops when the bracket is narrower than ``2 tol`` (length units):
        ``rho`` is then within ``tol`` of the traced transition.
    tolerance
        Integrator tolerances; the traced transition differs from the exact edge
        by about the integrator's global error times ``rho``.
    bracket
        ``(rho_in, rho_out)`` in units of the mass: a captured and an escaping radius
        (every Kerr shadow spans radii 2 M to 7 M). ``ValueError`` if a direction's bracket fails.

    Examples
    --------
    >>> from physml.simulators.bh_images import Camera, Kerr
    >>> edge = shadow_boundary(Scene(Kerr(), Camera(inclination=45.0), disk=None), n_directions=4)
    >>> bool(np.allclose(edge.rho, 27**0.5, rtol=1e-6))
    True
    """
    if not (isinstance(n_directions, int) and n_directions >= 1):
        raise ValueError(f"n_directions = {n_directions!r} is invalid: must be an int >= 1")
    lo, hi = bracket
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"bracket = {bracket!r} is invalid: must be 0 < rho_in < rho_out (units of the mass)")
    m = scene.black_hole.mass
    if not (math.isfinite(tol) and 0 < tol < (hi - lo) * m):
        raise ValueError(f"tol = {tol!r} is invalid: must be in (0, {(hi - lo) * m!r})")
    n_iter = max(0, math.ceil(math.log2((hi - lo) * m / (2 * tol))))
    r_capture, r_escape, _, _ = _radii(scene, disk=False)
    psi = 2 * math.pi * np.arange(n_directions) / n_directions
    rho = np.empty(n_directions)
    _bisect_kernel(
        psi, float(lo), float(hi), n_iter, scene.black_hole.spin, math.radians(scene.camera.inclination),
        scene.camera.r_obs / m, r_capture, r_escape, tolerance.rtol, tolerance.atol, tolerance.max_steps, rho,
    )  # fmt: skip
    if not np.all(np.isfinite(rho)):
        bad = np.degrees(psi[~np.isfinite(rho)])
        raise ValueError(
            f"bracket = {bracket!r} is invalid for directions psi = {np.round(bad, 3).tolist()} deg: "
            "rho_in must give a captured ray and rho_out an escaping one"
        )
    rho = rho * m
    return ShadowBoundary(psi, rho, rho * np.cos(psi), rho * np.sin(psi), tol)
