"""The field around the hole: multipoles summed into a picture of the meridional plane.

An axisymmetric perturbation is ``Φ(t, r, θ) = Σ_l ψ_l(t, r*) Y_l0(θ) / r``. On a
Cartesian grid ``(x, z)`` of the meridional plane (``x = r sin θ`` on either side
of the axis, ``z = r cos θ``) each pixel outside the horizon reads every
multipole's snapshot at its ``r*`` and adds them; pixels inside ``r = 2M`` are
masked. For s = 1, 2 the master functions ``ψ_l`` are not field components (those
need spin-weighted harmonics); the map is then a picture of the master functions
with the same angular weights, which is what the image-aware models are shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import eval_legendre

from physml.simulators.near_horizon.initial import gaussian_pulse
from physml.simulators.near_horizon.method_of_lines import interpolation_stencil
from physml.simulators.near_horizon.potentials import Perturbation, tortoise
from physml.simulators.near_horizon.run import NearHorizonRun, Snapshots, evolve

__all__ = ["FieldMap", "angular_amplitudes", "evolve_field_map", "field_map"]

#: Quadrature points in cos θ for projecting an angular profile on Y_l0 (Gauss–Legendre, exact to degree 2·96-1).
QUADRATURE_POINTS = 96


@dataclass(frozen=True, eq=False)
class FieldMap:
    """Snapshots of ``Φ`` on the meridional plane, with the horizon mask.

    Attributes
    ----------
    t, x, z
        ``(n_t,)`` times and ``(n,)`` pixel coordinates (units of M).
    values
        ``(n_t, n, n)`` ``Φ(t, x, z)``, indexed ``[t, x, z]``; 0 inside the horizon.
    outside
        ``(n, n)`` True where ``r = sqrt(x² + z²) > 2M``.
    """

    t: np.ndarray
    x: np.ndarray
    z: np.ndarray
    values: np.ndarray
    outside: np.ndarray


def angular_amplitudes(s: int, l_max: int, *, theta0: float, theta_width: float) -> dict[int, float]:
    """Projections ``a_l = ∫ A Y_l0 dΩ`` of ``A(θ) = exp(-(cos θ - cos θ0)² / (2 w²))``, ``l = s .. l_max``.

    A Gaussian in ``cos θ`` rather than in ``θ``: it is smooth at the poles (a Gaussian in
    ``θ`` has a cusp there unless it vanishes), so its Legendre series converges
    geometrically. ``theta0`` in [0, π] (radians); ``theta_width`` = ``w`` > 0 is a width in ``cos θ``.
    """
    if not (0 <= theta0 <= math.pi):
        raise ValueError(f"theta0 = {theta0!r} is invalid: must lie in [0, pi]")
    if not (math.isfinite(theta_width) and theta_width > 0):
        raise ValueError(f"theta_width = {theta_width!r} is invalid: must be finite and > 0")
    if int(l_max) != l_max or l_max < s:
        raise ValueError(f"l_max = {l_max!r} is invalid: need an integer >= s = {s}")
    mu, weight = np.polynomial.legendre.leggauss(QUADRATURE_POINTS)
    profile = np.exp(-((mu - math.cos(theta0)) ** 2) / (2 * theta_width**2))
    return {
        ell: float(
            2 * math.pi * np.sum(weight * profile * math.sqrt((2 * ell + 1) / (4 * math.pi)) * eval_legendre(ell, mu))
        )
        for ell in range(s, int(l_max) + 1)
    }


def field_map(runs: Sequence[NearHorizonRun], *, extent: float, n: int) -> FieldMap:
    """Sum the snapshots of ``runs`` (one per ``l``, same hole and save times) into meridional-plane maps.

    Parameters
    ----------
    runs
        Method-of-lines runs with snapshots, each of a different ``l`` and its amplitude already in the data.
    extent
        Half-width of the square ``[-extent, extent]²`` (units of M), > 2M.
    n
        Pixels per side (>= 8).
    """
    if not runs or any(len(run.snapshot_t) == 0 for run in runs):
        raise ValueError("runs are invalid: need one or more runs with snapshots (evolve(..., snapshots=...))")
    mass, spin = runs[0].perturbation.mass, runs[0].perturbation.s
    if any(
        run.perturbation.mass != mass
        or run.perturbation.s != spin
        or not np.array_equal(run.snapshot_t, runs[0].snapshot_t)
        for run in runs
    ):
        raise ValueError("runs are invalid: they must share the black-hole mass, the spin s and the snapshot times")
    ells = [run.perturbation.l for run in runs]
    if len(set(ells)) < len(ells):
        raise ValueError(f"runs are invalid: each multipole may appear once, got l = {ells}")
    if not (math.isfinite(extent) and extent > 2 * mass):
        raise ValueError(f"extent = {extent!r} is invalid: the map must reach outside the horizon, extent > 2M")
    if int(n) != n or n < 8:
        raise ValueError(f"n = {n!r} is invalid: need an integer >= 8 pixels per side")
    axis = np.linspace(-extent, extent, int(n))
    x, z = np.meshgrid(axis, axis, indexing="ij")
    radius = np.hypot(x, z)
    outside = radius > 2 * mass
    r_star = tortoise(radius[outside], mass)
    cos_theta = z[outside] / radius[outside]
    values = np.zeros((len(runs[0].snapshot_t), *x.shape))
    for run in runs:
        grid = run.snapshot_r_star
        if r_star.max() > grid[-1]:
            raise ValueError(
                f"extent = {extent!r} is invalid: the snapshots end at r* = {grid[-1]:.4g}, below the map's corner"
            )
        # Below the snapshots' inner end the pixel lies within ~2M e^(r*/2M - 1) of the horizon: read the end value.
        index, weight = interpolation_stencil(grid, np.clip(r_star, grid[0], grid[-1]))
        ell = run.perturbation.l
        angular = math.sqrt((2 * ell + 1) / (4 * math.pi)) * eval_legendre(ell, cos_theta) / radius[outside]
        values[:, outside] += np.einsum("tps,ps->tp", run.snapshots[:, index], weight) * angular
    return FieldMap(t=runs[0].snapshot_t, x=axis, z=axis, values=values, outside=outside)


def evolve_field_map(
    *,
    s: int,
    l_max: int,
    mass: float = 1.0,
    center: float,
    width: float,
    direction: str = "ingoing",
    theta0: float = 0.0,
    theta_width: float = 0.5,
    t_final: float,
    n_saves: int,
    extent: float,
    n: int,
    h: float = 0.1,
) -> tuple[FieldMap, list[NearHorizonRun]]:
    """Evolve a pulse ``G(r*) A(θ)`` (Gaussians in ``r*`` and in ``cos θ``) multipole by multipole and map it.

    Each ``l = s .. l_max`` evolves the radial Gaussian (``center``, ``width`` in ``r*``) with amplitude
    ``a_l`` from :func:`angular_amplitudes`; the maps are ``(n_saves + 1, n, n)``.
    """
    amplitudes = angular_amplitudes(s, l_max, theta0=theta0, theta_width=theta_width)
    r_star_max = float(tortoise(math.sqrt(2.0) * extent, mass)) + 2 * h
    runs = []
    for ell, amplitude in amplitudes.items():
        pulse = gaussian_pulse(center=center, width=width, amplitude=amplitude, direction=direction)
        snaps = Snapshots(r_star_min=-40.0 * mass, r_star_max=r_star_max, n_saves=n_saves)
        runs.append(
            evolve(Perturbation(s=s, l=ell, mass=mass), pulse, t_final=t_final, extract_at=[0.0], h=h, snapshots=snaps)
        )
    return field_map(runs, extent=extent, n=n), runs
