"""The base of every analytic metric: parameters checked on construction, curvature evaluated on points.

A concrete metric is a small frozen dataclass with its physical parameters and a
``chart`` (coordinate system). It supplies its line element symbolically
(:meth:`Metric.line_element`), the numbers for the symbols, any auxiliary field
(Kerr–Schild ``r``, FLRW ``a(t)``) and where its chart is singular. Everything
else — ``g_ab``, ``g^ab``, ``Γ^a_bc``, Riemann, Ricci, Einstein, Kretschmann — is
derived once per (class, chart) by :func:`~physml.simulators.spacetime.curvature.derive`
and compiled once per quantity, both cached in memory for the life of the process
(``functools.lru_cache``).

Points are arrays ``(..., 4)`` holding the chart's coordinates in order, time first.
Units: ``G = c = 1``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from functools import cache
from typing import ClassVar

import numpy as np

from physml.simulators.spacetime.curvature import (
    QUANTITIES,
    STAGE2,
    Compiled,
    Curvature,
    LineElement,
    compile_quantity,
    derive,
    fill_riemann,
)

__all__ = ["Metric", "check_finite", "check_positive", "require", "require_polar_angle"]

Coordinates = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def check_positive(name: str, value: float) -> float:
    """``value`` as a float; ``ValueError`` unless finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} = {value!r} is invalid: must be a number")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r} is invalid: must be finite and > 0")
    return float(value)


