"""Closed-form solutions the Schrödinger simulator is verified against."""

from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid

from physml.simulators.grid import Grid

__all__ = [
    "driven_oscillator_mean_position",
    "free_gaussian_width",
    "harmonic_coherent_state",
    "packet_transmission",
    "square_barrier_transmission",
]


def free_gaussian_width(t: float | np.ndarray, sigma0: float, *, hbar: float = 1.0, mass: float = 1.0) -> np.ndarray:
    """Std of ``|psi|^2`` for a free Gaussian: ``sigma0 sqrt(1 + (hbar t / (2 m sigma0^2))^2)``."""
    return sigma0 * np.sqrt(1.0 + (hbar * np.asarray(t) / (2 * mass * sigma0**2)) ** 2)


def harmonic_coherent_state(
    grid: Grid, x0: float, t: float, *, omega: float = 1.0, hbar: float = 1.0, mass: float = 1.0
) -> np.ndarray:
    """Exact coherent state of ``V = m omega^2 x^2 / 2`` released at rest from ``x0`` (1D).

    With ``xi = x sqrt(m omega / hbar)`` and ``alpha(t) = x0 sqrt(m omega / 2 hbar) e^{-i omega t}``,
    ``psi = e^{-i omega t/2} pi^{-1/4} (m omega/hbar)^{1/4} exp(-xi^2/2 + sqrt(2) alpha xi - alpha^2/2
    - |alpha|^2/2)`` (generating function of the Hermite functions).
    """
    scale = np.sqrt(mass * omega / hbar)
    xi = grid.coords[0] * scale
    alpha = x0 * np.sqrt(mass * omega / (2 * hbar)) * np.exp(-1j * omega * t)
    exponent = -(xi**2) / 2 + np.sqrt(2) * alpha * xi - alpha**2 / 2 - abs(alpha) ** 2 / 2
    return np.exp(-0.5j * omega * t) * np.pi**-0.25 * np.sqrt(scale) * np.exp(exponent)


def square_barrier_transmission(
    energy: np.ndarray | float, height: float, width: float, *, hbar: float = 1.0, mass: float = 1.0
) -> np.ndarray:
    """Plane-wave transmission probability ``T(E)`` through a square barrier of ``height`` and ``width``.

    ``T = [1 + V0^2 sinh^2(kappa a) / (4 E (V0 - E))]^-1`` below the top, with ``sin`` and
    ``E - V0`` above it (e.g. Griffiths, *Introduction to Quantum Mechanics*, problem 2.33).
    """
    e = np.asarray(energy, dtype=complex)
    q = np.sqrt(2 * mass * (e - height)) / hbar  # imaginary below the barrier top
    # sin(q a)^2 / (E - V0) covers both branches (sin(i k a)^2 = -sinh(k a)^2); its limit at E = V0 is 2 m a^2 / hbar^2.
    ratio = np.where(
        np.abs(q * width) < 1e-8,
        2 * mass * width**2 / hbar**2,
        np.sin(q * width) ** 2 / np.where(q == 0, 1, e - height),
    )
    return np.real(1.0 / (1.0 + height**2 * ratio / (4 * e)))


def packet_transmission(
    momentum: float, width: float, height: float, barrier_width: float, *, hbar: float = 1.0, mass: float = 1.0
) -> float:
    """``T(E)`` averaged over the momentum distribution of a Gaussian packet.

    A packet whose ``|psi|^2`` has std ``width`` has ``|phi(p)|^2`` Gaussian
    with mean ``momentum`` and std ``hbar / (2 width)``. Momenta ``p <= 0``
    (which never reach the barrier) contribute zero.
    """
    sigma_p = hbar / (2 * width)
    p = np.linspace(momentum - 12 * sigma_p, momentum + 12 * sigma_p, 20001)
    weight = np.exp(-((p - momentum) ** 2) / (2 * sigma_p**2))
    moving = p > 0
    t = np.zeros_like(p)
    t[moving] = square_barrier_transmission(p[moving] ** 2 / (2 * mass), height, barrier_width, hbar=hbar, mass=mass)
    return float(trapezoid(weight * t, p) / trapezoid(weight, p))


def driven_oscillator_mean_position(
    t: np.ndarray, x0: float, *, omega: float, field: float, frequency: float, mass: float = 1.0
) -> np.ndarray:
    """``<x>(t)`` in ``V = m omega^2 x^2/2 + E0 x sin(Omega t)``, starting at rest at ``x0``.

    Ehrenfest's theorem is exact for quadratic potentials, so ``<x>`` obeys
    ``x'' = -omega^2 x - (E0/m) sin(Omega t)``; off resonance (``Omega != omega``)
    ``x = x0 cos(omega t) + A (sin(Omega t) - (Omega/omega) sin(omega t))`` with
    ``A = -E0 / (m (omega^2 - Omega^2))``.
    """
    if np.isclose(frequency, omega):
        raise ValueError(f"frequency = {frequency} is invalid: must differ from omega = {omega} (resonance)")
    t = np.asarray(t)
    amplitude = -field / (mass * (omega**2 - frequency**2))
    return x0 * np.cos(omega * t) + amplitude * (np.sin(frequency * t) - frequency / omega * np.sin(omega * t))
