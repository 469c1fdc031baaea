"""Errors raised by simulators when a run cannot go on."""

from __future__ import annotations

__all__ = ["UnstableRunError"]


class UnstableRunError(RuntimeError):
    """A run produced non-finite values or broke a stability condition.

    ``step`` is the index (from the start of the call that failed) of the
    first bad step and ``t`` the simulation time it was meant to reach.
    """

    def __init__(self, message: str, *, step: int, t: float) -> None:
        super().__init__(message)
        self.step = step
        self.t = t
