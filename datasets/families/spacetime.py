"""The ``spacetime`` family: images of Kerr–Newman geometry on the meridional plane.

A trajectory is one black hole (mass, spin, charge) seen as static 2D fields on
the plane ``y = 0``, ``t = 0`` of Cartesian Kerr–Schild coordinates: metric
components, the lapse and the Kretschmann scalar, with the inside of the outer
horizon masked (fields 0, ``outside`` 0). See
:func:`~physml.simulators.spacetime.meridional_slice`. Fields are static: the
store still writes the config's saved times, which mean nothing here (use
``time: {t_final: 1.0, n_saves: 1}``). Axes ``(x, z)`` are pixel centres of
``[-extent, extent]²``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physml.datasets.captions import article, number, pick, quantity, sentence
from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory
from physml.datasets.raster import check_size, scale_to_unit
from physml.simulators.spacetime import Kerr, MeridionalSlice, meridional_slice
from physml.simulators.spacetime.kerr import kerr_newman_kretschmann, kerr_schild_radius
from physml.simulators.spacetime.slices import FIELDS

__all__ = ["SpacetimeFamily"]

#: Fewest pixels per axis.
MIN_PIXELS = 8
#: Images draw log10 |K| M^4 (Kretschmann scalar) on this range: ~-5.7 at the corners of the default
#: [-12, 12]^2 slice, -0.12 on a Schwarzschild horizon, ~1.7 on the poles of a near-extremal horizon.
IMAGE_LOG_KRETSCHMANN = (-6.0, 2.0)
#: Images draw g_tt on [-1, 1]: -1 far away, 0 on the ergosurface, up to 1 inside the ergoregion.
IMAGE_G_TT = (-1.0, 1.0)


class SpacetimeFamily(Family):
    """Kerr–Newman metric components and invariants as images on ``(x, z)``; static, open boundaries."""

    name = "spacetime"
    dataset_name = "spacetime"
    description = "metric components and curvature of Kerr-Newman black holes on the meridional plane (G = c = 1)"
    parameters: ClassVar[dict[str, ParameterSpec]] = {
        "pixels": ParameterSpec("pixels", "1", "pixels per image axis", 128, shared=True),
        "extent": ParameterSpec("extent", "length", "half-width of the square [-extent, extent]^2", 12.0, shared=True),
        "mass": ParameterSpec("mass", "length", "black-hole mass M (G = c = 1)", 1.0),
        "spin": ParameterSpec("spin", "1", "dimensionless spin a/M (signed; spin^2 + charge^2 <= 1)", 0.0),
        "charge": ParameterSpec("charge", "1", "dimensionless charge Q/M (spin^2 + charge^2 <= 1)", 0.0),
    }
    checks: ClassVar[dict[str, Check]] = {
        "ricci_residual": Check(
            "ricci_residual",
            1e-9,
            "max over pixels outside the horizon of |R_ab| M^2 (vacuum, charge = 0) or |R| M^2 (electrovacuum: "
            "traceless Maxwell stress); 0 up to round-off of the symbolic derivation",
        ),
        "kretschmann_error": Check(
            "kretschmann_error",
            1e-9,
            "max |K - K_closed| / max |K_closed| outside the horizon, K_closed from Henry (2000) eq. 9",
        ),
    }

    # -- parameters ----------------------------------------------------------
    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        pixels = params["pixels"]
        if isinstance(pixels, float) and pixels.is_integer():
            pixels = params["pixels"] = int(pixels)
        if not isinstance(pixels, int | np.integer) or pixels < MIN_PIXELS:
            raise ValueError(f"pixels = {pixels!r} is invalid: need an integer >= {MIN_PIXELS}")
        black_hole = self.black_hole(params)  # the simulator checks mass, spin and charge
        if not params["extent"] > 2 * black_hole.mass:
            raise ValueError(
                f"extent = {params['extent']!r} is invalid: must exceed 2M = {2 * black_hole.mass} "
                "(the horizon would fill the image)"
            )
        return params

    @staticmethod
    def black_hole(params: Mapping[str, Any]) -> Kerr:
        """The simulator's black hole for resolved ``params`` (``spin = a/M``, ``charge = Q/M``, as :class:`Kerr`)."""
        return Kerr(mass=params["mass"], spin=params["spin"], charge=params["charge"], chart="kerr-schild")

    @staticmethod
    def axis(params: Mapping[str, Any]) -> np.ndarray:
        """Pixel centres of ``[-extent, extent]`` (never on ``z = 0``, where the Kerr-Schild disk lies)."""
        n, extent = int(params["pixels"]), float(params["extent"])
        return -extent + (np.arange(n) + 0.5) * (2 * extent / n)

    # -- text and images ---------------------------------------------------------
    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """The black hole in words: Schwarzschild, Kerr, Reissner-Nordstrom or Kerr-Newman, and how extreme it is.

        Near-extremal when ``a^2 + Q^2 >= 0.81 M^2``; slowly rotating when ``0 < |a/M| < 0.3``,
        weakly charged when ``0 < |Q/M| < 0.3``.
        """
        spin, charge = params["spin"], params["charge"]
        kind = {(False, False): "Schwarzschild", (True, False): "Kerr", (False, True): "Reissner-Nordstrom"}
        name = kind.get((spin != 0, charge != 0), "Kerr-Newman")
        words = []
        if spin**2 + charge**2 >= 0.81:
            words.append("near-extremal")
        elif 0 < abs(spin) < 0.3:
            words.append("slowly rotating")
        if 0 < abs(charge) < 0.3:
            words.append("weakly charged")
        hole = f"{article(' '.join([*words, name]))} black hole of mass M = {quantity(params['mass'], 'length')}"
        numbers = f"spin a/M = {number(spin)}, charge Q/M = {number(charge)}"
        if spin < 0:
            numbers += " (rotating towards -phi: clockwise seen from +z)"
        plane = f"the meridional plane y = 0 over [-{number(params['extent'])}, {number(params['extent'])}]^2"
        templates = (
            "Geometry of {hole} ({numbers}) on {plane}",
            "{hole}, {numbers}: metric components and curvature on {plane}",
            "Metric and Kretschmann scalar of {hole} with {numbers}, in Kerr-Schild coordinates",
            "Spacetime of {hole}; {numbers}",
            "Slice of {hole} through its axis: {numbers}",
        )
        return sentence(pick(rng, templates).format(hole=hole, numbers=numbers, plane=plane))

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("log_kretschmann", "g_tt", "outside")

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """Three channels on the meridional plane, closed forms of the stored fields, 0 inside the outer horizon.

        ``log10 |K| M^4`` on :data:`IMAGE_LOG_KRETSCHMANN` (Henry 2000, eq. 9), ``g_tt`` on
        :data:`IMAGE_G_TT`, and 1 outside the horizon. Columns run along x, rows up z, at
        the pixel centres of ``[-extent, extent]`` (the stored axes when the size is ``pixels``).
        """
        height, width = check_size(size)
        bh = self.black_hole(params)
        x = self.axis({"pixels": width, "extent": params["extent"]})
        z = self.axis({"pixels": height, "extent": params["extent"]})
        xx, zz = np.meshgrid(x, z)  # (H, W)
        r = kerr_schild_radius(xx, np.zeros_like(xx), zz, bh.a)
        outside = r > bh.horizon
        r, cos_theta = r[outside], zz[outside] / r[outside]
        sigma = r**2 + (bh.a * cos_theta) ** 2
        kretschmann = kerr_newman_kretschmann(r, cos_theta, bh.mass, bh.a, bh.q) * bh.mass**4
        image = np.zeros((3, height, width), dtype=np.float32)
        image[0][outside] = scale_to_unit(np.log10(np.maximum(np.abs(kretschmann), 1e-300)), *IMAGE_LOG_KRETSCHMANN)
        image[1][outside] = scale_to_unit(-(1 - (2 * bh.mass * r - bh.q**2) / sigma), *IMAGE_G_TT)
        image[2][outside] = 1.0
        return image

    # -- layout and simulation -----------------------------------------------
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        axis = self.axis(params)
        fields = tuple(FieldSpec(name, unit, text, time_varying=False) for name, (unit, text) in FIELDS.items())
        mask = FieldSpec(
            "outside", "1", "1 outside the outer horizon, 0 inside (fields masked to 0)", time_varying=False
        )
        return Layout(axes={"x": axis, "z": axis.copy()}, fields=(*fields, mask), scalars=(), bc_type="open")

    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        axis = self.axis(params)
        image = meridional_slice(self.black_hole(params), axis, axis)
        fields = {**image.fields, "outside": image.outside.astype(np.float64)}
        return Trajectory(fields=fields, scalars={}, verification=self.verify(image))

    @staticmethod
    def verify(image: MeridionalSlice) -> dict[str, float]:
        """The verification figures of one slice (see :attr:`checks`)."""
        return {"ricci_residual": image.ricci_residual, "kretschmann_error": image.kretschmann_error}
