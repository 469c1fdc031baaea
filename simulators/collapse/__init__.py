"""Critical collapse of a massless scalar field in spherical symmetry (Choptuik 1993), polar-areal coordinates.

The Einstein–Klein–Gordon system for ``ds² = -α² dt² + a² dr² + r² dΩ²`` evolves
``Φ = ∂_r φ`` and ``Π = (a/α) ∂_t φ`` by the method of lines (fourth-order
differences on a uniform or sinh-stretched radial grid, RK4), solving the
Hamiltonian constraint for ``a`` and the polar slicing condition for ``α`` at
every stage. A run ends when the field disperses or a black hole forms;
:func:`find_critical_amplitude`, :func:`mass_scaling` and :func:`echoing_period`
measure the critical behaviour (``M ∝ (p - p*)^γ``, echoes of period Δ).
Figures: :mod:`physml.plots.collapse` (matplotlib, Agg).

Examples
--------
>>> from physml.simulators.collapse import RadialGrid, evolve, gaussian_shell
>>> grid = RadialGrid(n=300, r_max=12.0, stretch=5.0)
>>> evolve(grid, gaussian_shell(amplitude=0.02, center=5.0, width=1.0), t_final=40.0).outcome
'dispersal'
>>> evolve(grid, gaussian_shell(amplitude=0.06, center=5.0, width=1.0), t_final=40.0).outcome
'black hole'
"""

from physml.simulators.collapse.convergence import ConvergenceStudy, convergence_order, convergence_study
from physml.simulators.collapse.critical import (
    REFERENCE_ECHOING_PERIOD,
    REFERENCE_GAMMA,
    CriticalSearch,
    EchoEstimate,
    MassScaling,
    echoing_period,
    find_critical_amplitude,
    mass_scaling,
)
from physml.simulators.collapse.grid import RadialGrid
from physml.simulators.collapse.initial import DIRECTIONS, PROFILES, ShellData, gaussian_shell, tanh_shell
from physml.simulators.collapse.metric import hamiltonian_residual, mass_function, solve_metric
from physml.simulators.collapse.refinement import Refinement
from physml.simulators.collapse.run import FIELDS, CollapseRun, Detection, check_resolution, evolve

__all__ = [
    "DIRECTIONS",
    "FIELDS",
    "PROFILES",
    "REFERENCE_ECHOING_PERIOD",
    "REFERENCE_GAMMA",
    "CollapseRun",
    "ConvergenceStudy",
    "CriticalSearch",
    "Detection",
    "EchoEstimate",
    "MassScaling",
    "RadialGrid",
    "Refinement",
    "ShellData",
    "check_resolution",
    "convergence_order",
    "convergence_study",
    "echoing_period",
    "evolve",
    "find_critical_amplitude",
    "gaussian_shell",
    "hamiltonian_residual",
    "mass_function",
    "mass_scaling",
    "solve_metric",
    "tanh_shell",
]
