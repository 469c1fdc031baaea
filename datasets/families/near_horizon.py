"""The ``near_horizon`` family: pulses scattering off a Schwarzschild hole, as ψ(t, r*) or as field maps.

``ndim = 1`` stores one multipole's master function ψ(t, r*) on a window of the
tortoise coordinate with the potential V(r*) beside it, and the waveforms at the
extraction radii as scalar series. ``ndim = 2`` sums multipoles ``l = s .. l_max``
of a pulse localised in angle into maps of the meridional plane (see
:mod:`physml.simulators.near_horizon.field_map`), with the horizon mask.

Every trajectory is also run at twice the grid spacing: the difference,
divided by 2⁴ - 1 for the fourth-order scheme, estimates the stored field's
discretisation error (Richardson), which is one of the checks.

``scheme: double-null`` (1D) evolves with the characteristic integrator instead and stores ψ at
the extraction radii only (:mod:`~physml.datasets.families.near_horizon_null`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory, integer_parameter
from physml.datasets.families.near_horizon_images import render_set_up
from physml.datasets.families.near_horizon_null import simulate_null, snap_to_diagonals
from physml.datasets.families.near_horizon_words import near_horizon_caption
from physml.simulators.near_horizon import (
    DIRECTIONS,
    EQUATIONS,
    SCHEMES,
    Perturbation,
    Snapshots,
    angular_amplitudes,
    check_resolution,
    evolve,
    field_map,
    gaussian_pulse,
    snapshot_grid,
    tortoise,
)
from physml.simulators.near_horizon.method_of_lines import interpolation_stencil

__all__ = ["NearHorizonFamily"]

#: Inner end of the r* window that 2D maps read (pixels nearer the horizon read its value; see field_map).
MAP_INNER_R_STAR = -40.0


class NearHorizonFamily(Family):
    """Regge–Wheeler / Zerilli evolution (method of lines, order 4) of Gaussian pulses."""

    name = "near_horizon"
    dataset_name = "near_horizon"
    description = "Gaussian pulses scattering off Schwarzschild black holes: psi(t, r*) (1D) or field maps (2D)"
    parameters: ClassVar[dict[str, ParameterSpec]] = {
        "ndim": ParameterSpec("ndim", "1", "1: psi(t, r*) of one multipole; 2: meridional-plane maps", 1, shared=True),
        "scheme": ParameterSpec(
            "scheme",
            "1",
            "mol (order 4) or double-null (order 2, 1D: psi at extract_at only)",
            "mol",
            tuple(SCHEMES),
            shared=True,
        ),
        "h": ParameterSpec("h", "M", "grid spacing in r* of the evolution (time step 0.5 h)", 0.1, shared=True),
        "r_star_min": ParameterSpec("r_star_min", "M", "inner end of the stored r* window (1D)", -50.0, shared=True),
        "r_star_max": ParameterSpec("r_star_max", "M", "outer end of the stored r* window (1D)", 150.0, shared=True),
        "stride": ParameterSpec("stride", "1", "store every stride-th grid point (1D)", 4, shared=True),
        "extract_at": ParameterSpec(
            "extract_at",
            "M",
            "r* of the extracted waveforms (1D, list)",
            [-20.0, 10.0, 100.0],
            shared=True,
            sequence=True,
        ),
        "extent": ParameterSpec("extent", "M", "maps cover [-extent, extent]^2 (2D)", 30.0, shared=True),
        "pixels": ParameterSpec("pixels", "1", "map pixels per side (2D)", 64, shared=True),
        "s": ParameterSpec(
            "s", "1", "spin of the field: 0 scalar, 1 electromagnetic, 2 gravitational", 2, integer=True
        ),
        "l": ParameterSpec("l", "1", "multipole index, l >= s (1D; default 2)", None, integer=True),
        "l_max": ParameterSpec("l_max", "1", "highest multipole of the map, l = s .. l_max (2D)", None, integer=True),
        "equation": ParameterSpec(
            "equation", "1", "perturbation equation (zerilli: s = 2 only)", "regge-wheeler", EQUATIONS
        ),
        "mass": ParameterSpec("mass", "M", "black-hole mass (the unit of the grid: keep it near 1)", 1.0),
        "center": ParameterSpec("center", "M", "pulse centre in r* at t = 0", 30.0),
        "width": ParameterSpec("width", "M", "pulse width (Gaussian standard deviation in r*)", 3.0),
        "amplitude": ParameterSpec("amplitude", "1", "pulse amplitude", 1.0),
        "direction": ParameterSpec("direction", "1", "how the pulse moves at t = 0", "ingoing", DIRECTIONS),
        "theta0": ParameterSpec("theta0", "rad", "polar angle the pulse is centred on (2D)", None),
        "theta_width": ParameterSpec("theta_width", "1", "angular width of the pulse, in cos(theta) (2D)", None),
    }
    checks: ClassVar[dict[str, Check]] = {
        "energy_drift": Check(
            "energy_drift",
            1e-5,
            "max_t |E(t)/E(0) - 1| of the energy the scheme conserves, on the whole domain: RK4's time-step "
            "error (falls as dt^5); 1e-5 of energy is ~5e-6 of amplitude, well inside the 1e-4 discretisation check "
            "(0 for the double-null scheme, whose null slices carry no such energy)",
        ),
        "discretisation_error": Check(
            "discretisation_error",
            1e-4,
            "max |psi_h - psi_2h| / 15 over the stored field, relative to max |psi_h|: Richardson estimate of "
            "the 4th-order scheme's error (/ 3 over the waveforms for the 2nd-order double-null scheme)",
        ),
    }

    _ONE_D = ("r_star_min", "r_star_max", "stride", "extract_at", "l")
    _TWO_D = ("extent", "pixels", "l_max", "theta0", "theta_width")

    # -- parameters ----------------------------------------------------------
    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        ndim = params["ndim"]
        if ndim not in (1, 2):
            raise ValueError(f"ndim = {ndim!r} is invalid: must be 1 (psi(t, r*)) or 2 (field maps)")
        given = [k for k in (("l_max", "theta0", "theta_width") if ndim == 1 else ("l",)) if params[k] is not None]
        if given:
            raise ValueError(
                f"parameters {given} do not apply to ndim = {ndim}: "
                + (
                    "l_max, theta0, theta_width are for field maps (ndim = 2)"
                    if ndim == 1
                    else "maps sum l = s .. l_max"
                )
            )
        params = dict(params)
        if ndim == 1:
            params["l"] = 2 if params["l"] is None else params["l"]
        else:
            params["l_max"] = 8 if params["l_max"] is None else params["l_max"]
            params["theta0"] = 0.0 if params["theta0"] is None else params["theta0"]
            params["theta_width"] = 0.3 if params["theta_width"] is None else params["theta_width"]
        params["s"] = integer_parameter("s", params["s"])
        if params["scheme"] not in SCHEMES:
            raise ValueError(f"scheme = {params['scheme']!r} is invalid: choose one of {', '.join(SCHEMES)}")
        if params["scheme"] == "double-null" and (ndim != 1 or params["direction"] == "time-symmetric"):
            raise ValueError(
                f"scheme = 'double-null' is invalid with ndim = {ndim}, direction = {params['direction']!r}: it "
                "stores psi(t, r*) at extract_at (ndim = 1) of an ingoing or outgoing pulse; use scheme = 'mol'"
            )
        if ndim == 1:
            params["l"] = integer_parameter("l", params["l"])
            perturbations = [self.perturbation(params, params["l"])]
            Snapshots(
                params["r_star_min"],
                params["r_star_max"],
                n_saves=1,
                stride=integer_parameter("stride", params["stride"]),
            )
            extract = params["extract_at"]
            extract = list(extract) if isinstance(extract, list | tuple) else [extract]
            if not extract or not all(math.isfinite(x) for x in extract):
                raise ValueError(f"extract_at = {params['extract_at']!r} is invalid: need finite r* values")
            params["extract_at"] = [float(x) for x in extract]
            if params["scheme"] == "double-null":
                params["extract_at"] = snap_to_diagonals(params["extract_at"], params["h"])
        else:
            params["l_max"] = integer_parameter("l_max", params["l_max"])
            params["pixels"] = integer_parameter("pixels", params["pixels"])
            angular_amplitudes(params["s"], params["l_max"], theta0=params["theta0"], theta_width=params["theta_width"])
            perturbations = [self.perturbation(params, ell) for ell in range(params["s"], params["l_max"] + 1)]
            if not params["extent"] > 2 * params["mass"]:
                raise ValueError(f"extent = {params['extent']!r} is invalid: must exceed the horizon radius 2M")
        pulse = self.pulse(params)
        for perturbation in perturbations:
            check_resolution(perturbation, params["h"], pulse)
            try:  # the run at 2h (the Richardson error estimate) must resolve the barrier too
                check_resolution(perturbation, 2 * params["h"], pulse)
            except ValueError as exc:
                raise ValueError(
                    f"h = {params['h']!r} is invalid: the error estimate reruns at 2h, and {exc}"
                ) from None
        if times is not None:
            if times[0] != 0:
                raise ValueError(f"time starts at {times[0]!r}: this family starts every run at t = 0")
            steps = np.diff(times)
            if not np.allclose(steps, steps[0], rtol=1e-9, atol=0):
                raise ValueError("times are invalid: this family saves at uniform intervals")
        return params

    @staticmethod
    def perturbation(params: Mapping[str, Any], ell: int) -> Perturbation:
        return Perturbation(s=params["s"], l=ell, mass=params["mass"], equation=params["equation"])

    @staticmethod
    def pulse(params: Mapping[str, Any], amplitude: float = 1.0):
        return gaussian_pulse(
            center=params["center"],
            width=params["width"],
            amplitude=amplitude * params["amplitude"],
            direction=params["direction"],
        )

    # -- text and images ---------------------------------------------------------
    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """The perturbation, the hole and the pulse in words (:mod:`~physml.datasets.families.near_horizon_words`)."""
        return near_horizon_caption(params, rng)

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("potential", "initial_psi") if params["ndim"] == 1 else ("initial_phi", "outside")

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """The set-up at t = 0, two channels.

        1D: columns span the stored window ``[r_star_min, r_star_max]``; channel 0 is the
        area under ``V(r*)`` (rows uniform in ``sqrt(V)``, see ``IMAGE_POTENTIAL_MAX``),
        channel 1 the area under the initial pulse ``psi(0, r*)`` on ``[-IMAGE_PSI_MAX, IMAGE_PSI_MAX]``.
        2D: columns along x and rows along z at ``linspace(-extent, extent, n)`` (the stored
        axes when ``n = pixels``); channel 0 is ``Phi(0) = sum_l a_l f(r*) Y_l0 / r``, the
        first stored frame, on ``IMAGE_PHI_MAX`` (0.5 is zero), channel 1 is 1 outside the horizon.
        The ranges are in :mod:`~physml.datasets.families.near_horizon_images`.
        """
        return render_set_up(self, params, size=size)

    # -- layout and simulation -----------------------------------------------
    @staticmethod
    def waveform_name(r_star: float) -> str:
        """Scalar name of the waveform at ``r_star``, e.g. ``psi_at_m20M`` for r* = -20 M."""
        return f"psi_at_{r_star:g}M".replace("-", "m").replace(".", "p")

    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        if params["scheme"] == "double-null":
            return Layout(
                axes={"r_star": np.array(params["extract_at"], dtype=np.float64)},
                fields=(
                    FieldSpec("psi", "1", "master function psi_l(t, r*) at the extraction radii (double null)"),
                    FieldSpec("potential", "1/M^2", "potential V(r*)", time_varying=False),
                ),
                scalars=tuple(self.waveform_name(x) for x in params["extract_at"]),
                bc_type="open",
            )
        if params["ndim"] == 1:
            grid = snapshot_grid(self._snapshots(params, times), params["h"])
            return Layout(
                axes={"r_star": grid},
                fields=(
                    FieldSpec("psi", "1", "master function psi_l(t, r*) (Regge-Wheeler or Zerilli)"),
                    FieldSpec("potential", "1/M^2", "potential V(r*)", time_varying=False),
                ),
                scalars=(*(self.waveform_name(x) for x in params["extract_at"]), "energy"),
                bc_type="open",
            )
        axis = np.linspace(-params["extent"], params["extent"], params["pixels"])
        return Layout(
            axes={"x": axis, "z": axis},
            fields=(
                FieldSpec("phi", "1/M", "sum_l psi_l(t, r) Y_l0(theta) / r on the meridional plane (0 inside r = 2M)"),
                FieldSpec("outside", "1", "1 outside the horizon, 0 inside", time_varying=False),
            ),
            scalars=("energy",),
            bc_type="open",
        )

    @staticmethod
    def _snapshots(params: Mapping[str, Any], times: np.ndarray) -> Snapshots:
        if params["ndim"] == 1:
            return Snapshots(
                params["r_star_min"], params["r_star_max"], n_saves=len(times) - 1, stride=params["stride"]
            )
        mass = params["mass"]
        outer = float(tortoise(math.sqrt(2.0) * params["extent"], mass)) + 4 * params["h"]
        return Snapshots(MAP_INNER_R_STAR * mass, outer, n_saves=len(times) - 1)

    def _runs(
        self,
        params: Mapping[str, Any],
        times: np.ndarray,
        h: float,
        *,
        stride: int | None = None,
        progress: bool = False,
    ) -> list:
        snapshots = self._snapshots(params, times)
        if stride is not None:
            snapshots = Snapshots(snapshots.r_star_min - 4 * h, snapshots.r_star_max + 4 * h, snapshots.n_saves, stride)
        if params["ndim"] == 1:
            ells, amplitudes = [params["l"]], [1.0]
            extract = params["extract_at"]
        else:
            weights = angular_amplitudes(
                params["s"], params["l_max"], theta0=params["theta0"], theta_width=params["theta_width"]
            )
            ells, amplitudes, extract = list(weights), list(weights.values()), [0.0]
        return [
            evolve(
                self.perturbation(params, ell),
                self.pulse(params, a),
                t_final=float(times[-1]),
                extract_at=extract,
                h=h,
                snapshots=snapshots,
                progress=progress,
            )
            for ell, a in zip(ells, amplitudes)
        ]

    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        if params["scheme"] == "double-null":
            return simulate_null(self, params, times, progress=progress)
        runs = self._runs(params, times, params["h"], progress=progress)
        coarse = self._runs(params, times, 2 * params["h"], stride=1)
        energy = sum(run.energy for run in runs)
        drift = max(float(np.max(np.abs(run.energy / run.energy[0] - 1))) for run in runs)
        if params["ndim"] == 1:
            run, rough = runs[0], coarse[0]
            # The coarse run read at the stored points (6th-order interpolation, well below the scheme's error).
            index, weight = interpolation_stencil(rough.snapshot_r_star, run.snapshot_r_star)
            field = run.snapshots
            error = np.max(np.abs(field - np.einsum("tps,ps->tp", rough.snapshots[:, index], weight))) / 15
            sample = np.round(times / (run.t[1] - run.t[0])).astype(np.int64)
            scalars = {self.waveform_name(x): run.waveforms[o, sample] for o, x in enumerate(params["extract_at"])}
            fields = {"psi": field, "potential": run.perturbation.potential_at(run.snapshot_r_star)}
        else:
            maps = field_map(runs, extent=params["extent"], n=params["pixels"])
            rough = field_map(coarse, extent=params["extent"], n=params["pixels"])
            field = maps.values
            error = np.max(np.abs(maps.values - rough.values)) / 15
            scalars = {}
            fields = {"phi": field, "outside": maps.outside.astype(np.float64)}
        scalars["energy"] = energy
        scale = max(float(np.max(np.abs(field))), 1e-300)
        return Trajectory(
            fields=fields,
            scalars=scalars,
            verification={"energy_drift": drift, "discretisation_error": float(error / scale)},
        )
