"""Physics-constraint losses of the collapse family: the polar-areal constraints on each predicted state.

In polar-areal coordinates (``G = c = 1``) the metric functions are fixed on
every slice by the scalar field (Choptuik 1993):

``collapse_hamiltonian``
    ``r [a'/a - 2π r (Φ² + Π²)] + (a² - 1)/2 = 0``, the Hamiltonian constraint;
``collapse_slicing``
    ``r (α'/α - a'/a) - (a² - 1) = 0``, the polar slicing condition.

Both are multiplied by ``r`` (scale-free, as ``hamiltonian_residual`` of the
simulator) and the loss is their mean square over the radial points. The stored
grid is every ``stride``-th point of a ``sinh``-stretched grid, uniform in its
index, so ``f' = (df/di) / (dr/di)`` with fourth-order differences in the index
(one-sided at the ends). On stored data the residuals are the truncation error
of that stencil on the coarse stored grid: they shrink 4–10 times each time the
stored spacing halves (``tests/test_physics_constraints.py``).

The state is ``(B, C, n)`` physical fields; ``context`` says which channel is which. Where a horizon
forms the stored grid stops resolving the collapse and the simulator's own states violate both by
O(1); the training adapter (``physml.training.constraints.CollapseAdapter``) scores only slices
whose input is below the simulator's ``FORMING`` compactness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from physml.models.physics import register_constraint

__all__ = ["CollapseContext", "hamiltonian_constraint", "index_derivative", "slicing_condition"]


@dataclass(frozen=True)
class CollapseContext:
    """The stored radii ``r`` ``(n,)`` and the channel index of ``a``, ``alpha``, ``Phi`` and ``Pi``."""

    r: torch.Tensor
    channels: dict[str, int]

    def field(self, fields: torch.Tensor, name: str) -> torch.Tensor:
        return fields[:, self.channels[name]]


def index_derivative(f: torch.Tensor) -> torch.Tensor:
    """``df/di`` along the last axis, fourth order (centred inside, one-sided at the two ends on each side)."""
    if f.shape[-1] < 5:
        raise ValueError(f"fields with {f.shape[-1]} radial points are invalid: the stencil needs >= 5")
    out = torch.empty_like(f)
    out[..., 2:-2] = (f[..., :-4] - 8 * f[..., 1:-3] + 8 * f[..., 3:-1] - f[..., 4:]) / 12
    first, last = f[..., :5], f[..., -5:]
    out[..., 0] = (-25 * first[..., 0] + 48 * first[..., 1] - 36 * first[..., 2] + 16 * first[..., 3]
                   - 3 * first[..., 4]) / 12  # fmt: skip
    out[..., 1] = (-3 * first[..., 0] - 10 * first[..., 1] + 18 * first[..., 2] - 6 * first[..., 3]
                   + first[..., 4]) / 12  # fmt: skip
    out[..., -2] = (3 * last[..., 4] + 10 * last[..., 3] - 18 * last[..., 2] + 6 * last[..., 1]
                    - last[..., 0]) / 12  # fmt: skip
    out[..., -1] = (25 * last[..., 4] - 48 * last[..., 3] + 36 * last[..., 2] - 16 * last[..., 1]
                    + 3 * last[..., 0]) / 12  # fmt: skip
    return out


def _log_slope(f: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """``f'/f`` on the stored grid."""
    return index_derivative(f) / (index_derivative(r.to(f.dtype)) * f)


@register_constraint("collapse_hamiltonian", family="collapse")
def hamiltonian_constraint(state: torch.Tensor, prediction: torch.Tensor, context: CollapseContext) -> torch.Tensor:
    """Mean square of ``r [a'/a - 2π r (Φ² + Π²)] + (a² - 1)/2`` over the prediction's radii, ``(B,)``."""
    a = context.field(prediction, "a")
    phi, pi = context.field(prediction, "Phi"), context.field(prediction, "Pi")
    r = context.r.to(a.dtype)
    residual = r * (_log_slope(a, r) - 2 * math.pi * r * (phi**2 + pi**2)) + 0.5 * (a**2 - 1)
    return residual.pow(2).mean(-1)


@register_constraint("collapse_slicing", family="collapse")
def slicing_condition(state: torch.Tensor, prediction: torch.Tensor, context: CollapseContext) -> torch.Tensor:
    """Mean square of ``r (α'/α - a'/a) - (a² - 1)`` over the prediction's radii, ``(B,)``."""
    a, alpha = context.field(prediction, "a"), context.field(prediction, "alpha")
    r = context.r.to(a.dtype)
    residual = r * (_log_slope(alpha, r) - _log_slope(a, r)) - (a**2 - 1)
    return residual.pow(2).mean(-1)
