"""Initial data for the perturbation equations: pulses as Cauchy data or as data on null rays."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DIRECTIONS", "Pulse", "gaussian_pulse", "pulse_train"]

#: How a pulse moves at t = 0: towards the hole, away from it, or at rest (∂tψ = 0, splits in two).
DIRECTIONS = ("ingoing", "outgoing", "time-symmetric")

#: Gaussians are cut off at this many widths from the centre, where they fall below e^-50 ≈ 2e-22.
GAUSSIAN_CUTOFF = 10.0


@dataclass(frozen=True)
class Pulse:
    """A profile ``f(r*)`` at ``t = 0`` and how it moves.

    ``ingoing``: ``ψ = f(r* + t)`` where ``V = 0``, so ``∂tψ = f'``;
    ``outgoing``: ``ψ = f(r* - t)``, ``∂tψ = -f'``;
    ``time-symmetric``: ``∂tψ = 0`` (the pulse splits into halves moving both ways).

    Parameters
    ----------
    profile
        ``f``: vectorised callable of ``r*`` returning float64 values.
    support
        ``(lo, hi)``: ``f`` is negligible (below ~1e-16 of its peak) outside this ``r*`` interval.
        It sizes the domain of the evolution.
    direction
        One of :data:`DIRECTIONS`.
    derivative
        ``f'``, optional; otherwise a fourth-order central difference with step 1e-3 (truncation
        ~3e-14 f⁽⁵⁾, round-off ~2e-13 max|f|).
    scale
        Smallest length over which ``f`` varies (a Gaussian's width), optional: when given, a grid
        must resolve it (``h <= scale / 4``).

    Examples
    --------
    >>> import numpy as np
    >>> bump = Pulse(lambda x: np.exp(-((x - 20) ** 2) / 8), support=(0.0, 40.0), direction="outgoing")
    >>> psi, pi = bump.cauchy(np.array([18.0, 20.0, 22.0]))
    >>> np.round(pi, 3).tolist() == [-0.303, 0.0, 0.303]
    True
    """

    profile: Callable[[np.ndarray], np.ndarray]
    support: tuple[float, float]
    direction: str = "time-symmetric"
    derivative: Callable[[np.ndarray], np.ndarray] | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction = {self.direction!r} is invalid: choose one of {', '.join(DIRECTIONS)}")
        lo, hi = (float(v) for v in self.support)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"support = {self.support!r} is invalid: need finite lo < hi")
        object.__setattr__(self, "support", (lo, hi))
        if self.scale is not None and not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale = {self.scale!r} is invalid: must be finite and > 0 (or None)")

    def values(self, r_star: np.ndarray) -> np.ndarray:
        """``f(r*)``, checked to be finite and of the right shape."""
        r_star = np.asarray(r_star, dtype=np.float64)
        f = np.asarray(self.profile(r_star), dtype=np.float64)
        if f.shape != r_star.shape or not np.all(np.isfinite(f)):
            raise ValueError("profile is invalid: it must return finite values shaped like its argument")
        return f

    def slope(self, r_star: np.ndarray) -> np.ndarray:
        """``f'(r*)``."""
        r_star = np.asarray(r_star, dtype=np.float64)
        if self.derivative is not None:
            slope = np.asarray(self.derivative(r_star), dtype=np.float64)
            if slope.shape != r_star.shape or not np.all(np.isfinite(slope)):
                raise ValueError("derivative is invalid: it must return finite values shaped like its argument")
            return slope
        d = 1e-3
        f = self.values
        return (f(r_star - 2 * d) - 8 * f(r_star - d) + 8 * f(r_star + d) - f(r_star + 2 * d)) / (12 * d)

    def cauchy(self, r_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(ψ, ∂tψ)`` at ``t = 0`` on the points ``r_star``."""
        psi = self.values(r_star)
        if self.direction == "time-symmetric":
            return psi, np.zeros_like(psi)
        sign = 1.0 if self.direction == "ingoing" else -1.0
        return psi, sign * self.slope(r_star)

    def null_data(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Characteristic data ``(ψ(u0, v), ψ(u, v0))`` on the rays ``u = u[0]`` and ``v = v[0]``.

        An ingoing pulse is ``f(v)`` on ``u = u0`` and an outgoing one ``f(-u)`` on
        ``v = v0`` (``u = t - r*``, ``v = t + r*``); the other ray carries the
        constant the pulse leaves there. Time-symmetric data are Cauchy data, which
        a characteristic scheme cannot take: ``ValueError``.
        """
        if self.direction == "time-symmetric":
            raise ValueError(
                "direction = 'time-symmetric' is invalid for the double-null scheme: it takes data on null rays; "
                "use scheme='mol' for Cauchy data, or an ingoing/outgoing pulse"
            )
        if self.direction == "ingoing":
            on_u0 = self.values(v)
            return on_u0, np.full(len(u), on_u0[0])
        on_v0 = self.values(-u)
        return np.full(len(v), on_v0[0]), on_v0


def gaussian_pulse(*, center: float, width: float, amplitude: float = 1.0, direction: str = "ingoing") -> Pulse:
    """``f(r*) = A exp(-(r* - c)² / (2 w²))`` moving in ``direction``.

    ``center`` and ``width`` are in units of length (M); ``width > 0``, finite values only.
    """
    for name, value in (("center", center), ("width", width), ("amplitude", amplitude)):
        if not (isinstance(value, int | float | np.integer | np.floating) and math.isfinite(value)):
            raise ValueError(f"{name} = {value!r} is invalid: must be a finite number")
    if width <= 0:
        raise ValueError(f"width = {width!r} is invalid: must be > 0")
    c, w, a = float(center), float(width), float(amplitude)
    if not c - GAUSSIAN_CUTOFF * w < c + GAUSSIAN_CUTOFF * w:  # float64 cannot tell the edges apart
        raise ValueError(f"center = {center!r}, width = {width!r} are invalid: the width is below center's precision")
    return Pulse(
        profile=lambda x: a * np.exp(-((x - c) ** 2) / (2 * w * w)),
        derivative=lambda x: -a * (x - c) / (w * w) * np.exp(-((x - c) ** 2) / (2 * w * w)),
        support=(c - GAUSSIAN_CUTOFF * w, c + GAUSSIAN_CUTOFF * w),
        direction=direction,
        scale=w,
    )


def pulse_train(pulses: Sequence[Pulse]) -> Pulse:
    """The sum of ``pulses`` that move the same way, as one pulse: e.g. a stream of shells falling in.

    The equations are linear, so one run of the train is the sum of the runs of its pulses; running it
    once costs one evolution instead of ``len(pulses)``. Its support is the hull of theirs and its scale
    the smallest of those given (``None`` if none is).
    """
    pulses = tuple(pulses)  # the profile reads these, whatever the caller does to its list later
    if not pulses:
        raise ValueError("pulses = [] is invalid: need at least one pulse")
    directions = {p.direction for p in pulses}
    if len(directions) > 1:
        raise ValueError(f"pulses are invalid: their directions {sorted(directions)} differ; a train moves one way")
    scales = [p.scale for p in pulses if p.scale is not None]
    return Pulse(
        profile=lambda x: sum(p.values(x) for p in pulses),
        derivative=lambda x: sum(p.slope(x) for p in pulses),
        support=(min(p.support[0] for p in pulses), max(p.support[1] for p in pulses)),
        direction=pulses[0].direction,
        scale=min(scales) if scales else None,
    )
