"""The double-null scheme in the ``near_horizon`` family: ψ at the extraction radii, at the saved times.

The double-null integrator (Gundlach, Price & Pullin 1994, order 2) marches on null rays: it has
values only on its diagonals, every ``h`` in time, and only inside the quadrant of rays leaving the
pulse's support (:func:`~physml.simulators.near_horizon.evolve`). A stored trajectory therefore
keeps ψ at the extraction radii (the file's ``r_star`` axis) and

- widens the pulse's support (where the null data start; the profile is below e⁻⁵⁰ outside it) so
  that its centre ``r_c`` lies on the lattice ``2 h m``, and moves each radius onto the nearest
  point of that lattice: a diagonal that both the run at ``h`` and its Richardson check at ``2h``
  sample, so the two compare point by point, and the same radii for every trajectory of a file
  whatever its pulse (the file's ``r_star`` axis is shared);
- reads ψ at the saved times by cubic interpolation between the samples (error O(h⁴), below the
  scheme's O(h²)), and 0 before the quadrant reaches a radius: there the point lies outside the
  causal future of the pulse (cut off where it is below e⁻⁵⁰), where ψ vanishes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import CubicSpline

from physml.datasets.families.base import Trajectory
from physml.simulators.near_horizon import Pulse, evolve

if TYPE_CHECKING:
    from physml.datasets.families.near_horizon import NearHorizonFamily

__all__ = ["aligned_pulse", "null_error", "null_waveforms", "simulate_null", "snap_to_diagonals"]


def aligned_pulse(pulse: Pulse, h: float) -> Pulse:
    """``pulse`` with its support widened until the support's centre is a multiple of ``2 h``."""
    lo, hi = pulse.support
    center = 0.5 * (lo + hi)
    aligned = 2 * h * round(center / (2 * h))
    reach = 0.5 * (hi - lo) + abs(center - aligned)
    return dataclasses.replace(pulse, support=(aligned - reach, aligned + reach))


def snap_to_diagonals(extract_at: Sequence[float], h: float) -> list[float]:
    """The extraction radii moved to the nearest multiple of ``2 h``: the diagonals of an :func:`aligned_pulse`."""
    snapped = [2 * h * round(x / (2 * h)) for x in extract_at]
    if len(set(snapped)) < len(snapped):
        raise ValueError(
            f"extract_at = {list(extract_at)} is invalid for the double-null scheme: radii closer than 2h = {2 * h} "
            "fall on the same diagonal"
        )
    return snapped


def null_waveforms(t: np.ndarray, waveforms: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``(n_obs, n_times)``: the run's ``(n_obs, n_t)`` waveforms sampled at ``t`` (NaN before the quadrant),
    read at ``times``."""
    if times[-1] > t[-1]:
        raise ValueError(f"the double-null run ends at t = {t[-1]:.6g}, before the last save at {times[-1]:.6g}")
    reached = np.nan_to_num(waveforms, nan=0.0)  # outside the causal future of the pulse: psi = 0
    inside = times >= t[0]
    out = np.zeros((len(waveforms), len(times)))
    out[:, inside] = CubicSpline(t, reached, axis=1)(times[inside])
    return out


def null_error(fine_t: np.ndarray, fine: np.ndarray, coarse_t: np.ndarray, coarse: np.ndarray) -> float:
    """Richardson estimate ``max |ψ_h - ψ_2h| / (2² - 1)`` over the samples both runs hold, relative to ``max |ψ_h|``.

    ``coarse_t`` is every other sample of ``fine_t`` (both start at the corner of the quadrant).
    """
    n = min(len(coarse_t), (len(fine_t) + 1) // 2)
    if not np.allclose(fine_t[: 2 * n : 2], coarse_t[:n], rtol=0, atol=1e-9 * max(1.0, abs(coarse_t[n - 1]))):
        raise ValueError("the double-null runs at h and 2h do not share sample times")
    a, b = fine[:, : 2 * n : 2], coarse[:, :n]
    both = np.isfinite(a) & np.isfinite(b)
    scale = max(float(np.nanmax(np.abs(fine))), 1e-300)
    return float(np.max(np.abs(a - b)[both], initial=0.0) / 3 / scale)


def simulate_null(
    family: NearHorizonFamily, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False
) -> Trajectory:
    """A ``scheme: double-null`` trajectory: ψ at the extraction radii, with its Richardson error estimate."""
    perturbation, pulse = family.perturbation(params, params["l"]), aligned_pulse(family.pulse(params), params["h"])
    fine, coarse = (
        # Past the last save by two samples at 2h: the run's last sample is within h of t_final.
        evolve(perturbation, pulse, t_final=float(times[-1]) + 4 * params["h"], extract_at=params["extract_at"],
               scheme="double-null", h=h, progress=progress and h == params["h"])
        for h in (params["h"], 2 * params["h"])
    )  # fmt: skip
    psi = null_waveforms(fine.t, fine.waveforms, times)  # (n_obs, n_t)
    return Trajectory(
        fields={"psi": psi.T, "potential": perturbation.potential_at(fine.r_star)},
        scalars={family.waveform_name(x): psi[o] for o, x in enumerate(params["extract_at"])},
        verification={
            "energy_drift": 0.0,  # the null slices carry no conserved energy
            "discretisation_error": null_error(fine.t, fine.waveforms, coarse.t, coarse.waveforms),
        },
    )
