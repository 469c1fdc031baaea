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
from physml.simulators.spacetime.kerr import Kerr, kerr_newman_kretschmann, kerr_schild_radius
from physml.simulators.spacetime.metric import Metric
from physml.simulators.spacetime.schwarzschild import ReissnerNordstrom, Schwarzschild
from physml.simulators.spacetime.slices import MeridionalSlice, meridional_slice

__all__ = [
    "FLRW",
    "QUANTITIES",
    "Curvature",
    "DeSitter",
    "Friedmann",
    "Kerr",
    "LineElement",
    "MeridionalSlice",
    "Metric",
    "ReissnerNordstrom",
    "Schwarzschild",
    "derive",
    "finite_difference_christoffel",
    "kerr_newman_kretschmann",
    "kerr_schild_radius",
    "meridional_slice",
]

# -- geodesics (owned by the geodesics helper; the lead wires these re-exports) -------------
# Imports from simulators/spacetime/geodesics.py and orbits.py go below this line, and their
# names into __all__ (e.g. ``__all__ += [...]``).
