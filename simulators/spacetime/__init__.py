"""Analytic spacetimes with curvature derived symbolically: Schwarzschild (four charts), Kerr(–Newman),
Reissner–Nordström, FLRW and de Sitter.

Each metric is a frozen dataclass that checks its parameters; its ``g_ab``, ``g^ab``,
Christoffel symbols, Riemann, Ricci and Einstein tensors, Ricci and Kretschmann scalars
are derived once per class and chart with sympy and evaluated on arrays of points
``(..., 4)`` by generated numpy code (:mod:`~physml.simulators.spacetime.curvature`).
Units: ``G = c = 1``.

Examples
--------
>>> import numpy as np
>>> from physml.simulators.spacetime import Kerr
>>> bh = Kerr(mass=1.0, spin=0.5)                      # Boyer-Lindquist (t, r, theta, phi)
>>> points = np.array([[0.0, 4.0, np.pi / 2, 0.0]])
>>> round(float(bh.kretschmann(points)[0] * 4.0**6 / 48), 12)  # 48 M²/r⁶ on the equator
1.0
"""

from physml.simulators.spacetime.curvature import QUANTITIES, Curvature, LineElement, derive
from physml.simulators.spacetime.finite_difference import finite_difference_christoffel
from physml.simulators.spacetime.flrw import FLRW, DeSitter
from physml.simulators.spacetime.friedmann import Friedmann
from physml.simulators.spacetime.geodesic_circular import (
    circular_orbit,
    circular_photon_orbit,
    isco_radius,
    isco_radius_numerical,
)
from physml.simulators.spacetime.geodesic_lensing import deflection_angle, periapsis_of_ray, schwarzschild_deflection
from physml.simulators.spacetime.geodesics import (
    CAPTURED,
    ESCAPED,
    FINISHED,
    UNFINISHED,
    BlackHole,
    Geodesic,
    initial_state,
    integrate_geodesic,
    state_from_velocity,
)
from physml.simulators.spacetime.kerr import Kerr, kerr_newman_kretschmann, kerr_schild_radius
from physml.simulators.spacetime.metric import Metric
from physml.simulators.spacetime.orbits import (
    Precession,
    bound_orbit_constants,
    equatorial_precession,
    periapsis_precession,
    schwarzschild_precession,
    turning_points,
)
from physml.simulators.spacetime.schwarzschild import ReissnerNordstrom, Schwarzschild
from physml.simulators.spacetime.slices import MeridionalSlice, meridional_slice

__all__ = [
    "CAPTURED",
    "ESCAPED",
    "FINISHED",
    "FLRW",
    "QUANTITIES",
    "UNFINISHED",
    "BlackHole",
    "Curvature",
    "DeSitter",
    "Friedmann",
    "Geodesic",
    "Kerr",
    "LineElement",
    "MeridionalSlice",
    "Metric",
    "Precession",
    "ReissnerNordstrom",
    "Schwarzschild",
    "bound_orbit_constants",
    "circular_orbit",
    "circular_photon_orbit",
    "deflection_angle",
    "derive",
    "equatorial_precession",
    "finite_difference_christoffel",
    "initial_state",
    "integrate_geodesic",
    "isco_radius",
    "isco_radius_numerical",
    "kerr_newman_kretschmann",
    "kerr_schild_radius",
    "meridional_slice",
    "periapsis_of_ray",
    "periapsis_precession",
    "schwarzschild_deflection",
    "schwarzschild_precession",
    "state_from_velocity",
    "turning_points",
]
