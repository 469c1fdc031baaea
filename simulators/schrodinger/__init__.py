"""Time-dependent Schrödinger equation in 1D and 2D, spectral in space.

``i hbar dpsi/dt = [-(hbar^2/2m) nabla^2 + V(x, t) - i W(x)] psi`` on a
periodic box, advanced by split-operator schemes (Strang, order 2; Yoshida
triple jump, order 4), with imaginary-time eigenstates, Gaussian packets,
a complex absorbing layer and the usual observables.

Examples
--------
>>> from physml.simulators import Grid
>>> from physml.simulators.schrodinger import SchrodingerSystem, Harmonic, gaussian_packet, simulate
>>> system = SchrodingerSystem(Grid(n=128, length=24.0), Harmonic(omega=1.0))
>>> psi0 = gaussian_packet(system.grid, center=3.0, width=2**-0.5)
>>> run = simulate(system, psi0, dt=0.01, t_final=1.0, n_saves=10)
>>> run.psi.shape
(11, 128)
"""

from physml.simulators.schrodinger.absorber import AbsorbingLayer
from physml.simulators.schrodinger.eigen import Eigenstates, apply_hamiltonian, eigenstates
from physml.simulators.schrodinger.initial import edge_amplitude, gaussian_packet, normalize, superpose
from physml.simulators.schrodinger.observables import observables
from physml.simulators.schrodinger.potentials import (
    POTENTIALS,
    ArrayPotential,
    DoubleWell,
    Driven,
    Free,
    FunctionPotential,
    GaussianBarrier,
    Harmonic,
    Lattice,
    Potential,
    SoftCoulomb,
    SquareBarrier,
    as_potential,
)
from physml.simulators.schrodinger.propagator import SplitOperator, make_stepper
from physml.simulators.schrodinger.run import SchrodingerRun, simulate
from physml.simulators.schrodinger.splitting import SCHEMES, STRANG, YOSHIDA4, SplittingScheme
from physml.simulators.schrodinger.system import SchrodingerState, SchrodingerSystem

__all__ = [
    "POTENTIALS",
    "SCHEMES",
    "STRANG",
    "YOSHIDA4",
    "AbsorbingLayer",
    "ArrayPotential",
    "DoubleWell",
    "Driven",
    "Eigenstates",
    "Free",
    "FunctionPotential",
    "GaussianBarrier",
    "Harmonic",
    "Lattice",
    "Potential",
    "SchrodingerRun",
    "SchrodingerState",
    "SchrodingerSystem",
    "SoftCoulomb",
    "SplitOperator",
    "SplittingScheme",
    "SquareBarrier",
    "apply_hamiltonian",
    "as_potential",
    "edge_amplitude",
    "eigenstates",
    "gaussian_packet",
    "make_stepper",
    "normalize",
    "observables",
    "simulate",
    "superpose",
]
