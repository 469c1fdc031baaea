"""What is imaged: a Kerr black hole, a distant camera and a thin disk; each checks itself, the scene their fit.

The hole is physml's :class:`~physml.simulators.spacetime.kerr.Kerr`; the tracer needs
``|spin| < 1`` and no charge (:func:`check_traceable`). Geometric units, ``G = c = 1``:
every length (``fov``, ``r_obs``, disk radii, image coordinates) is in the same unit as
``mass``; ``spin`` is the dimensionless ``a/M``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import circular_photon_orbit, isco_radius, require_uncharged

__all__ = [
    "DEFAULT_TOLERANCE",
    "MIN_RESOLUTION",
    "SHADOW_TOLERANCE",
    "Camera",
    "Disk",
    "Scene",
    "Tolerance",
    "check_traceable",
    "disk_isco",
]

#: Smallest number of pixels per image axis.
MIN_RESOLUTION = 8


def _number(name: str, value: object, rule: str, ok) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
        raise ValueError(f"{name} = {value!r} is invalid: must be {rule}")
    return float(value)


def check_traceable(black_hole: Kerr) -> Kerr:
    """``black_hole`` if the tracer can image it, else ``ValueError``: a :class:`Kerr` with ``|spin| < 1``, uncharged.

    At ``|spin| = 1`` the horizon and the innermost photon orbit meet at ``r = M``, leaving no
    radius where a falling ray is known to be captured; the equations traced are Kerr's.
    """
    if not isinstance(black_hole, Kerr):
        raise ValueError(f"black_hole = {black_hole!r} is invalid: must be a Kerr")
    if not abs(black_hole.spin) < 1.0:
        raise ValueError(
            f"spin = {black_hole.spin!r} is invalid for ray tracing: must be in (-1, 1), |a| < M "
            "(at |a| = M the horizon meets the innermost photon orbit)"
        )
    require_uncharged(black_hole, "ray tracing")
    return black_hole


def disk_isco(black_hole: Kerr) -> float:
    """ISCO of the disk, which turns about ``+z``: prograde for ``spin >= 0``, retrograde for ``spin < 0``.

    Examples
    --------
    >>> round(disk_isco(Kerr(spin=0.0)), 12), round(disk_isco(Kerr(spin=-1.0)), 12)
    (6.0, 9.0)
    """
    return isco_radius(black_hole, prograde=black_hole.spin >= 0)


def KerrBlackHole(mass: float = 1.0, spin: float = 0.0) -> Kerr:
    """Deprecated: use :class:`~physml.simulators.spacetime.kerr.Kerr` (the same ``spin = a/M``); removed next release.

    Refuses ``|spin| >= 1`` as the old class did (:func:`check_traceable`).
    """
    warnings.warn(
        "KerrBlackHole is deprecated and will be removed in the next release: use "
        "physml.simulators.spacetime.Kerr(mass, spin) (spin = a/M)",
        DeprecationWarning,
        stacklevel=2,
    )
    return check_traceable(Kerr(mass=mass, spin=spin))


#: Farthest camera (in units of the mass): the rays' initial momenta come from image-plane angles
#: ``~ fov / r_obs``; beyond ~10^7 M float64 loses them (measured: the tracer divides by zero from
#: 10^8 M, and the null condition is violated at order 1 from 10^12 M). 10^6 M is far enough for
#: an image indistinguishable from one at infinity.
MAX_CAMERA_RADIUS = 1e6


@dataclass(frozen=True)
class Camera:
    """A distant camera at Boyer-Lindquist radius ``r_obs``, polar angle ``inclination`` (degrees, in (0, 180)).

    The image plane holds Bardeen's celestial coordinates ``(alpha, beta)``:
    ``alpha`` perpendicular to the projected spin axis, ``beta`` along it, both
    in length units (apparent impact parameters of a distant observer). ``fov``
    is the full width along ``alpha``; pixels are square; ``resolution`` is an
    int or ``(nx, ny)``. Inclination 0 and 180 (on the axis) are excluded: there
    ``xi = -alpha sin i`` vanishes for every pixel and the map degenerates.
    """

    inclination: float = 60.0
    fov: float = 30.0
    resolution: int | tuple[int, int] = 128
    r_obs: float = 1000.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "inclination", _number("inclination", self.inclination, "in (0, 180) degrees", lambda v: 0 < v < 180)
        )
        object.__setattr__(self, "fov", _number("fov", self.fov, "finite and > 0", lambda v: v > 0))
        object.__setattr__(self, "r_obs", _number("r_obs", self.r_obs, "finite and > 0", lambda v: v > 0))
        res = self.resolution
        pair = (res, res) if isinstance(res, int) and not isinstance(res, bool) else res
        if not (
            isinstance(pair, tuple | list)
            and len(pair) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= MIN_RESOLUTION for n in pair)
        ):
            raise ValueError(f"resolution = {res!r} is invalid: must be an int or (nx, ny) of ints >= {MIN_RESOLUTION}")
        object.__setattr__(self, "resolution", (int(pair[0]), int(pair[1])))

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape ``(ny, nx)``."""
        return self.resolution[1], self.resolution[0]

    @property
    def half_diagonal(self) -> float:
        """Distance from the image centre to a corner (length units)."""
        return 0.5 * self.fov * math.hypot(1.0, self.resolution[1] / self.resolution[0])


