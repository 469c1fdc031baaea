"""Trace camera rays backwards through Kerr: a parallel Numba kernel over rays and thin wrappers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from physml.simulators.bh_images.geodesic import DISK, initial_state, integrate_ray
from physml.simulators.bh_images.kerr import disk_redshift, null_hamiltonian
from physml.simulators.bh_images.scene import DEFAULT_TOLERANCE, Scene, Tolerance
from physml.simulators.spacetime.kerr_orbits import circular_photon_orbit

__all__ = ["RayPath", "Rays", "trace_path", "trace_rays"]


@njit(cache=True, parallel=True)
def _trace_kernel(
    alpha, beta, a, incl, r_obs, r_capture, r_escape, r_in, r_out, rtol, atol, max_steps,
    status, y_end, lam_end, xi, redshift, steps,
):  # fmt: skip
    no_path = np.empty((0, 5))
    for j in prange(alpha.shape[0]):
        y = np.empty(4)
        xi[j] = initial_state(alpha[j], beta[j], a, incl, r_obs, y)
        st, lam, n = integrate_ray(y, a, xi[j], r_capture, r_escape, r_in, r_out, rtol, atol, max_steps, no_path)
        status[j], lam_end[j], steps[j] = st, lam, n
        y_end[j, :] = y
        redshift[j] = disk_redshift(y[0], a, xi[j]) if st == DISK else math.nan


@dataclass(frozen=True)
class Rays:
    """Fates of a bundle of rays, each array shaped like the ``alpha, beta`` given (lengths in units of the mass).

    Attributes
    ----------
    status
        ``ESCAPED`` (0), ``CAPTURED`` (1), ``DISK`` (2) or ``UNFINISHED`` (3).
    end
        ``(..., 4)`` end state ``(r/M, theta, p_r, p_theta)`` (``E = 1``, ``M = 1``).
    affine
        Affine parameter at the end (``M = 1``).
    xi
        ``L/E`` of each ray in units of ``M``.
    redshift
        ``g = nu_obs / nu_em`` where the ray meets the disk, else NaN.
    steps
        Accepted integrator steps.
    null_error
        ``|2 Sigma H|`` at the end over the sum of its terms' magnitudes (0 for an exact null ray).
    """

    status: np.ndarray
    end: np.ndarray
    affine: np.ndarray
    xi: np.ndarray
    redshift: np.ndarray
    steps: np.ndarray
    null_error: np.ndarray


def _radii(scene: Scene, disk: bool) -> tuple[float, float, float, float]:
    """``r_capture, r_escape, r_in, r_out`` in units of M (``r_out = 0``: no disk)."""
    bh = scene.black_hole
    m = bh.mass
    # The photon region spans the prograde to the retrograde equatorial photon orbit.
    r_ph_in, r_ph_out = (circular_photon_orbit(bh, prograde=p) / m for p in (True, False))
    r_plus = bh.horizon / m
    # Inside the innermost spherical photon orbit an ingoing ray from infinity has no radial turning point.
    r_capture = r_plus + 0.5 * (r_ph_in - r_plus)
    with_disk = disk and scene.disk is not None
    r_in, r_out = (scene.disk_inner / m, scene.disk.outer / m) if with_disk else (0.0, 0.0)
    # Outgoing beyond the photon region and the disk, nothing turns a ray back or meets the disk.
    return r_capture, 1.25 * max(r_out, r_ph_out), r_in, r_out


def trace_rays(
    scene: Scene,
    alpha: np.ndarray,
    beta: np.ndarray,
    *,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    disk: bool = True,
    r_escape: float | None = None,
) -> Rays:
    """Trace the rays through image-plane points ``(alpha, beta)`` (length units) of ``scene``'s camera.

    ``disk=False`` ignores the disk (rays then only escape or fall in). ``r_escape``
    (length units) overrides where escaping rays stop; it must exceed the photon
    region and the disk. Runs in parallel over rays (Numba threads).
    """
    alpha, beta = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    shape = alpha.shape
    m = scene.black_hole.mass
    r_capture, r_esc, r_in, r_out = _radii(scene, disk)
    if r_escape is not None:
        if not (math.isfinite(r_escape) and r_escape / m >= r_esc / 1.25):
            raise ValueError(f"r_escape = {r_escape!r} is invalid: must be finite and >= {r_esc / 1.25 * m:.6g}")
        r_esc = r_escape / m
    n = alpha.size
    out = {
        "status": np.empty(n, np.int64), "end": np.empty((n, 4)), "affine": np.empty(n), "xi": np.empty(n),
        "redshift": np.empty(n), "steps": np.empty(n, np.int64),
    }  # fmt: skip
    spin = scene.black_hole.spin
    _trace_kernel(
        np.ascontiguousarray(alpha.ravel()) / m, np.ascontiguousarray(beta.ravel()) / m, spin,
        math.radians(scene.camera.inclination), scene.camera.r_obs / m, r_capture, r_esc, r_in, r_out,
        tolerance.rtol, tolerance.atol, tolerance.max_steps,
        out["status"], out["end"], out["affine"], out["xi"], out["redshift"], out["steps"],
    )  # fmt: skip
    null = np.abs(null_hamiltonian(out["end"], spin, out["xi"]))
    fields = {k: v.reshape(shape + v.shape[1:]) for k, v in out.items()}
    return Rays(**fields, null_error=null.reshape(shape))


@dataclass(frozen=True)
class RayPath:
    """One ray's accepted steps: ``affine (n,)`` and ``states (n, 4)`` = ``(r/M, theta, p_r, p_theta)``."""

    affine: np.ndarray
    states: np.ndarray
    status: int
    xi: float


def trace_path(
    scene: Scene,
    alpha: float,
    beta: float,
    *,
    tolerance: Tolerance = DEFAULT_TOLERANCE,
    disk: bool = True,
    max_points: int = 100_000,
) -> RayPath:
    """One ray through ``(alpha, beta)`` with every accepted step recorded (for checks and plots), units ``M = 1``."""
    m = scene.black_hole.mass
    r_capture, r_esc, r_in, r_out = _radii(scene, disk)
    y = np.empty(4)
    xi = initial_state(alpha / m, beta / m, scene.black_hole.spin, math.radians(scene.camera.inclination),
                       scene.camera.r_obs / m, y)  # fmt: skip
    path = np.full((max_points, 5), np.nan)
    status, lam, n = integrate_ray(
        y, scene.black_hole.spin, xi, r_capture, r_esc, r_in, r_out,
        tolerance.rtol, tolerance.atol, tolerance.max_steps, path,
    )  # fmt: skip
    n_kept = min(n, max_points)
    # The recorded accepted steps, then the end point (located within the last step).
    affine = np.append(path[:n_kept, 0], lam)
    states = np.vstack([path[:n_kept, 1:], y])
    return RayPath(affine, states, int(status), float(xi))
