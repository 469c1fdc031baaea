"""Physics-constraint losses of the near-horizon family: ``-ψ_tt + ψ_r*r* - V(r*) ψ = 0`` on saved windows.

The saves are far apart in time (2 M in ``near-horizon-1d``, where a quasinormal
period is ~8 M), so a finite-difference ``ψ_tt`` would carry an O(1) error. The
residual is instead the wave equation integrated over the characteristic diamond
of half-width ``Δ = Δt`` (in null coordinates ``u = t - r*``, ``v = t + r*`` the
equation reads ``ψ_uv = -Vψ/4``)::

    ψ(t+Δ, r) + ψ(t-Δ, r) - ψ(t, r+Δ) - ψ(t, r-Δ) = -(1/2) ∬_diamond V ψ dt dr*

exact for ``V = 0`` whatever ``Δ`` is. The integral is a five-point cubature
(centre weight 2/3, corners 1/12 of the area ``2Δ²``), exact for cubics, so the
identity holds to ``O(Δ⁶)`` derivatives of ``Vψ``: on ``near-horizon-1d``, a
median of 1e-10 and a 99th percentile of 2e-5 of the scale below, against 0.1
for a prediction that copies its input. ``Δt`` must be a whole number of grid
spacings ``Δr*``.

``near_horizon_residual``
    ``Σ R² / Σ ((ψ_N + ψ_S)² + (ψ_E + ψ_W)²)/2`` over the interior points.
``near_horizon_energy``
    ``((E₊ - E₋) / E₋)²`` (``E₋`` floored at 1 % of the batch mean) of the staggered wave energy
    ``E_{n+½} = ∫ [((ψ_{n+1} - ψ_n)/Δt)² + (ψ_r² + Vψ²)_{n, n+1 averaged}] dr*``
    between the steps before and after ``t``: conserved while no wave crosses the
    domain's ends, up to the ``O((ωΔt)²)`` error of the time difference (median
    drift 1e-4 .. 1e-3 on ``near-horizon-1d`` before t = 50 M, 90th percentile 3 %).

Both need two input states (``n_input >= 2``): ``state`` is ``(B, 2, n)`` (``t - Δt``, ``t``),
``prediction`` ``(B, n)`` at ``t + Δt``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from physml.models.physics import register_constraint

__all__ = ["WaveContext", "characteristic_residual", "energy_drift", "wave_energy"]


@dataclass(frozen=True)
class WaveContext:
    """``potential`` ``(B, n)`` on a uniform ``r*`` grid of spacing ``dr``; ``dt`` the time between saves."""

    potential: torch.Tensor
    dt: float
    dr: float

    @property
    def shift(self) -> int:
        """``Δt`` in grid points."""
        k = round(self.dt / self.dr)
        if k < 1 or abs(k * self.dr - self.dt) > 1e-6 * self.dt:
            raise ValueError(
                f"dt = {self.dt!r} is invalid for the near-horizon residual: it must be a whole number of grid "
                f"spacings dr = {self.dr!r} (the characteristic diamond's corners lie on the grid)"
            )
        return k


@register_constraint("near_horizon_residual", family="near_horizon")
def characteristic_residual(state: torch.Tensor, prediction: torch.Tensor, context: WaveContext) -> torch.Tensor:
    """The diamond identity's residual (module doc), per sample ``(B,)``."""
    k, dt = context.shift, context.dt
    before, now = state[:, -2], state[:, -1]
    north, south, centre = prediction[:, k:-k], before[:, k:-k], now[:, k:-k]
    east, west = now[:, 2 * k :], now[:, : -2 * k]
    v = context.potential.to(now.dtype)
    v_c, v_e, v_w = v[:, k:-k], v[:, 2 * k :], v[:, : -2 * k]
    source = (2 / 3) * v_c * centre + (v_c * (north + south) + v_e * east + v_w * west) / 12
    residual = north + south - east - west + dt * dt * source
    scale = 0.5 * ((north + south) ** 2 + (east + west) ** 2)
    return (residual**2).sum(-1) / scale.sum(-1).clamp_min(torch.finfo(scale.dtype).tiny)


def wave_energy(earlier: torch.Tensor, later: torch.Tensor, context: WaveContext) -> torch.Tensor:
    """Staggered energy between two saves ``(B, n)`` a time ``dt`` apart (module doc), ``(B,)``."""
    v = context.potential.to(earlier.dtype)
    rate = (later - earlier) / context.dt

    def slope(psi: torch.Tensor) -> torch.Tensor:
        return torch.gradient(psi, spacing=context.dr, dim=-1)[0]

    density = rate**2 + 0.5 * (slope(earlier) ** 2 + slope(later) ** 2 + v * (earlier**2 + later**2))
    return density.sum(-1) * context.dr


@register_constraint("near_horizon_energy", family="near_horizon")
def energy_drift(state: torch.Tensor, prediction: torch.Tensor, context: WaveContext) -> torch.Tensor:
    """``((E₊ - E₋) / E₋)²`` per sample (module doc); ``E₋`` floored at 1 % of the batch's mean, so a window
    whose wave has left the domain (``E₋ → 0``) weighs its change against the energies around it, not zero."""
    before = wave_energy(state[:, -2], state[:, -1], context)
    after = wave_energy(state[:, -1], prediction, context)
    floor = (0.01 * before.abs().mean()).clamp_min(torch.finfo(before.dtype).tiny)
    return ((after - before) / torch.maximum(before.abs(), floor)) ** 2
