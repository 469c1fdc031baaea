"""Expectation values measured on a wave function."""

from __future__ import annotations

import numpy as np

from physml.simulators.schrodinger.system import SchrodingerSystem

__all__ = ["observables"]


def observables(system: SchrodingerSystem, psi: np.ndarray, t: float = 0.0) -> dict[str, float]:
    """Norm, energy and moments of ``psi``.

    Returns
    -------
    dict
        ``norm`` = integral of ``|psi|^2``; ``energy`` = ``<psi|H|psi> / norm``
        with the Hermitian part of ``H`` (kinetic + ``V(t)``, absorber
        excluded); ``x_mean`` (``y_mean``) and ``px_mean`` (``py_mean``), each
        divided by the norm; ``r2_mean`` = ``<x^2 + y^2>`` in 2D; and
        ``transmitted`` = probability at ``x`` past the potential's
        transmission edge, when it has one (not divided by the norm).
    """
    grid = system.grid
    density = np.abs(psi) ** 2
    norm = float(grid.integrate(density))
    # Parseval: sum |psi_hat|^2 = N sum |psi|^2, so spectral means need 1/N.
    spectral = np.abs(np.fft.fftn(psi)) ** 2 / grid.size
    kinetic = float(np.sum(system.kinetic * spectral) * grid.cell_volume)
    potential = float(grid.integrate(system.potential_at(t) * density))
    result = {"norm": norm, "energy": (kinetic + potential) / norm}
    for name, x in zip("xy", grid.coords):
        result[f"{name}_mean"] = float(grid.integrate(x * density)) / norm
    for name, k in zip("xy", grid.wavenumbers):
        result[f"p{name}_mean"] = system.hbar * float(np.sum(k * spectral) * grid.cell_volume) / norm
    if grid.ndim == 2:
        result["r2_mean"] = float(grid.integrate(sum(x**2 for x in grid.coords) * density)) / norm
    edge = system.potential.transmission_edge()
    if edge is not None:
        result["transmitted"] = float(grid.integrate((grid.coords[0] > edge) * density))
    return result
