"""Initial wave functions: Gaussian packets and superpositions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from physml.simulators.grid import Grid

__all__ = ["TAIL_TOLERANCE", "edge_amplitude", "gaussian_packet", "normalize", "superpose"]

#: Largest |psi| allowed at the box edge (or at the Nyquist wavenumber), relative to the peak.
TAIL_TOLERANCE = 1e-6


def _per_axis(name: str, value: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in np.atleast_1d(value))
    if len(values) == 1:
        values *= ndim
    if len(values) != ndim:
        raise ValueError(f"{name} = {value!r} is invalid: need {ndim} value(s), one per axis")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} = {value!r} is invalid: must be finite")
    return values


def normalize(grid: Grid, psi: np.ndarray) -> np.ndarray:
    """``psi`` scaled to unit norm ``sum |psi|^2 dV = 1``."""
    norm = math.sqrt(float(grid.integrate(np.abs(psi) ** 2)))
    if not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"psi has norm {norm!r}; cannot normalise (allowed: finite and > 0)")
    return psi / norm


def edge_amplitude(grid: Grid, psi: np.ndarray) -> tuple[float, float]:
    """Largest ``|psi|`` on the box boundary and largest ``|psi_hat|`` at the Nyquist wavenumber.

    Both are relative to the peak value; a smooth periodic state resolved by
    the grid has both far below :data:`TAIL_TOLERANCE`.
    """
    mag = np.abs(psi)
    edges = [np.take(mag, [0, -1], axis=axis).max() for axis in range(grid.ndim)]
    spec = np.abs(np.fft.fftn(psi))
    nyquist = [np.take(spec, [n // 2], axis=axis).max() for axis, n in enumerate(grid.n)]
    return float(max(edges) / mag.max()), float(max(nyquist) / spec.max())


def gaussian_packet(
    grid: Grid,
    *,
    center: float | Sequence[float] = 0.0,
    momentum: float | Sequence[float] = 0.0,
    width: float | Sequence[float] = 1.0,
    hbar: float = 1.0,
) -> np.ndarray:
    """Normalised Gaussian wave packet ``psi ~ exp(-(x - x0)^2 / (4 s^2) + i p0 x / hbar)``.

    Parameters
    ----------
    grid
        Grid to sample on.
    center
        Mean position ``x0`` per axis (length units).
    momentum
        Mean momentum ``p0`` per axis (momentum units, ``hbar k0``).
    width
        Standard deviation ``s`` of ``|psi|^2`` per axis (length units); the
        momentum spread is ``hbar / (2 s)``.
    hbar
        Reduced Planck constant.

    Raises
    ------
    ValueError
        If the packet is not contained in the box (``|psi|`` at the edge above
        1e-6 of its peak) or not resolved by the grid (``|psi_hat|`` at the
        Nyquist wavenumber above 1e-6 of its peak).

    Examples
    --------
    >>> psi = gaussian_packet(Grid(n=256, length=40.0), center=-5.0, momentum=2.0, width=1.0)
    >>> round(float(Grid(n=256, length=40.0).integrate(abs(psi)**2)), 12)
    1.0
    """
    x0 = _per_axis("center", center, grid.ndim)
    p0 = _per_axis("momentum", momentum, grid.ndim)
    s = _per_axis("width", width, grid.ndim)
    if not all(v > 0 for v in s):
        raise ValueError(f"width = {width!r} is invalid: must be > 0")
    if not (math.isfinite(hbar) and hbar > 0):
        raise ValueError(f"hbar = {hbar!r} is invalid: must be finite and > 0")
    exponent = sum(-((x - c) ** 2) / (4 * w**2) + 1j * p * (x - c) / hbar for x, c, p, w in zip(grid.coords, x0, p0, s))
    psi = normalize(grid, np.exp(exponent) * np.ones(grid.shape))
    edge, nyquist = edge_amplitude(grid, psi)
    if edge > TAIL_TOLERANCE:
        raise ValueError(
            f"center = {center!r}, width = {width!r} is invalid: the packet's tails reach the box edge "
            f"(|psi| there is {edge:.2e} of its peak; allowed <= {TAIL_TOLERANCE:.0e}); "
            "move it inwards, narrow it or enlarge the box"
        )
    if nyquist > TAIL_TOLERANCE:
        raise ValueError(
            f"momentum = {momentum!r}, width = {width!r} is invalid: the grid does not resolve the packet "
            f"(|psi_hat| at the Nyquist wavenumber is {nyquist:.2e} of its peak; allowed <= "
            f"{TAIL_TOLERANCE:.0e}); lower the momentum, widen the packet or refine the grid"
        )
    return psi


def superpose(grid: Grid, states: Sequence[np.ndarray], coefficients: Sequence[complex]) -> np.ndarray:
    """Normalised ``sum_j c_j psi_j``."""
    if len(states) != len(coefficients) or not states:
        raise ValueError(
            f"coefficients has {len(coefficients)} entries for {len(states)} states; need one per state (>= 1)"
        )
    total = sum(complex(c) * np.asarray(s, dtype=np.complex128) for c, s in zip(coefficients, states))
    return normalize(grid, total)
