"""Symbolic regression for laws of unknown form: the ISCO radius of a Kerr hole against its spin.

Sparse regression needs its candidate terms in advance. When the form is not
known, genetic programming searches expression trees instead; physml uses
pyoperon (C++, works offline, a fit of a few hundred points in seconds; PySR
would download Julia at run time, and gplearn needs a scikit-learn that
pysindy 1.7.5 refuses). Each fit is scored on points it did not see.

:func:`discover_isco` asks for Bardeen–Press–Teukolsky's innermost stable
circular orbit ``r_isco(a)`` (prograde for ``a > 0``, retrograde for ``a < 0``),
computed by physml's closed form (:func:`~physml.simulators.spacetime.kerr_orbits.isco_radius`),
from ``+, -, ×, ÷``, square, square and cube roots: the exact law has nested cube
roots, and a regressor finds compact approximations of it.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from physml.discovery.sparse import check_count

__all__ = ["SymbolicLaw", "discover_isco", "symbolic_regression"]

#: The building blocks given to the ISCO search.
ISCO_SYMBOLS = "add,sub,mul,div,constant,variable,square,sqrt,cbrt"


@dataclass(frozen=True)
class SymbolicLaw:
    """A found expression ``y = f(x)`` and how well it does: largest relative error on the points it was fitted
    to (``train_error``), on held-out points (``test_error``) and on all of them (``max_error``)."""

    expression: str
    seed: int
    train_error: float
    test_error: float
    max_error: float
    seconds: float
    length: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sympy(model: str, variable: str) -> str:
    """pyoperon's model string as a sympy expression in ``variable``, numbers to 4 significant digits."""
    import sympy

    names = {"X1": sympy.Symbol(variable, real=True), "cbrt": lambda z: sympy.real_root(z, 3)}
    expr = sympy.sympify(model.replace("^", "**"), locals=names)
    return str(expr.evalf(4))


def symbolic_regression(
    x: np.ndarray,
    y: np.ndarray,
    *,
    test: np.ndarray,
    symbols: str = ISCO_SYMBOLS,
    generations: int = 1000,
    population: int = 1000,
    max_length: int = 40,
    seed: int = 0,
    variable: str = "a",
) -> SymbolicLaw:
    """Fit ``y(x)`` (1D) on the points not in the boolean mask ``test``; score it on all of them."""
    x, y, test = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), np.asarray(test, dtype=bool)
    if x.shape != y.shape or x.ndim != 1 or test.shape != x.shape:
        raise ValueError(f"x {x.shape}, y {y.shape} and test {test.shape} must be equal 1D shapes")
    if test.all() or not test.any():
        raise ValueError("test is invalid: it must hold out some points and leave some to fit")
    for name, value in (("generations", generations), ("population", population), ("max_length", max_length)):
        check_count(name, value, 1, 10_000)
    check_count("seed", seed, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyoperon.sklearn import SymbolicRegressor

    start = time.perf_counter()
    regressor = SymbolicRegressor(allowed_symbols=symbols, generations=generations, population_size=population,
                                  max_length=max_length, max_evaluations=2 * generations * population,
                                  random_state=seed, n_threads=1)  # fmt: skip
    regressor.fit(x[~test, None], y[~test])
    seconds = time.perf_counter() - start
    error = np.abs(regressor.predict(x[:, None]) - y) / np.abs(y)
    model = regressor.get_model_string(regressor.model_, 6)
    return SymbolicLaw(_sympy(model, variable), seed, float(error[~test].max()), float(error[test].max()),
                       float(error.max()), seconds, int(regressor.model_.Length))  # fmt: skip


def discover_isco(
    *, points: int = 199, spin: float = 0.99, test_share: float = 0.25, seeds: tuple[int, ...] = (1, 2, 3), **kw: Any
) -> list[SymbolicLaw]:
    """Search ``r_isco(a) / M`` on ``points`` spins in ``[-spin, spin]``, holding out ``test_share`` of them at random.

    One search per seed (``kw``: :func:`symbolic_regression`'s settings).
    """
    from physml.simulators.spacetime.kerr import Kerr
    from physml.simulators.spacetime.kerr_orbits import isco_radius

    if not (math.isfinite(spin) and 0 < spin < 1):
        raise ValueError(f"spin = {spin!r} is invalid: must be in (0, 1)")
    if not 0 < test_share < 1:
        raise ValueError(f"test_share = {test_share!r} is invalid: must be in (0, 1)")
    check_count("points", points, 10, 10_000)
    for seed in seeds:
        check_count("seed", seed, 0)
    for name in ("generations", "population", "max_length"):
        check_count(name, kw.get(name), 1, 10_000)
    a = np.linspace(-spin, spin, points)
    r = np.array([isco_radius(Kerr(spin=abs(v)), prograde=v >= 0) for v in a])
    test = np.random.default_rng(0).random(points) < test_share
    return [symbolic_regression(a, r, test=test, seed=seed, **kw) for seed in seeds]
