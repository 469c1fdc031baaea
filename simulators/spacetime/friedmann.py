"""The scale factor ``a(t)`` of a Friedmann universe from its density parameters.

With ``a = 1`` and ``ȧ/a = H₀`` today (``t = 0``) and ``Ω_k = 1 − Ω_m − Ω_r − Ω_Λ``
(Friedmann equations; e.g. Peebles, *Principles of Physical Cosmology*, eqs. 5.18–5.19, 13.3):

    (ȧ/a)² = H₀² (Ω_r a⁻⁴ + Ω_m a⁻³ + Ω_k a⁻² + Ω_Λ) = H₀² P(a)/a⁴,
    P(a) = Ω_r + Ω_m a + Ω_k a² + Ω_Λ a⁴,
    ä = H₀² (−Ω_r a⁻³ − ½ Ω_m a⁻² + Ω_Λ a).

``a(t)`` is integrated from today in the second-order form (which passes through a
turnaround, where the first-order form's square root changes sign) with DOP853 at
``rtol = 1e-12``. Matter is dust (``w = 0``), radiation ``w = ⅓``, Λ ``w = −1``; in
``G = c = 1``, ``8πρ_i = 3H₀² Ω_i a^{−3(1+w_i)}`` and ``p_i = w_i ρ_i``.

What is refused: ``H₀ <= 0``, ``Ω_m < 0`` or ``Ω_r < 0`` (negative energy density of
ordinary components; ``Ω_Λ < 0`` is allowed), and any time outside the life of the
universe, ``t <= t_bang`` (before the big bang: ``a -> 0``) or ``t >= t_crunch`` (a
recollapse to ``a = 0``). Universes without a big bang — whose past has a bounce
(a root of ``P`` in ``(0, 1)``, e.g. closed de Sitter) or is exponential (flat de
Sitter) — are accepted: ``t_bang = −inf`` and ``a > 0`` at every past time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.integrate import quad, solve_ivp

from physml.simulators.spacetime.metric import check_finite, check_positive, require

__all__ = ["Friedmann"]

#: Relative and absolute tolerances of the a(t) integration.
RTOL, ATOL = 1e-12, 1e-14


@dataclass(frozen=True)
class Friedmann:
    """A Friedmann–Lemaître universe: Hubble rate today ``hubble`` (1/length) and density parameters.

    Examples
    --------
    >>> eds = Friedmann(hubble=1.0, omega_m=1.0)  # Einstein-de Sitter: a = (1 + 3t/2)^(2/3)
    >>> round(eds.big_bang, 10)
    -0.6666666667
    >>> a, adot, addot = eds.scale_factor(np.array([1.0]))
    >>> round(float(a[0]), 8) == round((1 + 1.5) ** (2 / 3), 8)
    True
    """

    hubble: float = 1.0
    omega_m: float = 0.0
    omega_r: float = 0.0
    omega_lambda: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hubble", check_positive("hubble", self.hubble))
        for name in ("omega_m", "omega_r"):
            value = check_finite(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"{name} = {value!r} is invalid: must be >= 0 (a negative energy density)")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "omega_lambda", check_finite("omega_lambda", self.omega_lambda))

    @property
    def omega_k(self) -> float:
        """Curvature density parameter ``1 − Ω_m − Ω_r − Ω_Λ``."""
        return 1.0 - self.omega_m - self.omega_r - self.omega_lambda

    @property
    def curvature(self) -> float:
        """Comoving spatial curvature ``K = −Ω_k H₀²`` (1/length², ``a = 1`` today): ``k = sign(K)``."""
        return -self.omega_k * self.hubble**2

    @property
    def k(self) -> int:
        """``+1`` closed, ``0`` flat, ``−1`` open (the sign of :attr:`curvature`)."""
        return int(np.sign(self.curvature))

    def _poly(self) -> np.ndarray:
        """``P(a)`` as numpy coefficients, highest power first."""
        return np.array([self.omega_lambda, 0.0, self.omega_k, self.omega_m, self.omega_r])

    def _turning_point(self, past: bool) -> float:
        """Largest root of ``P`` in ``(0, 1)`` (past) or smallest in ``(1, ∞)`` (future); NaN when none."""
        roots = np.roots(np.trim_zeros(self._poly(), "f"))
        real = roots[np.abs(roots.imag) <= 1e-12 * np.maximum(1.0, np.abs(roots))].real
        found = real[(real > 0) & (real < 1)] if past else real[real > 1]
        return float(found.max() if past else found.min()) if found.size else math.nan

    def _time_between(self, start: float, stop: float) -> float:
        """``∫ a da / (H₀ √P(a))`` from ``start`` to a simple root ``stop`` of ``P`` (``a = stop − s²``: no 1/√)."""
        poly = self._poly()
        q, _ = np.polydiv(poly, np.array([-1.0, stop]))  # P(a) = (stop − a) q(a) for stop > start
        sign = 1.0
        if stop < start:
            q, sign = -q, -1.0  # P(a) = (a − stop)(−q(a))
        qmin = min(np.polyval(q, a) for a in np.linspace(min(start, stop), max(start, stop), 9))
        if qmin <= 0:
            return math.inf  # a double root: the turning point is approached asymptotically

        def integrand(s: float) -> float:
            a = stop - sign * s * s
            return 2 * a / math.sqrt(np.polyval(q, a))

        value, _ = quad(integrand, 0.0, math.sqrt(abs(stop - start)), epsabs=0.0, epsrel=1e-12, limit=200)
        return value / self.hubble

    @cached_property
    def big_bang(self) -> float:
        """Time of the big bang ``a -> 0`` (≤ 0, today is ``t = 0``); ``−inf`` when the past has none."""
        if not math.isnan(self._turning_point(past=True)):
            return -math.inf  # a bounce: a stays >= the root
        if self.omega_m == 0 and self.omega_r == 0 and self.omega_k <= 0:
            return -math.inf  # P = Ω_Λ a⁴ near 0 (Ω_k = 0): exponential past
        poly = self._poly()
        value, _ = quad(lambda a: a / math.sqrt(np.polyval(poly, a)), 0.0, 1.0, epsabs=0.0, epsrel=1e-12, limit=200)
        return -value / self.hubble

    @cached_property
    def big_crunch(self) -> float:
        """Time of the recollapse to ``a = 0``; ``inf`` when the universe expands forever or oscillates."""
        a_max = self._turning_point(past=False)
        if math.isnan(a_max) or not math.isfinite(self.big_bang):
            return math.inf
        turnaround = self._time_between(1.0, a_max)
        return 2 * turnaround - self.big_bang if math.isfinite(turnaround) else math.inf

    def acceleration(self, a: np.ndarray) -> np.ndarray:
        """``ä`` at scale factor ``a`` (second Friedmann equation)."""
        h2 = self.hubble**2
        return h2 * (-self.omega_r / a**3 - 0.5 * self.omega_m / a**2 + self.omega_lambda * a)

    def scale_factor(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, ȧ, ä)`` at cosmic times ``t`` (any shape; ``t = 0`` today).

        Raises ``ValueError`` for ``t`` outside ``(big_bang, big_crunch)``.
        """
        t = np.asarray(t, dtype=np.float64)
        require("t", t, np.isfinite(t), "must be finite")
        require("t", t, t > self.big_bang, f"the universe begins at the big bang t = {self.big_bang} (a = 0)")
        require("t", t, t < self.big_crunch, f"the universe recollapses to a = 0 at t = {self.big_crunch}")
        flat = t.ravel()
        state = np.empty((2, flat.size))
        state[0], state[1] = 1.0, self.hubble
        for side in (flat > 0, flat < 0):
            if not side.any():
                continue
            order = np.argsort(np.abs(flat[side]))
            times = flat[side][order]
            sol = solve_ivp(
                lambda _, y: (y[1], self.acceleration(y[0])),
                (0.0, times[-1]),
                (1.0, self.hubble),
                method="DOP853",
                t_eval=times,
                rtol=RTOL,
                atol=ATOL,
            )
            if not sol.success:
                raise ValueError(f"t = {times[-1]!r} is invalid: the Friedmann integration failed ({sol.message})")
            idx = np.flatnonzero(side)[order]
            state[:, idx] = sol.y
        a, adot = state[0].reshape(t.shape), state[1].reshape(t.shape)
        return a, adot, self.acceleration(a)

    def density_and_pressure(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Total ``(ρ, p)`` at scale factor ``a`` (``G = c = 1``; Λ counted as a fluid with ``p = −ρ``)."""
        scale = 3 * self.hubble**2 / (8 * math.pi)
        rho_r, rho_m, rho_l = (
            scale * w * a**-n for w, n in ((self.omega_r, 4), (self.omega_m, 3), (self.omega_lambda, 0))
        )
        return rho_r + rho_m + rho_l, rho_r / 3 - rho_l
