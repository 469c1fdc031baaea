"""The laws of a black hole's ringdown, recovered from evolutions: quasinormal frequencies against l, and Price tails.

:func:`measure_qnms` evolves a Gaussian pulse on the Regge–Wheeler potential for
each spin ``s`` and multipole ``l``, fits the fundamental quasinormal frequency
on a window that opens 30 M after the peak (overtones gone), and removes the
scheme's h² error by Richardson extrapolation from three spacings ``4h, 2h, h``;
the change between the two extrapolations bounds what is left.
:func:`discover_qnm_laws` then regresses ``√27 M ω`` (real and imaginary parts)
on a library in ``L = l + ½`` and ``s²`` by sparse regression. The large-``l``
(eikonal, WKB) expansion of the Schwarzschild fundamental mode (Dolan & Ottewill,
Class. Quantum Grav. 26, 225003, 2009), checked here against Leaver's continued
fraction to 1e-6 at l = 50..200 (``tests/test_discovery_ringdown.py``), is what
the fit is scored on::

    √27 M ω = L − i/2 + [(1 − s²)/3 − 65/216] / L − i [(1 − s²)/18 − 295/7776] / L² + O(L⁻³)

Re has only odd powers of ``1/L`` and Im only even ones: a kept even term in the
real part (or odd in the imaginary) is spurious. The library stops at ``L⁻³``;
below the size of the first neglected order at ``l = 2`` a fit spends spurious
terms on the truncated series, and the bootstrap (measurement errors only)
cannot tell. The threshold is chosen per part by stability selection: the lowest
of a grid whose fit the bootstrap still pins down.

:func:`discover_tail_law` measures the late-time exponent ``ψ ~ t^p`` at a fixed
radius for ``l = 0 .. 2`` and fits ``p`` over ``{1, l, s}``: Price's law is
``p = −(2l + 3)`` whatever the spin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physml.discovery.sparse import SparseFit, sparse_fit

__all__ = [
    "QNMLaws",
    "QNMTable",
    "TailLaw",
    "discover_qnm_laws",
    "discover_tail_law",
    "eikonal_expansion",
    "measure_qnms",
    "measure_tails",
]

TERMS = ("L", "1", "1/L", "s^2/L", "1/L^2", "s^2/L^2", "1/L^3", "s^2/L^3", "s^4/L^3")
#: The expansion's coefficients in this library (scored): leading order and first correction of each part.
TRUTH = {
    ("Re", "L"): 1.0,
    ("Re", "1/L"): 7 / 216,
    ("Re", "s^2/L"): -1 / 3,
    ("Im", "1"): -0.5,
    ("Im", "1/L^2"): -137 / 7776,
    ("Im", "s^2/L^2"): 1 / 18,
}
#: Terms of the wrong parity: zero at every order of the expansion.
ABSENT = {"Re": ("1", "1/L^2", "s^2/L^2"), "Im": ("L", "1/L", "s^2/L", "1/L^3", "s^2/L^3", "s^4/L^3")}
#: The evolutions: pulse centre, narrowest width (as narrow as the coarsest spacing 4h resolves:
#: ``max(1, 16 h)``; a narrow pulse excites high l), extraction radius (r*), window after the peak [M].
PULSE = {"center": 20.0, "width": 1.0}
EXTRACT_AT = 50.0
WINDOW = (30.0, 120.0)
#: Relative accuracy of the ringdown fit itself (Re, Im), the floor of every error bound: twice the
#: largest deviation from Leaver's frequencies of the extrapolated ones at l = 2 .. 8, h = 0.05
#: (5e-8 and 5e-7).
FIT_FLOOR = (1e-7, 1e-6)


def eikonal_expansion(s: int, ell: int) -> complex:
    """``M ω`` of the fundamental mode from the large-``l`` expansion to ``L⁻²`` (the module doc)."""
    big_l, beta = ell + 0.5, 1 - s * s
    x = big_l - 0.5j + (beta / 3 - 65 / 216) / big_l - 1j * (beta / 18 - 295 / 7776) / big_l**2
    return x / math.sqrt(27)


@dataclass(frozen=True)
class QNMTable:
    """Measured fundamental frequencies ``M ω`` (Richardson-extrapolated), their error bound, and Leaver's values."""

    s: np.ndarray
    l: np.ndarray  # noqa: E741 (the multipole's name in every text)
    omega: np.ndarray
    error: np.ndarray
    leaver: np.ndarray
    h: float

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.s.tolist(), "l": self.l.tolist(), "h": self.h,
                "omega": [[w.real, w.imag] for w in self.omega], "error": [[e.real, e.imag] for e in self.error],
                "leaver": [[w.real, w.imag] for w in self.leaver]}  # fmt: skip


