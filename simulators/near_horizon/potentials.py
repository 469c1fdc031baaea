"""Schwarzschild perturbation potentials and the tortoise coordinate.

Linear perturbations of a Schwarzschild black hole of mass ``M`` separate into
multipoles; each obeys the 1+1 wave equation

    -d²ψ/dt² + d²ψ/dr*² - V(r) ψ = 0,        r* = r + 2M ln(r/2M - 1),

with the Regge–Wheeler potential for a field of spin s = 0, 1, 2 (Regge & Wheeler 1957)

    V_RW = (1 - 2M/r) [ l(l+1)/r² + (1 - s²) 2M/r³ ]

or, for polar gravitational perturbations, the Zerilli potential
(Chandrasekhar, *The Mathematical Theory of Black Holes*, §24, eq. 62)

    V_Z = (1 - 2M/r) [2λ²(λ+1)r³ + 6λ²Mr² + 18λM²r + 18M³] / [r³(λr + 3M)²],
    λ = (l - 1)(l + 2)/2.

Both s = 2 potentials are isospectral: they share all quasinormal frequencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["EQUATIONS", "Perturbation", "radius_from_tortoise", "tortoise"]

#: The perturbation equations: Regge–Wheeler (axial / any spin) and Zerilli (polar, s = 2 only).
EQUATIONS = ("regge-wheeler", "zerilli")


def _check_mass(mass: float) -> float:
    if not (isinstance(mass, int | float | np.integer | np.floating) and math.isfinite(mass) and mass > 0):
        raise ValueError(f"mass = {mass!r} is invalid: must be finite and > 0")
    return float(mass)


def tortoise(r: np.ndarray | float, mass: float = 1.0) -> np.ndarray:
    """Tortoise coordinate ``r* = r + 2M ln(r/2M - 1)`` for ``r > 2M``.

    Raises ``ValueError`` for radii at or inside the horizon.
    """
    mass = _check_mass(mass)
    r = np.asarray(r, dtype=np.float64)
    bad = r[~(np.isfinite(r) & (r > 2 * mass))]
    if bad.size:
        raise ValueError(f"r = {bad.flat[0]!r} is invalid: the tortoise coordinate needs finite r > 2M = {2 * mass}")
    return r + 2 * mass * np.log(r / (2 * mass) - 1)


def radius_from_tortoise(r_star: np.ndarray | float, mass: float = 1.0) -> np.ndarray:
    """Invert :func:`tortoise`: the areal radius ``r(r*) > 2M``.

    ``r = 2M (1 + W(exp(r*/2M - 1)))`` with Lambert's W. ``scipy.special.lambertw``
    would overflow at ``r* > ~1400 M`` (``exp`` of the argument), so this solves
    ``e^u + u = r*/2M - 1`` for ``u = ln W`` by Newton's method, which converges
    monotonically (the function is convex) at any ``r*``: near the horizon ``W``
    underflows gracefully to ``r - 2M = 2M e^u``.
    """
    mass = _check_mass(mass)
    return 2 * mass * (1 + _horizon_distance(r_star, mass))


def _horizon_distance(r_star: np.ndarray | float, mass: float) -> np.ndarray:
    """``W = r/2M - 1`` at ``r*``: exact even where ``r`` rounds to ``2M`` (``W`` ~ e^(r*/2M))."""
    x = np.asarray(r_star, dtype=np.float64) / (2 * mass) - 1
    if np.any(~np.isfinite(x)):
        bad = np.asarray(r_star)[~np.isfinite(x)].flat[0]
        raise ValueError(f"r_star = {bad!r} is invalid: must be finite")
    # Start to the right of the root (f convex, increasing): Newton then decreases monotonically.
    u = np.where(x < 1.0, x, np.log(np.maximum(x, 1.0)) + 1.0)
    for _ in range(100):
        eu = np.exp(u)
        step = (eu + u - x) / (eu + 1)
        u = u - step
        if np.all(np.abs(step) <= 4e-16 * np.maximum(1.0, np.abs(u))):
            break
    return np.exp(u)


@dataclass(frozen=True)
class Perturbation:
    """One multipole of a linear perturbation of Schwarzschild.

    Parameters
    ----------
    s
        Spin of the field: 0 (scalar), 1 (electromagnetic), 2 (gravitational).
    l
        Multipole index, ``l >= s``.
    mass
        Black-hole mass ``M > 0`` (units: ``G = c = 1``; lengths and times in the same unit as ``M``).
    equation
        ``"regge-wheeler"`` (any s) or ``"zerilli"`` (polar gravitational, s = 2 only).

    Examples
    --------
    >>> p = Perturbation(s=2, l=2)
    >>> round(float(p.potential(3.0)), 6)
    0.148148
    >>> round(p.peak.r, 2)
    3.28
    """

    s: int
    l: int  # noqa: E741 - the multipole index is l in every reference
    mass: float = 1.0
    equation: str = "regge-wheeler"

    def __post_init__(self) -> None:
        if isinstance(self.s, bool) or not isinstance(self.s, int | np.integer) or self.s not in (0, 1, 2):
            raise ValueError(f"s = {self.s!r} is invalid: the spin must be 0, 1 or 2")
        if isinstance(self.l, bool) or not isinstance(self.l, int | np.integer) or self.l < self.s:
            raise ValueError(f"l = {self.l!r} is invalid: need an integer l >= s = {self.s}")
        object.__setattr__(self, "s", int(self.s))
        object.__setattr__(self, "l", int(self.l))
        object.__setattr__(self, "mass", _check_mass(self.mass))
        if self.equation not in EQUATIONS:
            raise ValueError(f"equation = {self.equation!r} is invalid: choose one of {', '.join(EQUATIONS)}")
        if self.equation == "zerilli" and self.s != 2:
            raise ValueError(f"equation = 'zerilli' is invalid for s = {self.s}: it describes s = 2 only")

    def potential(self, r: np.ndarray | float) -> np.ndarray:
        """``V(r)`` (units 1/M²) at areal radii ``r > 2M`` (``ValueError`` otherwise)."""
        r = np.asarray(r, dtype=np.float64)
        if np.any(~(r > 2 * self.mass)):
            raise ValueError(f"r = {r.min()!r} is invalid: the potential is defined outside the horizon, r > 2M")
        return self._potential(r, 1 - 2 * self.mass / r)

    def potential_at(self, r_star: np.ndarray | float) -> np.ndarray:
        """``V`` as a function of the tortoise coordinate, accurate up to the horizon.

        The lapse ``1 - 2M/r = W / (1 + W)`` comes from ``W = r/2M - 1`` directly, so ``V``
        keeps full relative precision where ``r - 2M`` is far below round-off of ``r``.
        """
        w = _horizon_distance(r_star, self.mass)
        return self._potential(2 * self.mass * (1 + w), w / (1 + w))

    def _potential(self, r: np.ndarray, lapse: np.ndarray) -> np.ndarray:
        m, ell = self.mass, self.l
        if self.equation == "regge-wheeler":
            return lapse * (ell * (ell + 1) / r**2 + (1 - self.s**2) * 2 * m / r**3)
        lam = (ell - 1) * (ell + 2) / 2
        numerator = 2 * lam**2 * (lam + 1) * r**3 + 6 * lam**2 * m * r**2 + 18 * lam * m**2 * r + 18 * m**3
        return lapse * numerator / (r**3 * (lam * r + 3 * m) ** 2)

    @property
    def peak(self) -> PotentialPeak:
        """Location, height and width (FWHM in ``r*``) of the potential barrier (cached per perturbation)."""
        return _peak(self)

    def _find_peak(self) -> PotentialPeak:
        m = self.mass
        found = minimize_scalar(
            lambda x: -self.potential(x * m), bounds=(2.05, 10.0), method="bounded", options={"xatol": 1e-10}
        )
        r_peak = float(found.x) * m
        height = float(self.potential(r_peak))
        r_star_peak = float(tortoise(r_peak, m))
        # Half-maximum crossings on either side, by bisection in r* (V is unimodal).
        sides = []
        for direction in (-1.0, 1.0):
            near, far = r_star_peak, r_star_peak + direction * 10.0 * m
            while self.potential_at(far) > height / 2:
                far += direction * 10.0 * m
            for _ in range(80):
                mid = 0.5 * (near + far)
                near, far = (mid, far) if self.potential_at(mid) > height / 2 else (near, mid)
            sides.append(0.5 * (near + far))
        return PotentialPeak(r=r_peak, r_star=r_star_peak, height=height, fwhm=sides[1] - sides[0])

    def describe(self) -> str:
        """A short label, e.g. ``"s=2 l=2 M=1 (zerilli)"``."""
        return f"s={self.s} l={self.l} M={self.mass:g} ({self.equation})"


@lru_cache(maxsize=4096)
def _peak(perturbation: Perturbation) -> PotentialPeak:
    return perturbation._find_peak()


@dataclass(frozen=True)
class PotentialPeak:
    """The barrier of ``V``: areal and tortoise radius of its maximum, its height and FWHM in ``r*``."""

    r: float
    r_star: float
    height: float
    fwhm: float
