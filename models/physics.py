"""Physics-constraint losses: terms that penalise predictions the equations forbid.

A constraint is a callable ``(state, prediction, context) -> loss`` on physical
(denormalised) fields, registered by name and dataset family so that a training
config weights terms by name (``{"schrodinger_residual": 0.1, ...}``) and logs
each one, and a config naming a term its family cannot compute fails at start-up.
Schrödinger's are here; near-horizon's (:mod:`physml.models.physics_near_horizon`)
and collapse's (:mod:`physml.models.physics_collapse`) register themselves from
their modules, imported at the end of this one.

Schrödinger terms, for ``i hbar dpsi/dt = H psi`` with ``H = -hbar^2/(2m) lap + V``
on a periodic box, between the last input state ``psi0`` and the prediction
``psi1`` a time ``dt`` later:

``schrodinger_norm``
    ``((N1 - N0) / N0)^2`` with ``N = integral |psi|^2``: unitarity.
``schrodinger_residual``
    the Crank–Nicolson (implicit midpoint) residual
    ``r = i hbar (psi1 - psi0) / dt - H (psi0 + psi1) / 2``, as
    ``integral |r|^2 / integral |H psi0|^2``. The exact evolution leaves
    ``O(dt^2)`` of it (the midpoint rule's error), so it vanishes as the save
    interval shrinks; "nothing changes" leaves about 1.
``schrodinger_energy``
    ``((E1 - E0) / max(|E0|, T0))^2`` with ``E = <psi|H|psi> / N`` and ``T0`` the
    kinetic energy of ``psi0`` (a scale that does not vanish with ``E0``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from physml.kernels.torch_spectral import laplacian

__all__ = [
    "CONSTRAINTS",
    "SchrodingerContext",
    "constraints_for",
    "energy",
    "hamiltonian",
    "register_constraint",
]

#: Registered constraint terms: name -> callable(state, prediction, context) -> (B,) losses.
CONSTRAINTS: dict[str, Callable[..., torch.Tensor]] = {}
#: The names each dataset family can compute.
_FAMILIES: dict[str, list[str]] = {}


def register_constraint(
    name: str, family: str = "schrodinger"
) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Decorator: make a constraint term of ``family``'s data available to training configs by ``name``."""

    def decorate(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        CONSTRAINTS[name] = fn
        _FAMILIES.setdefault(family, []).append(name)
        return fn

    return decorate


def constraints_for(family: str) -> list[str]:
    """The constraint names registered for a dataset family (empty when it has none)."""
    return sorted(_FAMILIES.get(family, []))


@dataclass(frozen=True)
class SchrodingerContext:
    """What the Schrödinger terms need beside the fields, per batch.

    Attributes
    ----------
    potential
        ``(B, *space)`` real potential ``V`` (energy units).
    dt
        ``(B,)`` time between the input state and the prediction.
    lengths
        Box length per spatial axis.
    hbar, mass
        ``(B,)`` constants (or scalars).
    """

    potential: torch.Tensor
    dt: torch.Tensor
    lengths: Sequence[float]
    hbar: torch.Tensor | float = 1.0
    mass: torch.Tensor | float = 1.0

    def per_sample(self, value: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
        """``value`` as a ``(B, 1, ..., 1)`` tensor broadcasting against ``like`` ``(B, *space)``."""
        t = torch.as_tensor(value, dtype=like.real.dtype, device=like.device)
        return t.reshape(-1, *([1] * (like.ndim - 1))) if t.ndim else t

    @property
    def cell_volume(self) -> float:
        n = self.potential.shape[1:]
        volume = 1.0
        for length, points in zip(self.lengths, n):
            volume *= length / points
        return volume


def hamiltonian(psi: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    """``H psi = -hbar^2/(2m) lap psi + V psi`` for complex ``psi`` ``(B, *space)``, spectral Laplacian."""
    hbar, mass = context.per_sample(context.hbar, psi), context.per_sample(context.mass, psi)
    return -(hbar**2) / (2 * mass) * laplacian(psi, context.lengths) + context.potential.to(psi.real.dtype) * psi


def _integral(density: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    return density.flatten(1).sum(1) * context.cell_volume  # (B, *space) -> (B,)


@register_constraint("schrodinger_norm")
def norm_conservation(psi0: torch.Tensor, psi1: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    """``((N1 - N0) / N0)^2`` per sample."""
    n0 = _integral(psi0.abs() ** 2, context)
    n1 = _integral(psi1.abs() ** 2, context)
    return ((n1 - n0) / n0) ** 2


@register_constraint("schrodinger_residual")
def crank_nicolson_residual(psi0: torch.Tensor, psi1: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    """``integral |i hbar (psi1 - psi0)/dt - H (psi0 + psi1)/2|^2 / integral |H psi0|^2`` per sample."""
    hbar = context.per_sample(context.hbar, psi0)
    dt = context.per_sample(context.dt, psi0)
    residual = 1j * hbar * (psi1 - psi0) / dt - hamiltonian(0.5 * (psi0 + psi1), context)
    scale = _integral(hamiltonian(psi0, context).abs() ** 2, context)
    return _integral(residual.abs() ** 2, context) / scale


def energy(psi: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    """``<psi|H|psi> / <psi|psi>`` per sample (real part; ``H`` is Hermitian)."""
    return _integral((psi.conj() * hamiltonian(psi, context)).real, context) / _integral(psi.abs() ** 2, context)


@register_constraint("schrodinger_energy")
def energy_conservation(psi0: torch.Tensor, psi1: torch.Tensor, context: SchrodingerContext) -> torch.Tensor:
    """``((E1 - E0) / scale)^2`` with ``scale = max(|E0|, kinetic energy of psi0)``."""
    e0, e1 = energy(psi0, context), energy(psi1, context)
    hbar = torch.as_tensor(context.hbar, dtype=e0.dtype, device=e0.device)
    mass = torch.as_tensor(context.mass, dtype=e0.dtype, device=e0.device)
    kinetic = -(hbar**2) / (2 * mass) * _integral((psi0.conj() * laplacian(psi0, context.lengths)).real, context)
    kinetic = kinetic / _integral(psi0.abs() ** 2, context)
    return ((e1 - e0) / torch.maximum(e0.abs(), kinetic.abs())) ** 2


# The other families' terms register themselves on import (they use register_constraint above).
from physml.models import physics_collapse, physics_near_horizon  # noqa: E402, F401
