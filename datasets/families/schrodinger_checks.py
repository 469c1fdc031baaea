"""The verification figures of a ``schrodinger`` trajectory: conservation, box size, grid resolution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from physml.simulators.schrodinger import SchrodingerSystem

__all__ = ["EDGE_BAND", "TAIL_BAND", "verify"]

#: Width of the band at each box edge whose probability is monitored (fraction of the box length).
EDGE_BAND = 0.05
#: Wavenumbers above this fraction of the Nyquist wavenumber count as the spectral tail.
TAIL_BAND = 2 / 3


def verify(
    system: SchrodingerSystem,
    psi: np.ndarray,
    scalars: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
    *,
    box_periodic: bool = False,
) -> dict[str, float]:
    """The verification figures of one trajectory (``SchrodingerFamily.checks`` says what each measures).

    ``box_periodic``: ``V`` is periodic with the box, so that probability crossing the edge is physical.
    Under a drive (``system.potential.time_dependent``) or with an absorbing layer the energy, and with
    the layer the norm, are not conserved: those figures are then 0.
    """
    grid = system.grid
    norm, energy = scalars["norm"], scalars["energy"]
    zero_point = params["hbar"] ** 2 / (8 * params["mass"] * params["sigma"] ** 2)
    density = np.abs(psi) ** 2
    edge = np.zeros(len(psi))
    spectrum = np.abs(np.fft.fftn(psi, axes=tuple(range(1, grid.ndim + 1)))) ** 2
    tail = np.zeros(len(psi))
    for axis, (x, k) in enumerate(zip(grid.axes, grid.wavenumber_axes)):
        band = np.abs(x - x.min()) < EDGE_BAND * grid.length[axis]
        band |= np.abs(x - x.max()) < EDGE_BAND * grid.length[axis]
        shape = [1] * (grid.ndim + 1)
        shape[axis + 1] = -1
        edge = np.maximum(edge, np.sum(density * band.reshape(shape), axis=tuple(range(1, grid.ndim + 1))))
        high = (np.abs(k) > TAIL_BAND * np.pi / grid.dx[axis]).reshape(shape)
        tail = np.maximum(tail, np.sum(spectrum * high, axis=tuple(range(1, grid.ndim + 1))))
    total = np.sum(spectrum, axis=tuple(range(1, grid.ndim + 1)))
    absorbing, driven = system.absorber is not None, system.potential.time_dependent
    return {
        "norm_drift": 0.0 if absorbing else float(np.max(np.abs(norm / norm[0] - 1))),
        "energy_drift": 0.0
        if absorbing or driven
        else float(np.max(np.abs(energy - energy[0])) / max(abs(energy[0]), zero_point)),
        "edge_probability": 0.0 if box_periodic else float(np.max(edge) * grid.cell_volume),
        "spectral_tail": float(np.max(tail / total)),
    }
