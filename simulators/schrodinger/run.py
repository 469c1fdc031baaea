"""Run a Schrödinger simulation and collect fields and observables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physml.simulators.rollout import rollout, steps_per_save
from physml.simulators.schrodinger.observables import observables
from physml.simulators.schrodinger.propagator import SplitOperator
from physml.simulators.schrodinger.splitting import SplittingScheme
from physml.simulators.schrodinger.system import SchrodingerState, SchrodingerSystem

__all__ = ["SchrodingerRun", "simulate"]


@dataclass(frozen=True)
class SchrodingerRun:
    """Saved trajectory of a Schrödinger simulation.

    Attributes
    ----------
    system
        The simulated system.
    t
        ``(n_saves + 1,)`` save times.
    psi
        ``(n_saves + 1, *grid.shape)`` complex128 wave functions.
    observables
        Name -> ``(n_saves + 1,)`` float64 series (see :func:`observables`).
    dt, scheme
        Step size and splitting scheme name.
    """

    system: SchrodingerSystem
    t: np.ndarray
    psi: np.ndarray
    observables: dict[str, np.ndarray]
    dt: float
    scheme: str


def simulate(
    system: SchrodingerSystem,
    psi0: np.ndarray,
    *,
    dt: float,
    t_final: float,
    n_saves: int = 100,
    scheme: str | SplittingScheme = "strang",
    t0: float = 0.0,
    progress: bool = False,
    fft_threads: int | None = None,
    fft_measure: bool | None = None,
) -> SchrodingerRun:
    """Evolve ``psi0`` from ``t0`` to ``t0 + t_final``, saving ``n_saves + 1`` snapshots.

    ``dt`` must divide ``t_final / n_saves``. ``fft_threads`` and
    ``fft_measure`` go to :class:`SplitOperator` (``fft_measure=False`` makes
    runs bit-reproducible across processes). Raises ``ValueError`` on invalid
    input and :class:`~physml.simulators.UnstableRunError` if values blow up.
    """
    psi0 = np.asarray(psi0, dtype=np.complex128)
    if psi0.shape != system.grid.shape:
        raise ValueError(f"psi0 has shape {psi0.shape}, grid needs {system.grid.shape}")
    if not np.all(np.isfinite(psi0)):
        raise ValueError("psi0 is invalid: it contains non-finite values")
    steps = steps_per_save(dt=dt, t_final=t_final, n_saves=n_saves)
    stepper = SplitOperator(system, scheme, fft_threads=fft_threads, fft_measure=fft_measure)
    measured: list[dict[str, float]] = []

    def record(index: int, state: SchrodingerState) -> None:
        measured.append(observables(system, state.psi, state.t))

    states = rollout(
        stepper,
        SchrodingerState(psi0, t0),
        dt=dt,
        n_saves=n_saves,
        steps_between=steps,
        on_save=record,
        progress=progress,
        desc="schrodinger",
    )
    return SchrodingerRun(
        system=system,
        t=np.array([s.t for s in states]),
        psi=np.stack([s.psi for s in states]),
        observables={name: np.array([m[name] for m in measured]) for name in measured[0]},
        dt=float(dt),
        scheme=stepper.scheme.name,
    )
