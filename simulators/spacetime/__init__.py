"""Analytic spacetimes with curvature derived symbolically: Schwarzschild (four charts), Kerr(–Newman),
Reissner–Nordström, FLRW and de Sitter; Kerr's closed-form orbits and its geodesics.

Each metric is a frozen dataclass that checks its parameters; its ``g_ab``, ``g^ab``,
Christoffel symbols, Riemann, Ricci and Einstein tensors, Ricci and Kretschmann scalars
are derived once per class and chart with sympy and evaluated on arrays of points
``(..., 4)`` by generated numpy code (:mod:`~physml.simulators.spacetime.curvature`).
Units: ``G = c = 1``. :class:`Kerr` is physml's one black-hole type (``spin = a/M``,
``charge = Q/M``): the metric, the hole of the geodesics and orbit formulas, and the hole
the ray tracer (:mod:`physml.simulators.bh_images`) images. ``BlackHole`` is a deprecated
alias of ``Kerr``, removed in the next release. Names are imported on first use, so the ray
tracer's ``Kerr`` loads neither the geodesics, FLRW nor sympy (only Numba, for the orbit kernels).

Examples
--------
>>> import numpy as np
>>> from physml.simulators.spacetime import Kerr, isco_radius
>>> bh = Kerr(mass=1.0, spin=0.5)                      # Boyer-Lindquist (t, r, theta, phi)
>>> points = np.array([[0.0, 4.0, np.pi / 2, 0.0]])
>>> round(float(bh.kretschmann(points)[0] * 4.0**6 / 48), 12)  # 48 M²/r⁶ on the equator
1.0
>>> round(isco_radius(bh), 6), round(isco_radius(bh, prograde=False), 6)
(4.233003, 7.554585)
"""

from typing import TYPE_CHECKING

from physml._lazy import lazy_exports

__all__ = [
    "CAPTURED",
    "ESCAPED",
    "FINISHED",
    "FLRW",
    "QUANTITIES",
    "UNFINISHED",
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
    "horizon_radius",
    "initial_state",
    "integrate_geodesic",
    "isco_radius",
    "isco_radius_numerical",
    "keplerian_omega",
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

_MODULES = {
    "curvature": ("QUANTITIES", "Curvature", "LineElement", "derive"),
    "finite_difference": ("finite_difference_christoffel",),
    "flrw": ("FLRW", "DeSitter"),
    "friedmann": ("Friedmann",),
    "geodesic_circular": ("isco_radius_numerical",),
    "geodesic_lensing": ("deflection_angle", "periapsis_of_ray", "schwarzschild_deflection"),
    "geodesics": (
        "CAPTURED",
        "ESCAPED",
        "FINISHED",
        "UNFINISHED",
        "Geodesic",
        "initial_state",
        "integrate_geodesic",
        "state_from_velocity",
    ),
    "kerr": ("Kerr", "kerr_newman_kretschmann", "kerr_schild_radius"),
    "kerr_orbits": ("circular_orbit", "circular_photon_orbit", "horizon_radius", "isco_radius", "keplerian_omega"),
    "metric": ("Metric",),
    "orbits": (
        "Precession",
        "bound_orbit_constants",
        "equatorial_precession",
        "periapsis_precession",
        "schwarzschild_precession",
        "turning_points",
    ),
    "schwarzschild": ("ReissnerNordstrom", "Schwarzschild"),
    "slices": ("MeridionalSlice", "meridional_slice"),
}
_TABLE = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}
_TABLE["BlackHole"] = f"{__name__}.geodesics"  # the deprecated alias of Kerr, not in __all__
__getattr__, __dir__ = lazy_exports(__name__, _TABLE)

if TYPE_CHECKING:
    from physml.simulators.spacetime.curvature import QUANTITIES, Curvature, LineElement, derive
    from physml.simulators.spacetime.finite_difference import finite_difference_christoffel
    from physml.simulators.spacetime.flrw import FLRW, DeSitter
    from physml.simulators.spacetime.friedmann import Friedmann
    from physml.simulators.spacetime.geodesic_circular import isco_radius_numerical
    from physml.simulators.spacetime.geodesic_lensing import (
        deflection_angle,
        periapsis_of_ray,
        schwarzschild_deflection,
    )
    from physml.simulators.spacetime.geodesics import (
        CAPTURED,
        ESCAPED,
        FINISHED,
        UNFINISHED,
        Geodesic,
        initial_state,
        integrate_geodesic,
        state_from_velocity,
    )
    from physml.simulators.spacetime.geodesics import BlackHole as BlackHole
    from physml.simulators.spacetime.kerr import Kerr, kerr_newman_kretschmann, kerr_schild_radius
    from physml.simulators.spacetime.kerr_orbits import (
        circular_orbit,
        circular_photon_orbit,
        horizon_radius,
        isco_radius,
        keplerian_omega,
    )
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
