"""When a collapse run stops, and what it became: horizon, lapse collapse, dispersal.

See :mod:`physml.simulators.collapse.run` for the rules; :class:`Detection` holds
their thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FORMING", "TRAPPED", "Detection", "leaving", "trapped"]

#: At t_final without an event, ``(2m/r, central lapse)`` beyond which the run counts as a black hole:
#: large holes approach 2m/r = 1 only slowly in polar slicing, as their lapse freezes the evolution.
TRAPPED = (0.95, 1e-2)

#: Above this compactness a growing constraint residual is blamed on the forming horizon, not the scheme.
FORMING = 0.6


@dataclass(frozen=True)
class Detection:
    """When a run stops, and when it counts as broken (rules: :mod:`physml.simulators.collapse.run`).

    Parameters
    ----------
    horizon
        ``2m/r`` at which a black hole is declared, in (0, 1).
    lapse_floor
        Central lapse below which the interior is declared collapsed (>= 0).
    dispersal_ratio
        Stop once the inner compactness falls below this fraction of its peak; 0 disables.
    probe_radius
        Radius inside which the dispersal test looks; ``None``: half the shell radius (a quarter of
        ``r_max`` for data centred at the origin).
    max_residual
        Largest ``max_r |r H|`` (:func:`~physml.simulators.collapse.metric.hamiltonian_residual`) of a
        healthy run.
    """

    horizon: float = 0.99
    lapse_floor: float = 1e-10
    dispersal_ratio: float = 0.05
    probe_radius: float | None = None
    max_residual: float = 1e-2

    def __post_init__(self) -> None:
        if not 0 < self.horizon < 1:
            raise ValueError(f"horizon = {self.horizon!r} is invalid: the compactness 2m/r must be in (0, 1)")
        if not 0 <= self.lapse_floor < 1:
            raise ValueError(f"lapse_floor = {self.lapse_floor!r} is invalid: must be in [0, 1)")
        if not 0 <= self.dispersal_ratio < 1:
            raise ValueError(f"dispersal_ratio = {self.dispersal_ratio!r} is invalid: must be in [0, 1)")
        if self.probe_radius is not None and not self.probe_radius > 0:
            raise ValueError(f"probe_radius = {self.probe_radius!r} is invalid: must be > 0 (or None)")
        if not self.max_residual > 0:
            raise ValueError(f"max_residual = {self.max_residual!r} is invalid: must be > 0")


def trapped(final: dict[str, np.ndarray]) -> bool:
    """At ``t_final`` without an event: a large hole whose horizon creeps towards 2m/r = 1 (frozen lapse)?"""
    return bool(1.0 - 1.0 / np.max(final["a"]) ** 2 >= TRAPPED[0] and final["alpha"][0] < TRAPPED[1])


def leaving(final: dict[str, np.ndarray], probe: int, peak: float) -> bool:
    """At ``t_final`` without an event: has the inner compactness fallen to half its peak (field leaving)?"""
    a = final["a"][: probe + 1]
    return bool(1.0 - 1.0 / np.max(a) ** 2 < 0.5 * peak)
