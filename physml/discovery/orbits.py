"""Gravity laws from integrated orbits: Kepler's third law and the periapsis advance, by sparse regression.

:func:`discover_orbit_laws` integrates bound timelike geodesics of a
Schwarzschild hole (:func:`~physml.simulators.spacetime.orbits.periapsis_precession`,
from periapsis over one radial period) on semi-major axes ``a`` and
eccentricities ``e`` drawn at random in the weak field, measures each orbit's
coordinate period ``T`` and periapsis advance ``Δφ``, and fits (``G = c = M = 1``):

* ``log(T / 2π)`` over ``{log a, 1, M/a, e^2 M/a, (M/a)^2}``: Kepler's third law
  ``T^2 = 4π^2 a^3 / M`` is the coefficient 3/2 on ``log a`` and nothing on ``1``;
  the ``M/a`` terms are its relativistic corrections;
* ``Δφ / u`` over ``{1, e^2, u, e^2 u, u^2}`` with ``u = M / p = M / (a (1 - e^2))``:
  Einstein's advance ``6π u`` is the coefficient ``6π`` on ``1``; at second
  order Schwarzschild adds ``(27π + 3π e^2 / 2) u^2``.

Dividing by ``u`` (and taking logarithms for the period) puts every orbit on
the same footing: a fit of ``Δφ`` itself would be decided by the few orbits
closest to the hole.

Each is a :func:`~physml.discovery.sparse.sparse_fit` with a bootstrap over orbits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from physml.discovery.sparse import SparseFit, check_count, sparse_fit

__all__ = ["OrbitLaws", "discover_orbit_laws", "orbit_table"]

KEPLER_TERMS = ("log a", "1", "M/a", "e^2 M/a", "(M/a)^2")
PRECESSION_TERMS = ("1", "e^2", "u", "e^2 u", "u^2")
#: The leading laws the fits are scored on: Kepler's exponent, Einstein's 6π.
KEPLER_TRUTH = {"log a": 1.5}
PRECESSION_TRUTH = {"1": 6 * math.pi}
#: Schwarzschild's second-order advance in this library, reported beside the fit (not scored).
SECOND_ORDER = {"u": 27 * math.pi, "e^2 u": 1.5 * math.pi}


def orbit_table(semi_major: np.ndarray, eccentricity: np.ndarray, *, rtol: float = 1e-12) -> dict[str, np.ndarray]:
    """Coordinate period and periapsis advance of each Schwarzschild orbit ``(a, e)`` (``M = 1``)."""
    from physml.simulators.spacetime.kerr import Kerr
    from physml.simulators.spacetime.orbits import bound_orbit_constants, periapsis_precession

    hole = Kerr()
    period, advance = [], []
    for a, e in zip(np.asarray(semi_major, float), np.asarray(eccentricity, float)):
        r_p, r_a = a * (1 - e), a * (1 + e)
        energy, ang = bound_orbit_constants(hole, r_p, r_a)
        result = periapsis_precession(hole, energy, ang, periapsis=r_p, rtol=rtol)
        period.append(result.coordinate_period)
        advance.append(result.per_orbit)
    return {"a": np.asarray(semi_major, float), "e": np.asarray(eccentricity, float),
            "period": np.array(period), "advance": np.array(advance)}  # fmt: skip


@dataclass(frozen=True)
class OrbitLaws:
    """The two fits, the orbits they came from, and each fitted coefficient's error against the known law."""

    kepler: SparseFit
    precession: SparseFit
    table: dict[str, np.ndarray]

    def errors(self) -> dict[str, float]:
        """Relative error of each known coefficient (1 where the fit dropped it)."""
        out = {}
        for fit, truth in ((self.kepler, KEPLER_TRUTH), (self.precession, PRECESSION_TRUTH)):
            for term, value in truth.items():
                out[f"{fit.targets[0]}: {term}"] = abs(fit.coefficients[0, fit.terms.index(term)] - value) / abs(value)
        return out

    def second_order(self) -> dict[str, tuple[float, float]]:
        """``term -> (fitted, Schwarzschild's)`` of the advance's second order in ``u``."""
        fit = self.precession
        return {t: (float(fit.coefficients[0, fit.terms.index(t)]), v) for t, v in SECOND_ORDER.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"kepler": self.kepler.to_dict(), "precession": self.precession.to_dict(), "errors": self.errors(),
                "second_order": self.second_order(),
                "orbits": {k: v.tolist() for k, v in self.table.items()}}  # fmt: skip


def discover_orbit_laws(
    *,
    orbits: int = 40,
    semi_major: tuple[float, float] = (30.0, 1000.0),
    eccentricity: tuple[float, float] = (0.05, 0.7),
    threshold: float = 1e-4,
    bootstrap: int = 50,
    seed: int = 0,
) -> OrbitLaws:
    """Integrate ``orbits`` Schwarzschild orbits (``a`` log-uniform, ``e`` uniform in the ranges) and fit both laws.

    ``threshold``: the sparse fits' (a share of the target's RMS: the relativistic corrections are small).
    """
    check_count("orbits", orbits, 8, 1000)
    check_count("seed", seed, 0)
    low, high = semi_major
    if not (math.isfinite(high) and 12.0 < low < high):
        raise ValueError(f"semi_major = {semi_major!r} is invalid: need 12 < low < high (M; stable bound orbits)")
    e_low, e_high = eccentricity
    if not 0 < e_low < e_high < 1:
        raise ValueError(f"eccentricity = {eccentricity!r} is invalid: need 0 < low < high < 1")
    rng = np.random.default_rng(seed)
    a = np.exp(rng.uniform(math.log(low), math.log(high), orbits))
    e = rng.uniform(e_low, e_high, orbits)
    table = orbit_table(a, e)
    x = 1 / a
    kepler_library = np.stack([np.log(a), np.ones(orbits), x, e**2 * x, x**2], axis=1)
    kepler = sparse_fit(kepler_library, np.log(table["period"] / (2 * math.pi)), terms=KEPLER_TERMS,
                        targets=["log(T/2pi)"], threshold=threshold, bootstrap=bootstrap, seed=seed)  # fmt: skip
    u = 1 / (a * (1 - e**2))
    precession_library = np.stack([np.ones(orbits), e**2, u, e**2 * u, u**2], axis=1)
    precession = sparse_fit(precession_library, table["advance"] / u, terms=PRECESSION_TERMS, targets=["dphi/u"],
                            threshold=threshold, bootstrap=bootstrap, seed=seed)  # fmt: skip
    return OrbitLaws(kepler, precession, table)