def _fundamental(s: int, ell: int, h: float, width: float) -> complex:
    from physml.simulators.near_horizon import Perturbation, analyse_ringdown, evolve, gaussian_pulse

    peak_time = PULSE["center"] + EXTRACT_AT + 10.0  # the pulse reaches the barrier, ~10 M of light crossing back
    pulse = gaussian_pulse(center=PULSE["center"], width=width)
    run = evolve(Perturbation(s=s, l=ell), pulse, t_final=peak_time + WINDOW[1] + 20.0,
                 extract_at=[EXTRACT_AT], scheme="double-null", h=h)  # fmt: skip
    keep = np.isfinite(run.waveforms[0])
    t, y = run.t[keep], run.waveforms[0][keep]
    peak = float(t[np.argmax(np.abs(y))])
    return analyse_ringdown(t, y, t_start=peak + WINDOW[0], t_end=peak + WINDOW[1]).qnm.omega0


def measure_qnms(
    spins: Sequence[int] = (0, 1, 2), ells: Sequence[int] = tuple(range(2, 9)), *, h: float = 0.05,
    progress: bool = False,
) -> QNMTable:  # fmt: skip
    """Evolve every ``(s, l)`` at spacings ``4h, 2h, h`` and Richardson-extrapolate the fundamental ``M ω``.

    ``error``: per part, ``|R(2h, h) − R(4h, 2h)|``, the change between the two extrapolations (an upper
    bound on the error of ``R(2h, h)`` for a second-order scheme), plus :data:`FIT_FLOOR` ``|ω|`` for
    the fit; measured against Leaver, it bounds every error at l = 2 .. 8, h = 0.05.
    """
    from physml.progress import progress as progress_display
    from physml.simulators.near_horizon.leaver import leaver_qnm

    pairs = [(int(s), int(ell)) for s in spins for ell in ells if ell >= s]
    if not pairs:
        raise ValueError(f"spins = {tuple(spins)!r}, ells = {tuple(ells)!r} are invalid: no pair with l >= s")
    for s, ell in pairs:
        if s not in (0, 1, 2) or not 0 <= ell <= 12:
            raise ValueError(f"(s, l) = ({s}, {ell}) is invalid: need s in 0, 1, 2 and s <= l <= 12")
    if not 0.01 <= h <= 0.125:
        raise ValueError(f"h = {h!r} is invalid: need 0.01 <= h <= 0.125 (fine enough for l = 12 at 4h)")
    width = max(PULSE["width"], 16 * h)
    omega, error = [], []
    with progress_display(total=len(pairs), desc="ringdowns", unit="mode", enabled=progress) as bar:
        for s, ell in pairs:
            coarse, mid, fine = (_fundamental(s, ell, k * h, width) for k in (4, 2, 1))
            better, worse = (4 * fine - mid) / 3, (4 * mid - coarse) / 3
            omega.append(better)
            change = better - worse
            error.append(complex(abs(change.real) + FIT_FLOOR[0] * abs(better),
                                 abs(change.imag) + FIT_FLOOR[1] * abs(better)))  # fmt: skip
            bar.update(1)
    s_arr, l_arr = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    leaver = np.array([leaver_qnm(s, ell) for s, ell in pairs])
    return QNMTable(s_arr, l_arr, np.array(omega), np.array(error), leaver, float(h))


def library(s: np.ndarray, ell: np.ndarray) -> np.ndarray:
    """The columns of :data:`TERMS` at each ``(s, l)``."""
    big_l, s2 = np.asarray(ell, float) + 0.5, np.asarray(s, float) ** 2
    return np.stack([big_l, np.ones_like(big_l), 1 / big_l, s2 / big_l, big_l**-2, s2 * big_l**-2,
                     big_l**-3, s2 * big_l**-3, s2**2 * big_l**-3], axis=1)  # fmt: skip


