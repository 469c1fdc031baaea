"""Maps linear in a field, with coefficients that are learned functions of constant fields: for linear waves.

The Regge–Wheeler and Zerilli equations are linear in ψ: the state an hour later is a linear function of the
state now, at every amplitude. A network with nonlinear activations is not: what it learned for the pulse
(amplitude ~1) it need not do for the ringdown a thousand times smaller, where the quasinormal frequencies are
read. These two modules keep the field linear and let the potential (any constant field) enter nonlinearly:

- :class:`ModulatedConv`: ``y = Σ_j a_j(c) ⊙ (K_j * x)``, learned stencils ``K_j`` and pointwise
  coefficient networks ``a_j`` of the constants ``c``: any position-dependent linear map with a finite
  stencil (the Hamiltonian model's encoder of ``p(0)`` from two saves);
- :class:`QuadraticDensity`: ``e = ½ Σ_j g_j(c) (K_j * q)²`` with ``g_j = softplus(·) >= 0``: an energy
  density quadratic in ``q``, so ``-∂V/∂q = -Σ_j K_jᵀ (g_j K_j q)`` is linear and self-adjoint and the
  energy is bounded below. The Regge–Wheeler energy ``½ (ψ'² + V ψ²)`` is this form with two terms.

Convolutions are zero-padded: a field near the grid's ends sees nothing beyond them (no periodic wrap).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ModulatedConv", "QuadraticDensity"]


def _check(owner: str, **values: int) -> None:
    if values.get("ndim", 1) not in (1, 2):
        raise ValueError(f"{owner}.ndim = {values['ndim']!r} is invalid: must be 1 or 2")
    values.pop("ndim", None)
    for name, value in values.items():
        minimum = 0 if name == "constants" else 1
        if not (isinstance(value, int) and value >= minimum) or (name == "kernel_size" and value % 2 == 0):
            allowed = "odd and >= 1" if name == "kernel_size" else f"an integer >= {minimum}"
            raise ValueError(f"{owner}.{name} = {value!r} is invalid: must be {allowed}")


class _Coefficients(nn.Module):
    """``(B, C_const, *space) -> (B, terms, *space)``: a pointwise two-layer network, or learned constants
    when there are no constant fields."""

    def __init__(self, constants: int, terms: int, width: int, ndim: int) -> None:
        super().__init__()
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        self.terms, self.ndim = terms, ndim
        if constants:
            self.net = nn.Sequential(conv(constants, width, 1), nn.GELU(), conv(width, terms, 1))
        else:
            self.net, self.value = None, nn.Parameter(torch.zeros(terms))

    def forward(self, constant: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        if self.net is not None:
            return self.net(constant)
        return self.value.view(1, self.terms, *([1] * self.ndim)).expand(like.shape[0], -1, *like.shape[2:])


class ModulatedConv(nn.Module):
    """``(B, C_in + C_const, *space) -> (B, C_out, *space)``, linear in the first ``C_in`` channels.

    ``y_o = Σ_j a_{oj}(c) ⊙ (K_{oj} * x)`` for ``terms`` stencils per output channel.
    """

    def __init__(self, in_channels: int, constants: int, out_channels: int, *, terms: int = 4,
                 kernel_size: int = 5, width: int = 32, ndim: int = 1) -> None:  # fmt: skip
        super().__init__()
        _check("ModulatedConv", in_channels=in_channels, constants=constants, out_channels=out_channels,
               terms=terms, kernel_size=kernel_size, width=width, ndim=ndim)  # fmt: skip
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        self.in_channels, self.out_channels, self.terms = in_channels, out_channels, terms
        self.stencils = conv(in_channels, out_channels * terms, kernel_size, padding=kernel_size // 2, bias=False)
        self.coefficients = _Coefficients(constants, out_channels * terms, width, ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        field, constant = x[:, : self.in_channels], x[:, self.in_channels :]
        weighted = self.coefficients(constant, field) * self.stencils(field)  # (B, out * terms, *space)
        return weighted.unflatten(1, (self.out_channels, self.terms)).sum(2)


class QuadraticDensity(nn.Module):
    """``(B, C_q + C_const, *space) -> (B, 1, *space)``: ``½ Σ_j softplus(g_j(c)) (K_j * q)²``."""

    def __init__(self, in_channels: int, constants: int, *, terms: int = 4, kernel_size: int = 5, width: int = 32,
                 ndim: int = 1) -> None:  # fmt: skip
        super().__init__()
        _check("QuadraticDensity", in_channels=in_channels, constants=constants, terms=terms,
               kernel_size=kernel_size, width=width, ndim=ndim)  # fmt: skip
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        self.in_channels = in_channels
        self.stencils = conv(in_channels, terms, kernel_size, padding=kernel_size // 2, bias=False)
        self.coefficients = _Coefficients(constants, terms, width, ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        field, constant = x[:, : self.in_channels], x[:, self.in_channels :]
        weights = F.softplus(self.coefficients(constant, field))
        return 0.5 * (weights * self.stencils(field).square()).sum(1, keepdim=True)
