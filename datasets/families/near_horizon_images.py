"""Pictures of a ``near_horizon`` trajectory's set-up (the family's image modality)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import eval_legendre

from physml.datasets.raster import check_size, column_points, fill_below, scale_to_unit, signed_to_unit
from physml.simulators.near_horizon import angular_amplitudes, tortoise

if TYPE_CHECKING:
    from physml.datasets.families.near_horizon import NearHorizonFamily

__all__ = ["IMAGE_PHI_MAX", "IMAGE_POTENTIAL_MAX", "IMAGE_PSI_MAX", "render_set_up"]

#: Images of V(r*) have rows uniform in sqrt(V) on [0, sqrt(IMAGE_POTENTIAL_MAX)] (V in 1/M^2 of the grid unit):
#: sqrt(V) is the frequency scale of the barrier, and an l = 0 barrier (peak 0.025) stays visible beside l = 4 (0.74).
IMAGE_POTENTIAL_MAX = 1.25
#: Images of the initial pulse psi(0, r*) cover [-IMAGE_PSI_MAX, IMAGE_PSI_MAX].
IMAGE_PSI_MAX = 1.5
#: Images of the initial map Phi(0, x, z) map [-IMAGE_PHI_MAX, IMAGE_PHI_MAX] to [0, 1] (0.5 is Phi = 0).
IMAGE_PHI_MAX = 0.15


def render_set_up(family: NearHorizonFamily, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
    """:meth:`NearHorizonFamily.render <physml.datasets.families.near_horizon.NearHorizonFamily.render>`."""
    height, width = check_size(size)
    pulse = family.pulse(params)
    if params["ndim"] == 1:
        r_star = column_points(params["r_star_min"], params["r_star_max"], width)
        potential = family.perturbation(params, int(params["l"])).potential_at(r_star)
        root = np.sqrt(np.maximum(potential, 0.0))
        return np.stack([
            fill_below(root, low=0.0, high=float(np.sqrt(IMAGE_POTENTIAL_MAX)), height=height),
            fill_below(pulse.values(r_star), low=-IMAGE_PSI_MAX, high=IMAGE_PSI_MAX, height=height),
        ])  # fmt: skip
    mass, extent = params["mass"], params["extent"]
    x, z = np.meshgrid(np.linspace(-extent, extent, width), np.linspace(-extent, extent, height))  # (H, W)
    radius = np.hypot(x, z)
    outside = radius > 2 * mass
    weights = angular_amplitudes(
        int(params["s"]), int(params["l_max"]), theta0=params["theta0"], theta_width=params["theta_width"]
    )
    cos_theta = z[outside] / radius[outside]
    angular = sum(
        a * math.sqrt((2 * ell + 1) / (4 * math.pi)) * eval_legendre(ell, cos_theta) for ell, a in weights.items()
    )
    phi = np.zeros((height, width))
    phi[outside] = pulse.values(tortoise(radius[outside], mass)) * angular / radius[outside]
    return np.stack([signed_to_unit(phi, IMAGE_PHI_MAX), scale_to_unit(outside, 0.0, 1.0)])