@dataclass(frozen=True)
class QNMLaws:
    """The sparse fits of ``Re`` and ``Im`` of ``√27 M ω`` over :data:`TERMS`, and the table they came from."""

    real: SparseFit
    imag: SparseFit
    table: QNMTable
    scan: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    truncation: dict[str, np.ndarray] = field(default_factory=dict)

    def coefficient(self, target: str, term: str) -> tuple[float, float]:
        """Fitted coefficient of ``term`` in ``target`` (``"Re"`` or ``"Im"``) and its bootstrap spread."""
        fit = self.real if target == "Re" else self.imag
        j = fit.terms.index(term)
        return float(fit.coefficients[0, j]), float(fit.std[0, j])

    def shift(self, target: str, term: str) -> float:
        """How far the coefficient moves when the lowest ``l`` is left out: the truncated series' share of
        its error, which the bootstrap (measurement errors only) does not see. NaN when not measured."""
        shifts = self.truncation.get(target)
        return math.nan if shifts is None else float(shifts[TERMS.index(term)])

    def errors(self) -> dict[str, float]:
        """Relative error of each scored coefficient (1 where the fit dropped it)."""
        return {f"{t}: {term}": abs(self.coefficient(t, term)[0] - v) / abs(v) for (t, term), v in TRUTH.items()}

    def spurious(self) -> list[str]:
        """Kept terms of the wrong parity."""
        return [f"{t}: {term}" for t, terms in ABSENT.items() for term in terms if self.coefficient(t, term)[0] != 0]

    def corrections(self) -> dict[int, dict[str, float]]:
        """Per spin: the first correction of each part, fitted and from the expansion."""
        out = {}
        for s in sorted(set(self.table.s.tolist())):
            c1 = self.coefficient("Re", "1/L")[0] + s**2 * self.coefficient("Re", "s^2/L")[0]
            e2 = self.coefficient("Im", "1/L^2")[0] + s**2 * self.coefficient("Im", "s^2/L^2")[0]
            out[int(s)] = {"Re 1/L": c1, "Re 1/L expansion": (1 - s * s) / 3 - 65 / 216,
                           "Im 1/L^2": e2, "Im 1/L^2 expansion": 295 / 7776 - (1 - s * s) / 18}  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"real": self.real.to_dict(), "imag": self.imag.to_dict(), "errors": self.errors(),
                "spurious": self.spurious(), "scan": self.scan,
                "truncation_shift": {k: v.tolist() for k, v in self.truncation.items()},
                "corrections": self.corrections(), "table": self.table.to_dict()}  # fmt: skip


#: Thresholds scanned, largest first (shares of the target's RMS).
THRESHOLDS = (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4)


def discover_qnm_laws(
    table: QNMTable, *, thresholds: Sequence[float] = THRESHOLDS, bootstrap: int = 200, seed: int = 0
) -> QNMLaws:
    """Fit ``Re`` and ``Im`` of ``√27 M ω`` over :data:`TERMS`, each on its own.

    The bootstrap redraws every frequency from its error bound. Each part is fitted at every
    threshold of ``thresholds`` and the fit kept is the one at the *lowest* threshold that is
    still identifiable (every kept term survives the bootstrap with a small spread): the richest
    law the measurements pin down (stability selection). When none is, the fit at the largest
    threshold is returned, marked not identifiable. ``scan`` records every threshold's support
    and residual (the Pareto front); ``truncation`` how each coefficient moves when the fit at the chosen
    threshold is repeated without the lowest ``l`` (the bootstrap cannot see the truncated series).
    """
    if len(table.s) < len(TERMS):
        raise ValueError(f"table has {len(table.s)} modes: the library of {len(TERMS)} terms needs at least as many")
    if not thresholds or any(not 0 < t < 1 for t in thresholds):
        raise ValueError(f"thresholds = {tuple(thresholds)!r} are invalid: need one or more values in (0, 1)")
    theta = library(table.s, table.l)
    chosen, scan, truncation = [], {}, {}
    higher = table.l > table.l.min()
    for name, part in (("Re", np.real), ("Im", np.imag)):
        y, sigma = math.sqrt(27) * part(table.omega), math.sqrt(27) * part(table.error)
        fits = [sparse_fit(theta, y, terms=TERMS, targets=(name,), y_error=sigma, threshold=t, bootstrap=bootstrap,
                           seed=seed) for t in sorted(thresholds, reverse=True)]  # fmt: skip
        stable = [f for f in fits if f.identifiable]
        chosen.append(stable[-1] if stable else fits[0])
        scan[name] = [{"threshold": f.settings["threshold"], "terms": list(f.support(name)),
                       "residual": float(f.residual[0]), "identifiable": f.identifiable} for f in fits]  # fmt: skip
        if np.count_nonzero(higher) >= len(TERMS):
            without = sparse_fit(theta[higher], y[higher], terms=TERMS, targets=(name,),
                                 threshold=chosen[-1].settings["threshold"], bootstrap=0)  # fmt: skip
            truncation[name] = np.abs(without.coefficients[0] - chosen[-1].coefficients[0])
    return QNMLaws(*chosen, table, scan, truncation)


