"""The ``bh_images`` family: ray-traced images of a Kerr black hole with a thin Keplerian disk.

A trajectory is one image. Its fields are static (no time axis): the store
still writes the config's saved times, which mean nothing here (use
``time: {t_final: 1.0, n_saves: 1}``). Fields are stored on axes
``(alpha, beta)``, i.e. the transpose of :func:`~physml.simulators.bh_images.render`'s
``(ny, nx)`` image, following The Well's ``(x, y)`` order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physml.datasets.captions import article, number, pick, quantity, sentence
from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory
from physml.datasets.raster import check_size, scale_to_unit
from physml.simulators.bh_images import (
    CAPTURED,
    ESCAPED,
    MIN_RESOLUTION,
    BHImage,
    Camera,
    Disk,
    Kerr,
    Scene,
    Tolerance,
    critical_radius,
    disk_isco,
    image_plane,
    render,
)

__all__ = ["BHImagesFamily"]

#: Integrator tolerances of every image (per-step error <= ATOL + RTOL |y|).
TOLERANCE = Tolerance(rtol=1e-8, atol=1e-10)
#: Rendered intensity is drawn as log10(I) on this range (0 is also the shadow and the sky): I spans
#: ~1e-4 (a face-on retrograde disk, q = 3.5) to ~0.3 (the Doppler-boosted side of an edge-on one).
IMAGE_LOG_INTENSITY = (-5.0, 0.0)
#: Rendered redshift g = nu_obs / nu_em is drawn on [0, IMAGE_MAX_REDSHIFT] (0 off the disk).
IMAGE_MAX_REDSHIFT = 1.5


class BHImagesFamily(Family):
    """Kerr black-hole images; fields ``intensity`` and ``redshift``, static, on ``(alpha, beta)``."""

    name = "bh_images"
    dataset_name = "bh_images"
    description = "ray-traced images of Kerr black holes with thin Keplerian disks (G = c = 1, float64)"
    parameters: ClassVar[dict[str, ParameterSpec]] = {
        "resolution": ParameterSpec("resolution", "1", "pixels per image axis", 128, shared=True),
        "fov": ParameterSpec("fov", "length", "full width of the image plane (alpha and beta)", 40.0, shared=True),
        "r_obs": ParameterSpec("r_obs", "length", "camera radius (Boyer-Lindquist r)", 1000.0, shared=True),
        "mass": ParameterSpec("mass", "length", "black-hole mass M (G = c = 1)", 1.0),
        "spin": ParameterSpec("spin", "1", "dimensionless spin a/M in (-1, 1); < 0: retrograde disk", 0.0),
        "inclination": ParameterSpec("inclination", "deg", "angle between spin axis and line of sight", 60.0),
        "disk_inner": ParameterSpec("disk_inner", "r_isco", "disk inner radius as a multiple of the ISCO", 1.0),
        "disk_outer": ParameterSpec("disk_outer", "M", "disk outer radius as a multiple of the mass", 20.0),
        "emissivity": ParameterSpec("emissivity", "1", "index q of the emitted intensity (r/M)^-q", 3.0),
        "disk": ParameterSpec(
            "disk", "1", "a thin Keplerian disk, or none (the shadow alone)", "thin", ("thin", "none")
        ),
    }
    checks: ClassVar[dict[str, Check]] = {
        "shadow_edge_error": Check(
            "shadow_edge_error",
            1e-5,
            "largest relative distance by which a pixel whose ray falls in (escapes) lies outside (inside) "
            "Bardeen's analytic critical curve; 0 when every such pixel is on its side",
        ),
        "null_violation": Check(
            "null_violation",
            1e-4,
            "max over rays of |2 Sigma H| / (sum of its terms) at the ray's end: integrator error "
            f"(about steps x rtol, rtol = {TOLERANCE.rtol:g})",
        ),
        "nonfinite_pixels": Check("nonfinite_pixels", 0.0, "pixels whose ray did not finish (intensity NaN)"),
    }

    # -- parameters ----------------------------------------------------------
    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        res = params["resolution"]
        if isinstance(res, float) and res.is_integer():
            params["resolution"] = int(res)
        self.scene(params)  # every physical check lives in the simulator's dataclasses
        return params

    @staticmethod
    def scene(params: Mapping[str, Any]) -> Scene:
        """The simulator's scene for resolved ``params``."""
        bh = Kerr(mass=params["mass"], spin=params["spin"])
        camera = Camera(
            inclination=params["inclination"], fov=params["fov"], resolution=params["resolution"], r_obs=params["r_obs"]
        )
        disk = Disk(
            inner=params["disk_inner"] * disk_isco(bh),
            outer=params["disk_outer"] * bh.mass,
            emissivity_index=params["emissivity"],
        )
        return Scene(bh, camera, None if params["disk"] == "none" else disk)

    # -- text and images ---------------------------------------------------------
    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """The hole, the camera and the disk in words.

        Spin words by ``|a/M|``: 0 non-rotating (Schwarzschild), < 0.3 slowly rotating,
        >= 0.9 near-extremal; a negative spin is a retrograde disk. Inclination below 30
        degrees is nearly face-on, above 70 nearly edge-on.
        """
        spin, inclination = params["spin"], params["inclination"]
        if spin == 0:
            hole = "a non-rotating (Schwarzschild) hole"
        else:
            speed = "slowly rotating" if abs(spin) < 0.3 else "near-extremal" if abs(spin) >= 0.9 else "rotating"
            hole = f"{article(speed)} Kerr hole (a/M = {number(spin)})"
        hole += f" of mass M = {quantity(params['mass'], 'length')}"
        view = f"inclination {quantity(inclination, 'deg')}"
        view += " (nearly face-on)" if inclination < 30 else " (nearly edge-on)" if inclination > 70 else ""
        sense = "a retrograde" if spin < 0 else "a prograde" if spin > 0 else "a"
        disk = (
            "no disk (the shadow against a dark sky)"
            if params["disk"] == "none"
            else (
                f"{sense} thin Keplerian disk from {quantity(params['disk_inner'], 'r_isco')} out to "
                f"{number(params['disk_outer'])} M, emissivity index q = {number(params['emissivity'])}"
            )
        )
        templates = (
            "Ray-traced image of {hole}, seen at {view}, with {disk}",
            "{hole} with {disk}, viewed at {view}",
            "A camera at {view} looks at {hole} surrounded by {disk}",
            "Black-hole image: {hole}; {disk}; {view}",
            "The shadow and disk of {hole} at {view}: {disk}",
        )
        return sentence(pick(rng, templates).format(hole=hole, view=view, disk=disk))

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("log_intensity", "redshift")

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """The ray-traced view at ``size`` pixels over the same field of view, two channels.

        Channel 0 is ``log10`` of the observed intensity on :data:`IMAGE_LOG_INTENSITY` (0 in the
        shadow and off the disk), channel 1 the redshift ``g`` on ``[0, IMAGE_MAX_REDSHIFT]``. Columns
        run along ``alpha``, rows up ``beta`` (the field of view is ``fov`` wide, pixels square).
        """
        height, width = check_size(size)
        if min(height, width) < MIN_RESOLUTION:
            raise ValueError(f"size = {size!r} is invalid: ray-traced images need >= {MIN_RESOLUTION} pixels per axis")
        scene = self.scene({**params, "resolution": (width, height)})
        image = render(scene, tolerance=TOLERANCE)  # (ny, nx) = (H, W), row i at beta[i]
        low, high = IMAGE_LOG_INTENSITY
        log_i = np.log10(np.maximum(np.nan_to_num(image.intensity, nan=0.0), 10**low))
        return np.stack([
            scale_to_unit(log_i, low, high),
            scale_to_unit(np.nan_to_num(image.redshift, nan=0.0), 0.0, IMAGE_MAX_REDSHIFT),
        ])  # fmt: skip

    # -- layout and simulation -----------------------------------------------
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        n = int(params["resolution"])
        camera = Camera(fov=params["fov"], resolution=n, r_obs=params["r_obs"])
        alpha, beta = image_plane(camera)
        return Layout(
            axes={"alpha": alpha, "beta": beta},
            fields=(
                FieldSpec("intensity", "I_em(r = M)", "observed bolometric intensity g^4 (r/M)^-q", time_varying=False),
                FieldSpec("redshift", "1", "g = nu_obs / nu_em on the disk, 0 off it", time_varying=False),
            ),
            scalars=(),
            bc_type="open",
        )

    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        image = render(self.scene(params), tolerance=TOLERANCE)
        return Trajectory(
            fields={"intensity": image.intensity.T, "redshift": np.nan_to_num(image.redshift, nan=0.0).T},
            scalars={},
            verification=self.verify(image),
        )

    @staticmethod
    def verify(image: BHImage) -> dict[str, float]:
        """The verification figures of one image (see :attr:`checks`)."""
        scene = image.scene
        status = image.rays.status
        a, b = np.meshgrid(image.alpha, image.beta)  # (ny, nx), like the image
        rho = np.hypot(a, b)
        edge = critical_radius(scene.black_hole, scene.camera.inclination, np.arctan2(b, a))
        wrong = np.concatenate([(rho - edge)[status == CAPTURED], (edge - rho)[status == ESCAPED]]) / edge.min()
        return {
            "shadow_edge_error": float(max(0.0, wrong.max(initial=0.0))),
            "null_violation": float(np.max(image.rays.null_error, initial=0.0)),
            "nonfinite_pixels": float(np.count_nonzero(~np.isfinite(image.intensity))),
        }
