"""How much work one run may ask for, checked before it starts.

A duration of 1e300, a grid spacing of 1e-300 or 2^62 saves are valid floats and
integers, but no run on one machine can finish them: refused at once, with the
parameters that set the work, rather than left to run until killed or to fail
deep inside a kernel (an integer too large for Numba, a float that overflows).
"""

from __future__ import annotations

import math

__all__ = ["MAX_STEPS", "check_steps"]

#: The most time steps (or grid updates) a run may ask for: 10^12, about a year of CPU at a
#: microsecond per step. The longest physml runs (critical collapse near threshold) take ~10^6.
MAX_STEPS = 10**12


def check_steps(steps: float, *, what: str) -> int:
    """``steps`` as an integer if it is at most :data:`MAX_STEPS`; else ``ValueError`` naming ``what``.

    ``what`` names the parameters that set the count, e.g. ``"t_final = 1e300 with dt = 0.01"``.

    Examples
    --------
    >>> check_steps(1e6, what="t_final = 10 with dt = 1e-5")
    1000000
    """
    if not (math.isfinite(steps) and steps <= MAX_STEPS):
        raise ValueError(
            f"{what} is invalid: it asks for {steps:.3g} time steps, more than the {MAX_STEPS:.0e} a run may take"
        )
    return math.ceil(steps)
