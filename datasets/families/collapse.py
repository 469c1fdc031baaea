"""The ``collapse`` family: spherically symmetric scalar-field collapse on both sides of the threshold.

Each trajectory evolves a Gaussian or tanh shell (:mod:`physml.simulators.collapse`)
and stores, on the radial grid (every ``stride``-th point), the metric functions
``a`` and ``alpha``, the scalar field ``phi`` with ``Phi = ∂_r φ`` and
``Pi = (a/α) ∂_t φ``, and the mass function ``m(r)``. A run that forms a black
hole stops there (polar-areal slices cannot follow it past the horizon); the
saved times after that hold the last state, with the scalar ``black_hole`` set to 1.

Amplitudes are best given relative to the family's threshold: the system has no
scale, so ``p*`` of a shell depends only on its shape (profile, direction,
``center / width``); :data:`CRITICAL_AMPLITUDES` lists measured values, and the
parameter ``p_over_pstar`` sets ``amplitude = p_over_pstar * p*`` for a listed shape.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physml.datasets.captions import number, pick, quantity, sentence
from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory, integer_parameter
from physml.datasets.raster import check_size, column_points, fill_below
from physml.simulators.collapse import (
    DIRECTIONS,
    PROFILES,
    Detection,
    RadialGrid,
    ShellData,
    check_resolution,
    evolve,
    hamiltonian_residual,
)
from physml.simulators.collapse.detection import FORMING

__all__ = ["CRITICAL_AMPLITUDES", "CollapseFamily"]

#: Images draw the initial phi(r) on [0, IMAGE_PHI_MAX]: the shipped config's strongest shells reach 0.16.
IMAGE_PHI_MAX = 0.2
#: Within this relative distance of the threshold p* a shell is called near-critical.
NEAR_CRITICAL = 0.05

#: Threshold amplitudes p* by (profile, direction, center / width), measured by bisection on the default
#: grid of this family (n = 512, r_max = 20, stretch 5, cfl 1): runs within ~1e-3 of p* lose resolution
#: there, which bounds the precision. A finer grid (n = 800, r_max = 12, stretch 7) gives 0.0449006 for
#: the Gaussian. Sweeps should keep a few per cent away from 1 (see configs/collapse-1d.yaml).
CRITICAL_AMPLITUDES: dict[tuple[str, str, float], float] = {
    ("gaussian", "time-symmetric", 5.0): 0.044902,
    ("tanh", "time-symmetric", 5.0): 0.12255,
}


class CollapseFamily(Family):
    """Einstein–massless-scalar collapse in polar-areal coordinates (method of lines, order 4)."""

    name = "collapse"
    dataset_name = "collapse"
    description = "spherically symmetric scalar-field collapse: metric a, alpha; Phi, Pi, phi; mass function"
    parameters: ClassVar[dict[str, ParameterSpec]] = {
        "n": ParameterSpec("n", "1", "radial grid intervals", 512, shared=True),
        "r_max": ParameterSpec("r_max", "L", "outer radius (the length unit; G = c = 1)", 20.0, shared=True),
        "stretch": ParameterSpec("stretch", "1", "sinh stretch s of the grid (0: uniform)", 5.0, shared=True),
        "cfl": ParameterSpec("cfl", "1", "dt / smallest radial spacing, in (0, 1]", 1.0, shared=True),
        "dissipation": ParameterSpec("dissipation", "1", "Kreiss-Oliger strength in [0, 1]", 0.5, shared=True),
        "stride": ParameterSpec("stride", "1", "store every stride-th grid point", 4, shared=True),
        "profile": ParameterSpec("profile", "1", "shape of the initial shell", "gaussian", PROFILES),
        "direction": ParameterSpec("direction", "1", "how the shell moves at t = 0", "time-symmetric", DIRECTIONS),
        "center": ParameterSpec("center", "L", "shell radius r0", 5.0),
        "width": ParameterSpec("width", "L", "shell width sigma", 1.0),
        "amplitude": ParameterSpec("amplitude", "1", "phi(r0) = p (give this or p_over_pstar)", None),
        "p_over_pstar": ParameterSpec(
            "p_over_pstar", "1", "amplitude relative to the measured threshold p* of the shape", None
        ),
    }
    checks: ClassVar[dict[str, Check]] = {
        "constraint_residual": Check(
            "constraint_residual",
            1e-2,
            "max over saved frames (with max 2m/r < 0.6, i.e. no horizon forming) of max_r |r H|, the "
            "Hamiltonian-constraint residual with an independent 4th-order derivative of a; on the default "
            "grid it peaks at ~1.5e-3 as the outgoing half of the shell crosses the coarse outer grid",
        ),
        "mass_drift": Check(
            "mass_drift",
            1e-3,
            "max |m(r_max, t) / M_ADM - 1| over saved frames before the outgoing field can reach r_max: the "
            "scheme does not conserve mass exactly, so this is its O(h^4) error (measured up to 3e-4 on the "
            "default grid, for the strongest Gaussians)",
        ),
    }

    # -- parameters ----------------------------------------------------------
    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        params = dict(params)
        params["n"] = integer_parameter("n", params["n"], 16)
        params["stride"] = integer_parameter("stride", params["stride"], 1)
        if params["n"] % params["stride"]:
            raise ValueError(f"stride = {params['stride']!r} is invalid: must divide n = {params['n']}")
        if (params["amplitude"] is None) == (params["p_over_pstar"] is None):
            raise ValueError("amplitude and p_over_pstar are invalid together: give exactly one of them")
        if params["p_over_pstar"] is not None:
            shape = (params["profile"], params["direction"], round(params["center"] / params["width"], 6))
            if shape not in CRITICAL_AMPLITUDES:
                raise ValueError(
                    f"p_over_pstar = {params['p_over_pstar']!r} is invalid for shape {shape}: p* is measured only "
                    f"for {sorted(CRITICAL_AMPLITUDES)}; give amplitude instead"
                )
            params["amplitude"] = params["p_over_pstar"] * CRITICAL_AMPLITUDES[shape]
        check_resolution(self.grid(params), self.data(params))
        if not (0 < params["cfl"] <= 1):
            raise ValueError(f"cfl = {params['cfl']!r} is invalid: need 0 < dt / dr_min <= 1")
        if not (0 <= params["dissipation"] <= 1):
            raise ValueError(f"dissipation = {params['dissipation']!r} is invalid: must be in [0, 1]")
        if times is not None:
            if times[0] != 0:
                raise ValueError(f"time starts at {times[0]!r}: this family starts every run at t = 0")
            steps = np.diff(times)
            if not np.allclose(steps, steps[0], rtol=1e-9, atol=0):
                raise ValueError("times are invalid: this family saves at uniform intervals")
        return params

    @staticmethod
    def grid(params: Mapping[str, Any]) -> RadialGrid:
        return RadialGrid(n=params["n"], r_max=params["r_max"], stretch=params["stretch"])

    @staticmethod
    def data(params: Mapping[str, Any]) -> ShellData:
        return ShellData(params["profile"], params["amplitude"], params["center"], params["width"], params["direction"])

    # -- text and images ---------------------------------------------------------
    def threshold_ratio(self, params: Mapping[str, Any]) -> float | None:
        """``p / p*`` when the shell's shape has a measured threshold (:data:`CRITICAL_AMPLITUDES`), else ``None``."""
        shape = (params["profile"], params["direction"], round(params["center"] / params["width"], 6))
        return params["amplitude"] / CRITICAL_AMPLITUDES[shape] if shape in CRITICAL_AMPLITUDES else None

    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """The shell in words, and on which side of the black-hole threshold it lies when ``p*`` is known.

        ``p > p*``: supercritical (collapses to a black hole); ``p < p*``: subcritical (disperses);
        near-critical within :data:`NEAR_CRITICAL` of ``p*``.
        """
        shape = "Gaussian shell" if params["profile"] == "gaussian" else "tanh-edged ball"
        motion = "at rest (time-symmetric)" if params["direction"] == "time-symmetric" else "moving inward"
        shell = (
            f"a {shape} of scalar field {motion}, amplitude p = {number(params['amplitude'])}, "
            f"radius r0 = {quantity(params['center'], 'L')}, width {quantity(params['width'], 'L')}"
        )
        ratio = self.threshold_ratio(params)
        if ratio is None:
            fate = "a pulse whose threshold p* is not measured"
        else:
            near = "near-critical, " if abs(ratio - 1) < NEAR_CRITICAL else ""
            side = "supercritical pulse that collapses to a black hole" if ratio > 1 else ""
            side = side or "subcritical pulse that disperses"
            fate = f"a {near}{side} (p/p* = {number(ratio)})"
        templates = (
            "Spherical collapse of {shell}: {fate}",
            "{fate}: {shell}",
            "Einstein-scalar field evolution in polar-areal coordinates of {shell}; {fate}",
            "{shell}, {fate}",
            "Self-gravitating massless scalar field, {shell}. Outcome: {fate}",
        )
        return sentence(pick(rng, templates).format(shell=shell, fate=fate))

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("initial_phi",)

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """The area under the initial profile ``phi(0, r)``, one channel.

        Columns span ``[0, r_max]`` uniformly in ``r`` (the stored grid is stretched; the
        profile is evaluated exactly), rows ``[0, IMAGE_PHI_MAX]`` upwards (:data:`IMAGE_PHI_MAX`).
        """
        height, width = check_size(size)
        phi, _, _ = self.data(params).fields(column_points(0.0, params["r_max"], width))
        return fill_below(phi, low=0.0, high=IMAGE_PHI_MAX, height=height)[None]

    # -- layout and simulation -----------------------------------------------
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        return Layout(
            axes={"r": self.grid(params).r[:: params["stride"]]},
            fields=(
                FieldSpec("a", "1", "radial metric function a (g_rr = a^2)"),
                FieldSpec("alpha", "1", "lapse alpha (g_tt = -alpha^2), alpha a = 1 at r_max"),
                FieldSpec("Phi", "1/L", "Phi = d phi / dr"),
                FieldSpec("Pi", "1/L", "Pi = (a / alpha) d phi / dt"),
                FieldSpec("phi", "1", "scalar field phi (units of 1/sqrt(G))"),
                FieldSpec("mass_function", "L", "Misner-Sharp mass m(r) = (r/2)(1 - 1/a^2)"),
            ),
            scalars=("central_lapse", "max_compactness", "central_phi", "adm_mass", "black_hole"),
            bc_type="open",
        )

    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        grid, data = self.grid(params), self.data(params)
        n_saves = len(times) - 1
        run = evolve(
            grid,
            data,
            t_final=float(times[-1]),
            n_saves=n_saves,
            cfl=params["cfl"],
            dissipation=params["dissipation"],
            # Run to t_final (no dispersal stop); the lapse floor 1e-4 ends black-hole runs before a coarse
            # grid loses the steepening horizon.
            detection=Detection(dispersal_ratio=0.0, lapse_floor=1e-4),
            progress=progress,
        )
        reached = len(run.t)
        names = {"a": "a", "alpha": "alpha", "Phi": "Phi", "Pi": "Pi", "phi": "phi", "mass_function": "mass"}
        keep = slice(None, None, params["stride"])
        fields = {}
        for stored, name in names.items():
            frames = np.empty((len(times), grid.n + 1))
            frames[:reached] = run.fields[name]
            frames[reached:] = run.final[name]  # held after a black hole formed
            fields[stored] = frames[:, keep]
        a = np.concatenate([run.fields["a"], np.repeat(run.final["a"][None], len(times) - reached, axis=0)])
        compactness = np.max(1.0 - 1.0 / a**2, axis=1)
        scalars = {
            "central_lapse": fields["alpha"][:, 0].copy(),
            "max_compactness": compactness,
            "central_phi": fields["phi"][:, 0].copy(),
            "adm_mass": fields["mass_function"][:, -1].copy(),
            "black_hole": (np.arange(len(times)) >= reached).astype(np.float64) * float(run.collapsed),
        }
        calm = [k for k in range(reached) if compactness[k] < FORMING]
        residual = max(
            (
                float(
                    np.max(
                        np.abs(
                            hamiltonian_residual(grid, run.fields["a"][k], run.fields["Phi"][k], run.fields["Pi"][k])
                        )
                    )
                )
                for k in calm
            ),
            default=0.0,
        )
        # The outgoing half leaves r0 + 4 sigma at t = 0 and moves at most at the speed of light.
        before = times[:reached] < grid.r_max - (data.center + 4 * data.width)
        masses = run.fields["mass"][:reached, -1][before]
        drift = float(np.max(np.abs(masses / masses[0] - 1))) if masses[0] > 0 else 0.0
        return Trajectory(
            fields=fields,
            scalars=scalars,
            verification={"constraint_residual": residual, "mass_drift": drift if math.isfinite(drift) else math.inf},
        )
