"""The errors that stop a run which was valid to start: a simulation that blew up, a build whose trajectory failed.

They live here, importing nothing, so that the CLI can tell them apart from bad input without loading
the simulators or the dataset machinery (NumPy, h5py, joblib). ``physml.simulators.UnstableRunError``
and ``physml.datasets.BuildError`` are these classes.
"""

from __future__ import annotations

__all__ = ["BuildError", "UnstableRunError", "one_line"]


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, for a log or the CLI (HDF5's span several, as do arrays' reprs)."""
    return " ".join(str(exc).split())


class UnstableRunError(RuntimeError):
    """A run produced non-finite values or broke a stability condition.

    ``step`` is the index (from the start of the call that failed) of the
    first bad step and ``t`` the simulation time it was meant to reach.
    """

    def __init__(self, message: str, *, step: int, t: float) -> None:
        super().__init__(message)
        self.step = step
        self.t = t


class BuildError(RuntimeError):
    """A trajectory failed to simulate; the trajectories written so far are kept."""
