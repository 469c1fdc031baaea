"""Initial data: one-parameter families of scalar-field shells, at rest or moving inward.

Two profiles, both even in ``r`` (smooth at the centre) and with ``φ(r0) = p``:

* ``gaussian``: the even extension of ``p exp(-((r - r0)/σ)²)``,
  ``φ = p [g(r - r0) + g(r + r0)] / [1 + g(2 r0)]`` with ``g(u) = exp(-(u/σ)²)``;
  for ``r0 ≫ σ`` it is the plain Gaussian shell to round-off.
* ``tanh``: a ball of radius ``r0`` with edges of width σ,
  ``φ = p [tanh((r + r0)/σ) - tanh((r - r0)/σ)] / [2 tanh(r0/σ)]`` (``p sech²(r/σ)`` at ``r0 = 0``);
  the energy density ``Φ²`` is a shell at ``r ≈ r0``.

Π is either 0 (time-symmetric: the shell splits into an ingoing and an outgoing
half) or ``Φ + φ/r`` (ingoing: ``rφ = u(r + t)`` in flat space, exactly ingoing
in the weak-field limit), which needs the shell to sit away from the centre.
Only Φ and Π enter the dynamics; φ is evolved alongside for the record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DIRECTIONS", "PROFILES", "ShellData", "gaussian_shell", "tanh_shell"]

#: Shapes of the initial shell.
PROFILES = ("gaussian", "tanh")

#: How the shell moves at t = 0.
DIRECTIONS = ("time-symmetric", "ingoing")

#: An ingoing shell needs ``center >= INGOING_CLEARANCE * width`` (φ at the centre below ~1e-15 p).
INGOING_CLEARANCE = 6.0


def _positive(name: str, value: float, *, allow_zero: bool) -> float:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} = {value!r} is invalid: must be finite and {bound}")
    return float(value)


@dataclass(frozen=True)
class ShellData:
    """A scalar-field shell ``φ(0, r)`` with ``Π(0, r)`` (the initial data of one collapse run).

    Parameters
    ----------
    profile
        ``"gaussian"`` or ``"tanh"`` (see the module docstring).
    amplitude
        ``p >= 0``: the family parameter that bisection tunes (``φ(r0) = p``).
    center
        ``r0 >= 0``: radius of the shell.
    width
        ``σ > 0``: its thickness.
    direction
        ``"time-symmetric"`` (Π = 0) or ``"ingoing"`` (Π = Φ + φ/r; needs ``r0 >= 6σ``).

    Examples
    --------
    >>> d = gaussian_shell(amplitude=0.1, center=5.0, width=1.0)
    >>> phi, Phi, Pi = d.fields(np.array([0.0, 5.0]))
    >>> round(float(phi[1]), 12), float(Phi[0]), float(Pi.max())
    (0.1, 0.0, 0.0)
    """

    profile: str
    amplitude: float
    center: float
    width: float
    direction: str = "time-symmetric"

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile = {self.profile!r} is invalid: choose one of {', '.join(PROFILES)}")
        object.__setattr__(self, "amplitude", _positive("amplitude", self.amplitude, allow_zero=True))
        object.__setattr__(self, "center", _positive("center", self.center, allow_zero=True))
        object.__setattr__(self, "width", _positive("width", self.width, allow_zero=False))
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction = {self.direction!r} is invalid: choose one of {', '.join(DIRECTIONS)}")
        if self.direction == "ingoing" and self.center < INGOING_CLEARANCE * self.width:
            raise ValueError(
                f"center = {self.center!r} is invalid for an ingoing shell of width {self.width!r}: "
                f"need center >= {INGOING_CLEARANCE:g} * width so that φ vanishes at r = 0"
            )

    def with_amplitude(self, amplitude: float) -> ShellData:
        """The same shell with another amplitude (a member of the same one-parameter family)."""
        return ShellData(self.profile, amplitude, self.center, self.width, self.direction)

    def fields(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(φ, Φ, Π)`` at radii ``r >= 0`` (exact derivatives; Φ(0) = 0)."""
        r = np.asarray(r, dtype=np.float64)
        p, r0, s = self.amplitude, self.center, self.width
        if self.profile == "gaussian":
            lo, hi = np.exp(-(((r - r0) / s) ** 2)), np.exp(-(((r + r0) / s) ** 2))
            norm = p / (1.0 + math.exp(-((2 * r0 / s) ** 2)))
            phi = norm * (lo + hi)
            Phi = norm * (-2.0 * (r - r0) / s**2 * lo - 2.0 * (r + r0) / s**2 * hi)
        elif r0 == 0:
            t = np.tanh(r / s)
            phi = p * (1.0 - t**2)  # sech² written with tanh: cosh overflows far out
            Phi = -2.0 * p / s * t * (1.0 - t**2)
        else:
            norm = p / (2.0 * math.tanh(r0 / s))
            t_in, t_out = np.tanh((r + r0) / s), np.tanh((r - r0) / s)
            phi = norm * (t_in - t_out)
            Phi = norm / s * (t_out**2 - t_in**2)  # sech²(u) = 1 - tanh²(u)
        if self.direction == "ingoing":
            safe = np.where(r > 0, r, 1.0)
            Pi = Phi + np.where(r > 0, phi / safe, 0.0)
        else:
            Pi = np.zeros_like(r)
        return phi, Phi, Pi

    def describe(self) -> str:
        return (
            f"{self.profile} shell p={self.amplitude:.12g} r0={self.center:g} width={self.width:g} ({self.direction})"
        )


def gaussian_shell(*, amplitude: float, center: float, width: float, direction: str = "time-symmetric") -> ShellData:
    """A Gaussian shell ``φ ≈ p exp(-((r - r0)/σ)²)`` (see :class:`ShellData`)."""
    return ShellData("gaussian", amplitude, center, width, direction)


def tanh_shell(*, amplitude: float, center: float, width: float, direction: str = "time-symmetric") -> ShellData:
    """A tanh-edged ball of radius ``r0`` whose gradient is a shell at ``r0`` (see :class:`ShellData`)."""
    return ShellData("tanh", amplitude, center, width, direction)