@dataclass(frozen=True)
class Disk:
    """Geometrically thin, optically thick equatorial disk of Keplerian emitters about ``+z``.

    Emitted (rest-frame, frequency-integrated) intensity ``(r/M)^(-emissivity_index)``
    between ``inner`` (``None``: the ISCO) and ``outer``; observed ``I = g^redshift_power I_em``
    with ``g = nu_obs/nu_em``: 4 for bolometric intensity (the default), ``3 - s`` for
    specific intensity of a spectrum ``I_nu ~ nu^s``.
    """

    inner: float | None = None
    outer: float = 20.0
    emissivity_index: float = 3.0
    redshift_power: float = 4.0

    def __post_init__(self) -> None:
        if self.inner is not None:
            object.__setattr__(self, "inner", _number("disk inner", self.inner, "finite and > 0", lambda v: v > 0))
        object.__setattr__(self, "outer", _number("disk outer", self.outer, "finite and > 0", lambda v: v > 0))
        for name in ("emissivity_index", "redshift_power"):
            object.__setattr__(self, name, _number(name, getattr(self, name), "finite", lambda v: True))


@dataclass(frozen=True)
class Tolerance:
    """Integrator tolerances: per-step error ``<= atol + rtol |y|`` (RMS), at most ``max_steps`` steps a ray."""

    rtol: float = 1e-8
    atol: float = 1e-10
    max_steps: int = 20_000

    def __post_init__(self) -> None:
        _number("rtol", self.rtol, "in [1e-14, 1e-2]", lambda v: 1e-14 <= v <= 1e-2)
        _number("atol", self.atol, "in (0, 1e-2]", lambda v: 0 < v <= 1e-2)
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int) or self.max_steps < 10:
            raise ValueError(f"max_steps = {self.max_steps!r} is invalid: must be an int >= 10")


#: Default tolerances of images: per-step error 1e-8 relative (pixel-exact shadow edges, see tests).
DEFAULT_TOLERANCE = Tolerance()
#: Default tolerances of shadow-edge bisection.
SHADOW_TOLERANCE = Tolerance(rtol=1e-10, atol=1e-12)


@dataclass(frozen=True)
class Scene:
    """A black hole seen by a camera, with an optional disk; checks that they fit together.

    The camera must lie outside the photon region (for Schwarzschild the photon
    sphere ``r = 3M``), the image plane well within ``r_obs``, and the disk
    between the equatorial circular photon orbit (inside it no circular orbit
    exists) and ``r_obs``.
    """

    black_hole: Kerr = field(default_factory=Kerr)
    camera: Camera = Camera()
    disk: Disk | None = Disk()

    def __post_init__(self) -> None:
        bh, cam = check_traceable(self.black_hole), self.camera
        r_ph = circular_photon_orbit(bh, prograde=False)  # the photon region's outer edge
        if cam.r_obs <= r_ph:
            raise ValueError(
                f"r_obs = {cam.r_obs!r} is invalid: observer inside the photon sphere (photon region of mass = "
                f"{bh.mass!r}, spin = {bh.spin!r} reaches r = {r_ph:.6g}); must be > {r_ph:.6g}"
            )
        if cam.r_obs > MAX_CAMERA_RADIUS * bh.mass:
            raise ValueError(
                f"r_obs = {cam.r_obs!r} is invalid: a camera beyond {MAX_CAMERA_RADIUS:g} M (mass = {bh.mass!r}) "
                "sees the image plane at angles float64 cannot trace; it must be <= "
                f"{MAX_CAMERA_RADIUS * bh.mass:.6g}"
            )
        if cam.half_diagonal >= 0.5 * cam.r_obs:
            raise ValueError(
                f"fov = {cam.fov!r} is invalid: the image plane's half-diagonal ({cam.half_diagonal:.6g}) must be "
                f"< r_obs / 2 = {0.5 * cam.r_obs:.6g}"
            )
        if self.disk is None:
            return
        r_min = circular_photon_orbit(bh, prograde=bh.spin >= 0)  # about +z
        inner, outer = self.disk_inner, self.disk.outer
        if not inner > r_min:
            raise ValueError(
                f"disk inner = {inner!r} is invalid: must be > {r_min:.6g}, the circular photon orbit "
                f"(horizon at {bh.horizon:.6g}; no circular orbit exists further in)"
            )
        if not inner < outer < cam.r_obs:
            raise ValueError(
                f"disk outer = {outer!r} is invalid: must lie between the inner radius {inner!r} and r_obs = "
                f"{cam.r_obs!r}"
            )

    @property
    def disk_inner(self) -> float:
        """The disk's inner radius (the ISCO unless given); NaN without a disk."""
        if self.disk is None:
            return math.nan
        return disk_isco(self.black_hole) if self.disk.inner is None else self.disk.inner