def check_finite(name: str, value: float) -> float:
    """``value`` as a float; ``ValueError`` unless a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} = {value!r} is invalid: must be a number")
    if not math.isfinite(value):
        raise ValueError(f"{name} = {value!r} is invalid: must be finite")
    return float(value)


def require(name: str, values: np.ndarray, ok: np.ndarray, rule: str) -> None:
    """Raise ``ValueError`` naming the first of ``values`` where ``ok`` is false, and the ``rule`` it breaks."""
    ok = np.broadcast_to(ok, np.shape(values))
    if not np.all(ok):
        bad = np.asarray(values)[~ok].flat[0]
        raise ValueError(f"{name} = {float(bad)!r} is invalid: {rule}")


def require_polar_angle(theta: np.ndarray) -> None:
    """Spherical charts are singular on the axis (``g_φφ = 0``): need ``0 < θ < π``."""
    require("theta", theta, (theta > 0) & (theta < np.pi), "spherical coordinates need 0 < theta < pi (off the axis)")


@cache
def _curvature(cls: type[Metric], chart: str) -> Curvature:
    return derive(cls.line_element(chart))


@cache
def _compiled(cls: type[Metric], chart: str, name: str) -> Compiled:
    return compile_quantity(_curvature(cls, chart), name)


class Metric(ABC):
    """An analytic spacetime metric in one chart; subclasses are frozen dataclasses.

    Every evaluation method takes ``points`` ``(..., 4)`` (coordinates in the order of
    :attr:`coordinates`) and checks them first: points where the chart is singular
    raise ``ValueError`` naming the coordinate and the allowed range.
    """

    #: Charts (coordinate systems) the metric is written in; the first is the default.
    charts: ClassVar[tuple[str, ...]]
    chart: str

    # -- what a concrete metric supplies -------------------------------------
    @classmethod
    @abstractmethod
    def line_element(cls, chart: str) -> LineElement:
        """The symbolic line element in ``chart``."""

    @abstractmethod
    def parameter_values(self) -> tuple[float, ...]:
        """Numbers for :attr:`LineElement.parameters`, in order."""

    @abstractmethod
    def check_points(self, x: Coordinates) -> None:
        """Raise ``ValueError`` where ``x`` (four coordinate arrays) is outside the chart's regular domain."""

    def auxiliary_values(self, x: Coordinates) -> tuple[np.ndarray, ...]:
        """Values of the auxiliary fields at ``x`` (none by default)."""
        return ()

    def _check_chart(self) -> None:
        if self.chart not in self.charts:
            raise ValueError(f"chart = {self.chart!r} is invalid: choose one of {', '.join(self.charts)}")

    # -- derived -------------------------------------------------------------
    @property
    def coordinates(self) -> tuple[str, ...]:
        """Names of the chart's coordinates, time first."""
        return tuple(str(s) for s in self.line_element(self.chart).coordinates)

    def symbolic(self) -> Curvature:
        """The derived expressions of this metric's class and chart (derived on first call, then cached)."""
        return _curvature(type(self), self.chart)

    def evaluate(self, points: np.ndarray, *names: str) -> dict[str, np.ndarray]:
        """Several quantities at ``points`` ``(..., 4)`` sharing the work, by name (see :data:`QUANTITIES`).

        Returns arrays ``(..., *shape)``: ``metric``/``inverse_metric``/``ricci``/``einstein``
        ``(..., 4, 4)`` (lower indices), ``christoffel`` ``Γ^a_bc`` ``(..., 4, 4, 4)``,
        ``riemann`` ``R^a_bcd`` and ``riemann_lower`` ``R_abcd`` ``(..., 4, 4, 4, 4)``,
        ``ricci_scalar`` and ``kretschmann`` ``(...)``.
        """
        for name in names:
            if name not in QUANTITIES:
                raise ValueError(f"name = {name!r} is invalid: choose one of {', '.join(QUANTITIES)}")
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 0 or pts.shape[-1] != 4:
            raise ValueError(f"points shape {pts.shape} is invalid: need (..., 4) coordinates {self.coordinates}")
        if not np.all(np.isfinite(pts)):
            raise ValueError("points are invalid: coordinates must be finite")
        x: Coordinates = tuple(pts[..., i] for i in range(4))  # type: ignore[assignment]
        self.check_points(x)
        cls, batch = type(self), pts.shape[:-1]
        curvature = self.symbolic()
        values = dict(zip(curvature.inputs, (*x, *self.parameter_values(), *self.auxiliary_values(x))))
        done: dict[str, np.ndarray] = {}

        def get(name: str) -> np.ndarray:
            if name not in done:
                compiled = _compiled(cls, self.chart, name)
                if name in STAGE2:
                    stage = {}
                    for symbol in compiled.arguments:
                        quantity, index = curvature.sources[symbol]
                        stage[symbol] = get(quantity)[(..., *index)]
                    done[name] = compiled(stage, batch)
                else:
                    out = compiled(values, batch)
                    done[name] = fill_riemann(out) if name == "riemann_lower" else out
            return done[name]

        return {name: get(name) for name in names}

    def metric(self, points: np.ndarray) -> np.ndarray:
        """``g_ab`` at ``points`` ``(..., 4)``: ``(..., 4, 4)``."""
        return self.evaluate(points, "metric")["metric"]

    def inverse_metric(self, points: np.ndarray) -> np.ndarray:
        """``g^ab`` at ``points``: ``(..., 4, 4)``."""
        return self.evaluate(points, "inverse_metric")["inverse_metric"]

    def christoffel(self, points: np.ndarray) -> np.ndarray:
        """``Γ^a_bc`` at ``points``: ``(..., 4, 4, 4)``, index order ``[a, b, c]``."""
        return self.evaluate(points, "christoffel")["christoffel"]

    def riemann(self, points: np.ndarray) -> np.ndarray:
        """``R^a_bcd`` at ``points``: ``(..., 4, 4, 4, 4)`` (MTW sign convention)."""
        return self.evaluate(points, "riemann")["riemann"]

    def ricci(self, points: np.ndarray) -> np.ndarray:
        """``R_bd = R^a_bad`` at ``points``: ``(..., 4, 4)``."""
        return self.evaluate(points, "ricci")["ricci"]

    def ricci_scalar(self, points: np.ndarray) -> np.ndarray:
        """``R = g^ab R_ab`` at ``points``: ``(...)``."""
        return self.evaluate(points, "ricci_scalar")["ricci_scalar"]

    def einstein(self, points: np.ndarray) -> np.ndarray:
        """``G_ab = R_ab − ½ R g_ab`` at ``points``: ``(..., 4, 4)``; ``G_ab = 8π T_ab`` (``G = c = 1``)."""
        return self.evaluate(points, "einstein")["einstein"]

    def kretschmann(self, points: np.ndarray) -> np.ndarray:
        """``R_abcd R^abcd`` at ``points``: ``(...)``."""
        return self.evaluate(points, "kretschmann")["kretschmann"]
