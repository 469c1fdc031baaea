"""Ray-traced images of Kerr (and Schwarzschild, ``spin = 0``) black holes with a thin Keplerian disk.

Null geodesics are traced backwards from a distant camera in Boyer-Lindquist
coordinates (Hamiltonian form, Dormand-Prince 5(4) with error control, Numba,
parallel over pixels). Image-plane coordinates are Bardeen's celestial
coordinates ``(alpha, beta)``; a ray ends where it meets the disk, falls into
the hole (the shadow) or escapes. The shadow's edge is found by bisection on
camera rays and checked against Bardeen's analytic critical curve.

Units: ``G = c = 1``; lengths in the unit of ``mass``; ``spin = a/M``. The hole is physml's
one black-hole type, :class:`~physml.simulators.spacetime.kerr.Kerr` (re-exported here); the
tracer takes ``|spin| < 1`` and no charge. ``KerrBlackHole`` and ``emitter_ut`` are deprecated
aliases (they warn), removed in the next release.

Examples
--------
>>> from physml.simulators.bh_images import Camera, Disk, Kerr, Scene, render
>>> scene = Scene(Kerr(spin=0.9), Camera(inclination=60.0, fov=30.0, resolution=32), Disk(outer=15.0))
>>> image = render(scene)
>>> image.intensity.shape
(32, 32)
"""

from physml.simulators.bh_images.critical import SCHWARZSCHILD_SHADOW_RADIUS, critical_curve, critical_radius
from physml.simulators.bh_images.geodesic import CAPTURED, DISK, ESCAPED, UNFINISHED
from physml.simulators.bh_images.kerr import carter_constant, disk_redshift, null_hamiltonian
from physml.simulators.bh_images.kerr import emitter_ut as emitter_ut  # deprecated alias, not in __all__
from physml.simulators.bh_images.render import BHImage, image_plane, render
from physml.simulators.bh_images.scene import (
    DEFAULT_TOLERANCE,
    MIN_RESOLUTION,
    SHADOW_TOLERANCE,
    Camera,
    Disk,
    Scene,
    Tolerance,
    check_traceable,
    disk_isco,
)
from physml.simulators.bh_images.scene import (
    KerrBlackHole as KerrBlackHole,  # deprecated alias of Kerr, not in __all__
)
from physml.simulators.bh_images.shadow import ShadowBoundary, shadow_boundary
from physml.simulators.bh_images.tracer import RayPath, Rays, trace_path, trace_rays
from physml.simulators.spacetime.kerr import Kerr

__all__ = [
    "CAPTURED",
    "DEFAULT_TOLERANCE",
    "DISK",
    "ESCAPED",
    "MIN_RESOLUTION",
    "SCHWARZSCHILD_SHADOW_RADIUS",
    "SHADOW_TOLERANCE",
    "UNFINISHED",
    "BHImage",
    "Camera",
    "Disk",
    "Kerr",
    "RayPath",
    "Rays",
    "Scene",
    "ShadowBoundary",
    "Tolerance",
    "carter_constant",
    "check_traceable",
    "critical_curve",
    "critical_radius",
    "disk_isco",
    "disk_redshift",
    "image_plane",
    "null_hamiltonian",
    "render",
    "shadow_boundary",
    "trace_path",
    "trace_rays",
]
