"""Operator-splitting schemes as data (STYLE.md rule 4).

A scheme approximates ``exp(z (A + B))`` by the palindromic product

    exp(a_0 z A) exp(b_0 z B) exp(a_1 z A) ... exp(b_{s-1} z B) exp(a_s z A),

with ``A`` the potential (a pointwise "kick") and ``B`` the kinetic energy (a
pointwise "drift" in Fourier space). The propagator in ``propagator.py`` owns
the loop and fuses the last kick of one step with the first of the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["SCHEMES", "STRANG", "YOSHIDA4", "SplittingScheme", "get_scheme"]


@dataclass(frozen=True)
class SplittingScheme:
    """Kick and drift coefficients of a symmetric splitting and its order in ``dt``."""

    name: str
    kicks: tuple[float, ...]
    drifts: tuple[float, ...]
    order: int

    def __post_init__(self) -> None:
        if len(self.kicks) != len(self.drifts) + 1:
            raise ValueError(f"{self.name}: need len(kicks) == len(drifts) + 1")
        for label, coeffs in (("kicks", self.kicks), ("drifts", self.drifts)):
            if not math.isclose(sum(coeffs), 1.0, abs_tol=1e-14):
                raise ValueError(f"{self.name}: {label} must sum to 1 for consistency, got {sum(coeffs)}")
        if self.kicks != self.kicks[::-1] or self.drifts != self.drifts[::-1]:
            raise ValueError(f"{self.name}: coefficients must be palindromic (time-symmetric)")

    @property
    def negative_drifts(self) -> bool:
        """True when some drift runs backwards in time (unusable in imaginary time)."""
        return any(b < 0 for b in self.drifts)


#: Strang splitting (Feit, Fleck & Steiger, J. Comput. Phys. 47, 412, 1982): order 2.
STRANG = SplittingScheme("strang", kicks=(0.5, 0.5), drifts=(1.0,), order=2)


def _yoshida4() -> SplittingScheme:
    # Triple-jump composition S2(w1 dt) S2(w0 dt) S2(w1 dt) of Strang steps
    # (Yoshida, Phys. Lett. A 150, 262, 1990, eq. 5.19); adjacent half-kicks fused.
    w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
    w0 = 1.0 - 2.0 * w1
    return SplittingScheme(
        "yoshida4",
        kicks=(w1 / 2, (w1 + w0) / 2, (w0 + w1) / 2, w1 / 2),
        drifts=(w1, w0, w1),
        order=4,
    )


#: Yoshida's fourth-order triple jump of Strang steps.
YOSHIDA4 = _yoshida4()

SCHEMES: dict[str, SplittingScheme] = {s.name: s for s in (STRANG, YOSHIDA4)}


def get_scheme(scheme: str | SplittingScheme) -> SplittingScheme:
    """Look a scheme up by name (``"strang"``, ``"yoshida4"``) or pass one through."""
    if isinstance(scheme, SplittingScheme):
        return scheme
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}") from None
