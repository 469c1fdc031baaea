"""Linear perturbations of Schwarzschild black holes: Regge–Wheeler / Zerilli evolution, waveforms, field maps.

Each multipole ``ψ_lm`` of a scalar (s = 0), electromagnetic (s = 1) or
gravitational (s = 2) perturbation of a Schwarzschild hole of mass ``M``
obeys ``-∂²ψ/∂t² + ∂²ψ/∂r*² - V(r) ψ = 0`` in the tortoise coordinate ``r*``.
Two integrators solve it: the Gundlach–Price–Pullin double-null scheme (order 2)
and a method of lines with fourth-order differences and RK4 (order 4). The
waveforms ring down in quasinormal modes (:func:`analyse_ringdown`) and decay in
Price tails (:func:`fit_power_law`); :func:`evolve_field_map` sums multipoles
into pictures of the field around the hole.

Examples
--------
>>> from physml.simulators.near_horizon import Perturbation, evolve, gaussian_pulse
>>> run = evolve(Perturbation(s=2, l=2), gaussian_pulse(center=30.0, width=3.0),
...              t_final=100.0, extract_at=[-20.0, 50.0], scheme="double-null", h=0.2)
>>> run.waveforms.shape[0]
2
"""

from physml.simulators.near_horizon.analysis import REFERENCE_QNMS, RingdownAnalysis, analyse_ringdown, reference_qnm
from physml.simulators.near_horizon.field_map import FieldMap, angular_amplitudes, evolve_field_map, field_map
from physml.simulators.near_horizon.initial import DIRECTIONS, Pulse, gaussian_pulse, pulse_train
from physml.simulators.near_horizon.leaver import leaver_qnm
from physml.simulators.near_horizon.potentials import (
    EQUATIONS,
    Perturbation,
    PotentialPeak,
    radius_from_tortoise,
    tortoise,
)
from physml.simulators.near_horizon.ringdown import (
    DampedSinusoidFit,
    QNMEstimate,
    fit_damped_sinusoids,
    qnm_from_ringdown,
)
from physml.simulators.near_horizon.run import (
    SCHEMES,
    NearHorizonRun,
    Snapshots,
    causal_domain,
    check_resolution,
    evolve,
    snapshot_grid,
)
from physml.simulators.near_horizon.tails import PowerLawFit, fit_power_law, local_power_index

__all__ = [
    "DIRECTIONS",
    "EQUATIONS",
    "REFERENCE_QNMS",
    "SCHEMES",
    "DampedSinusoidFit",
    "FieldMap",
    "NearHorizonRun",
    "Perturbation",
    "PotentialPeak",
    "PowerLawFit",
    "Pulse",
    "QNMEstimate",
    "RingdownAnalysis",
    "Snapshots",
    "analyse_ringdown",
    "angular_amplitudes",
    "causal_domain",
    "check_resolution",
    "evolve",
    "evolve_field_map",
    "field_map",
    "fit_damped_sinusoids",
    "fit_power_law",
    "gaussian_pulse",
    "leaver_qnm",
    "local_power_index",
    "pulse_train",
    "qnm_from_ringdown",
    "radius_from_tortoise",
    "reference_qnm",
    "snapshot_grid",
    "tortoise",
]