@dataclass(frozen=True)
class TailLaw:
    """Measured tail exponents (with windows and error bounds) and the fit of ``p`` over ``{1, l, s}``."""

    s: np.ndarray
    l: np.ndarray  # noqa: E741
    exponent: np.ndarray
    error: np.ndarray
    windows: np.ndarray
    fit: SparseFit | None = None

    def integer_law(self) -> dict[str, int]:
        """The fitted coefficients rounded to integers."""
        return {t: round(c) for t, c in self.fit.support("p").items()} if self.fit else {}

    def to_dict(self) -> dict[str, Any]:
        return {"s": self.s.tolist(), "l": self.l.tolist(), "exponent": self.exponent.tolist(),
                "error": self.error.tolist(), "windows": self.windows.tolist(),
                "fit": None if self.fit is None else self.fit.to_dict(), "integer_law": self.integer_law()}  # fmt: skip


#: Tail runs: pulse at r* = 10 M (width 2 M), observer at r* = 10 M, spacing 0.2 M, 1500 M long.
TAIL_RUN = {"center": 10.0, "width": 2.0, "observer": 10.0, "h": 0.2, "t_final": 1500.0}
#: Round-off floor of |psi| (relative to its peak) the window must end above; the ringdown must
#: be below this share of |psi| where it opens.
TAIL_FLOOR, RINGDOWN_SHARE = 1e-12, 1e-3


def _tail(s: int, ell: int) -> tuple[float, float, float, float]:
    """Exponent (with the 1/t correction fitted), its error bound and the window."""
    from physml.simulators.near_horizon import Perturbation, evolve, fit_power_law, gaussian_pulse
    from physml.simulators.near_horizon.leaver import leaver_qnm

    run = evolve(Perturbation(s=s, l=ell), gaussian_pulse(center=TAIL_RUN["center"], width=TAIL_RUN["width"]),
                 t_final=TAIL_RUN["t_final"], extract_at=[TAIL_RUN["observer"]], scheme="double-null",
                 h=TAIL_RUN["h"])  # fmt: skip
    keep = np.isfinite(run.waveforms[0])
    t, y = run.t[keep], run.waveforms[0][keep]
    size = np.abs(y) / np.abs(y).max()
    end = float(t[np.flatnonzero(size >= TAIL_FLOOR)[-1]])
    ringdown = np.exp(leaver_qnm(s, ell).imag * (t - t[np.argmax(size)]))  # the fundamental's envelope
    clean = np.flatnonzero((ringdown < RINGDOWN_SHARE * size) & (t >= end / 2) & (t <= end))
    if clean.size < 20 or math.log(end / t[clean[0]]) < 0.3:
        raise ValueError(
            f"(s, l) = ({s}, {ell}) is invalid: no tail between the ringdown and the round-off floor of float64 "
            f"at fixed r (a t^-{2 * ell + 3} tail is below 1e-12 of the peak by then)"
        )
    start = float(t[clean[0]])
    plain = fit_power_law(t, y, t_min=start, t_max=end)
    window = (t >= start) & (t <= end)
    columns = np.stack([np.log(t[window]), np.ones(window.sum()), 1 / t[window]], axis=1)
    corrected = float(np.linalg.lstsq(columns, np.log(np.abs(y[window])), rcond=None)[0][0])
    return corrected, abs(corrected - plain.exponent) + plain.spread, start, end


def measure_tails(cases: Sequence[tuple[int, int]] = ((0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2))) -> TailLaw:
    """The late-time exponent at fixed r of each ``(s, l)``: ``ln|psi|`` fitted over ``{ln t, 1, 1/t}``.

    The window ends where ``|psi|`` last exceeds :data:`TAIL_FLOOR` of its peak and opens at half that
    time, or later, once the fundamental quasinormal mode (Leaver's damping) has fallen below
    :data:`RINGDOWN_SHARE` of ``|psi|``. ``error`` is the change the ``1/t`` term makes plus the drift
    of the local index over the window: the distance to the asymptotic exponent.
    """
    rows = [(s, ell, *_tail(int(s), int(ell))) for s, ell in cases]
    s, ell, p, err, t0, t1 = (np.array(c) for c in zip(*rows))
    return TailLaw(s.astype(int), ell.astype(int), p, err, np.stack([t0, t1], axis=1))


def discover_tail_law(tails: TailLaw, *, threshold: float = 0.01, bootstrap: int = 200, seed: int = 0) -> TailLaw:
    """Fit the exponents over ``{1, l, s}`` (bootstrap from their error bounds)."""
    if len(tails.exponent) < 4:
        raise ValueError(f"tails hold {len(tails.exponent)} exponents: a law over 3 terms needs at least 4")
    theta = np.stack([np.ones(len(tails.l)), tails.l.astype(float), tails.s.astype(float)], axis=1)
    fit = sparse_fit(theta, tails.exponent, terms=("1", "l", "s"), targets=("p",), y_error=tails.error,
                     threshold=threshold, bootstrap=bootstrap, seed=seed)  # fmt: skip
    return TailLaw(tails.s, tails.l, tails.exponent, tails.error, tails.windows, fit)
