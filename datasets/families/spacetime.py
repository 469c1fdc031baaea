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

from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory
from physml.simulators.spacetime import Kerr, MeridionalSlice, meridional_slice
from physml.simulators.spacetime.slices import FIELDS

__all__ = ["SpacetimeFamily"]

#: Fewest pixels per axis.
MIN_PIXELS = 8


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
        """The simulator's black hole for resolved ``params`` (``spin`` and ``charge`` are per unit mass)."""
        mass = params["mass"]
        if isinstance(mass, bool) or not isinstance(mass, int | float | np.integer | np.floating) or not mass > 0:
            raise ValueError(f"mass = {mass!r} is invalid: must be finite and > 0")
        return Kerr(mass=mass, spin=params["spin"] * mass, charge=params["charge"] * mass, chart="kerr-schild")

    @staticmethod
    def axis(params: Mapping[str, Any]) -> np.ndarray:
        """Pixel centres of ``[-extent, extent]`` (never on ``z = 0``, where the Kerr-Schild disk lies)."""
        n, extent = int(params["pixels"]), float(params["extent"])
        return -extent + (np.arange(n) + 0.5) * (2 * extent / n)

    # -- layout and simulation -----------------------------------------------
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        axis = self.axis(params)
        fields = tuple(FieldSpec(name, unit, text, time_varying=False) for name, (unit, text) in FIELDS.items())
        mask = FieldSpec(
            "outside", "1", "1 outside the outer horizon, 0 inside (fields masked to 0)", time_varying=False
        )
        return Layout(axes={"x": axis, "z": axis.copy()}, fields=(*fields, mask), scalars=(), bc_type="open")

    def simulate(self, params: Mapping[str, Any], times: np.ndarray) -> Trajectory:
        axis = self.axis(params)
        image = meridional_slice(self.black_hole(params), axis, axis)
        fields = {**image.fields, "outside": image.outside.astype(np.float64)}
        return Trajectory(fields=fields, scalars={}, verification=self.verify(image))

    @staticmethod
    def verify(image: MeridionalSlice) -> dict[str, float]:
        """The verification figures of one slice (see :attr:`checks`)."""
        return {"ricci_residual": image.ricci_residual, "kretschmann_error": image.kretschmann_error}
