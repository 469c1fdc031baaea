"""The save loop of fixed-step simulators: advance a pure stepper a save interval at a time, keep each state.

The Schrödinger simulator runs through it (its ``SplitOperator`` is a scheme given as
data, :mod:`physml.simulators.schrodinger.splitting`). The other simulators own their
loops on purpose: the near-horizon method of lines samples waveforms at every step
inside one fused Numba kernel, the double-null scheme marches characteristics rather
than time levels, critical collapse checks horizon and dispersal events after every
step and regrids, and geodesics step adaptively (:mod:`physml.kernels.dop853`).
Routing those through this loop would cost their speed or their event handling.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol, TypeVar

from physml.progress import progress as progress_display
from physml.simulators.limits import check_steps

__all__ = ["Stepper", "rollout", "steps_per_save"]

S = TypeVar("S")


class Stepper(Protocol[S]):
    """Anything that advances a state: ``advance(state, dt, n_steps) -> state`` (pure)."""

    def advance(self, state: S, dt: float, n_steps: int) -> S: ...


def steps_per_save(*, dt: float, t_final: float, n_saves: int) -> int:
    """Steps between saves so that ``n_saves`` equal intervals reach ``t_final``.

    Raises ``ValueError`` unless ``dt`` divides ``t_final / n_saves`` (to 1e-9 relative).
    """
    if not (math.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final = {t_final!r} is invalid: must be finite and > 0")
    if int(n_saves) != n_saves or n_saves < 1:
        raise ValueError(f"n_saves = {n_saves!r} is invalid: must be an integer >= 1")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt = {dt!r} is invalid: must be finite and > 0")
    check_steps(t_final / dt, what=f"t_final = {t_final!r} with dt = {dt!r}")
    ratio = t_final / (n_saves * dt)
    steps = round(ratio)
    if steps < 1 or abs(ratio - steps) > 1e-9 * ratio:
        raise ValueError(
            f"dt = {dt!r} is invalid: it must divide the save interval t_final / n_saves = "
            f"{t_final / n_saves!r} into a whole number of steps (got {ratio:.6g})"
        )
    return steps


def rollout(
    stepper: Stepper[S],
    state: S,
    *,
    dt: float,
    n_saves: int,
    steps_between: int,
    on_save: Callable[[int, S], None] | None = None,
    progress: bool = False,
    desc: str = "simulating",
) -> list[S]:
    """Advance ``state`` and keep it every ``steps_between`` steps.

    Parameters
    ----------
    stepper
        Provides ``advance(state, dt, n_steps)``.
    state
        Initial state (saved as entry 0).
    dt
        Step size.
    n_saves
        Number of saves after the initial one.
    steps_between
        Steps between consecutive saves.
    on_save
        Called as ``on_save(index, state)`` for every saved state, e.g. to measure observables.
    progress
        Show a progress bar counting steps.

    Returns
    -------
    list
        ``n_saves + 1`` states, the first being ``state``.
    """
    saved = [state]
    if on_save is not None:
        on_save(0, state)
    total = n_saves * steps_between
    with progress_display(total=total, desc=desc, unit="step", enabled=progress, leave=False) as bar:
        for index in range(1, n_saves + 1):
            state = stepper.advance(state, dt, steps_between)
            saved.append(state)
            if on_save is not None:
                on_save(index, state)
            bar.update(steps_between)
    return saved
