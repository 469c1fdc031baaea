"""Continuous-time surrogates: a neural ODE ``dz/dt = f_θ(z)`` and a Hamiltonian ODE with a learned ``H_θ(q, p)``.

Both read a state ``(B, C, *space)`` (with constant fields such as the potential as extra channels, as every
surrogate does) and return the state at any later times, not only one save interval on:

- ``forward(x)``: the state one save interval (``time_scale``) on, ``(B, C, *space)``: what rollouts,
  evaluation and the trainer's one-step path call, as for any other model;
- ``forward(x, times=t)``: the states at ``t`` after the input's time, in the data's time units, ``t`` of
  shape ``(K,)`` or ``(B, K)`` (per-sample, irregular saves), strictly increasing in each row:
  ``(B, K, C, *space)`` from one solve over the union of the times.

:class:`NeuralODE` integrates a registry network (``fno``, ``resnet``, ``unet``...) as the vector field with
torchdiffeq (``solver``, ``rtol``, ``atol``; ``adjoint`` for constant memory in the length), on the fields
themselves (``latent = 0``) or on a pointwise-encoded latent. :class:`HamiltonianODE` (Greydanus et al.
2019, on fields) learns a separable ``H = T_θ(p) + V_θ(q)`` as sums of network energy densities, with
``(q, p)`` the two halves of the channels (Re ψ and Im ψ: ``i ψ_t = Ĥψ`` is Hamilton's equations for
``H = ½⟨q, Ĥq⟩ + ½⟨p, Ĥp⟩``, separable), integrated by Störmer–Verlet (:func:`~physml.models.ode_solve.leapfrog`),
which keeps a learned energy without drift.

Solves run in float32 even under the trainer's bf16 autocast: adaptive error control in bf16 rejects
every step. Time is measured in save intervals inside, so the network predicts rates of order one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from physml.models.ode_solve import SOLVERS, Dynamics, leapfrog, output_grid, solve, substeps
from physml.models.registry import build_model, config_fields, register_model

__all__ = ["HamiltonianODE", "HamiltonianODEConfig", "NeuralODE", "NeuralODEConfig"]

#: Networks that can serve as the vector field or the energy density (field in, field out).
FIELD_NETS = ("fno", "resnet", "unet")
_OWN_KEYS = ("in_channels", "out_channels", "field_size", "ndim")


@dataclass(frozen=True)
class _ODEConfig:
    """What both continuous models share: channels, the network and its grid, time units and the step limit.

    ``n_input``: input steps per window (filled in from the data); more than one needs an encoder (a latent).
    ``time_scale``: the data's save interval (filled in from the data), the unit of time inside.
    ``horizon``: the latest time a prediction may ask for, in save intervals. ``step_size``: fixed-step
    size in save intervals (fixed-grid solvers, leapfrog). ``max_steps``: the most steps one solve takes.
    """

    in_channels: int
    out_channels: int
    net: str = "fno"
    net_params: dict[str, Any] = field(default_factory=dict)
    field_size: tuple[int, ...] = ()
    n_input: int = 1
    time_scale: float = 1.0
    step_size: float = 0.25
    max_steps: int = 10_000
    horizon: float = 1000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_size", tuple(self.field_size))
        self._check(isinstance(self.out_channels, int) and self.out_channels >= 1, "out_channels", "an integer >= 1")
        self._check(isinstance(self.n_input, int) and self.n_input >= 1, "n_input", "an integer >= 1")
        states = self.n_input * self.out_channels
        self._check(isinstance(self.in_channels, int) and self.in_channels >= states, "in_channels",
                    f">= n_input x out_channels = {states} (the states, then constant fields)")  # fmt: skip
        self._check(self.net in FIELD_NETS, "net", f"one of {', '.join(FIELD_NETS)}")
        own = sorted(set(self.net_params) & set(_OWN_KEYS))
        self._check(not own, "net_params", f"free of {own} (the ODE model sets them)")
        for name in ("time_scale", "step_size", "horizon"):
            value = getattr(self, name)
            self._check(isinstance(value, int | float) and math.isfinite(value) and value > 0, name, "finite and > 0")
        self._check(isinstance(self.max_steps, int) and self.max_steps >= 1, "max_steps", "an integer >= 1")

    def _check(self, ok: bool, name: str, allowed: str) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}.{name} = {getattr(self, name)!r} is invalid: must be {allowed}")

    def net_config(self, in_channels: int, out_channels: int) -> dict[str, Any]:
        """The network's config values: ``net_params`` plus channels, grid and dimension."""
        known = config_fields(self.net)
        values = {"in_channels": in_channels, "out_channels": out_channels, "field_size": self.field_size,
                  "ndim": len(self.field_size) or 1}  # fmt: skip
        return {**self.net_params, **{k: v for k, v in values.items() if k in known}}


class _ContinuousModel(nn.Module):
    """The shared ``forward``: split state and constants, check the times, solve, gather the requested ones."""

    #: The trainer feeds it every target time of a window at once (``forward(x, times=...)``).
    continuous = True
    config: _ODEConfig

    def forward(self, x: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config.n_input * self.config.out_channels
        state, constant = x[:, :c], x[:, c:]  # (B, n_input * C, *space), (B, C_const, *space)
        if times is None:
            grid, index = torch.tensor([0.0, 1.0]), torch.tensor([1])
        else:
            grid, index = output_grid(times.detach().double().cpu() / self.config.time_scale, self.config.horizon)
        with torch.autocast(x.device.type, enabled=False):
            states = self.trajectory(state.float(), constant.float(), grid)  # (G, B, C, *space)
        if times is None:
            return states[1]
        if index.ndim == 1:
            return states[index.to(x.device)].transpose(0, 1)  # (K, B, C, *space) -> (B, K, C, *space)
        rows = torch.arange(x.shape[0], device=x.device)[:, None]
        return states.transpose(0, 1)[rows, index.to(x.device)]  # (B, G, ...) -> (B, K, C, *space)

    def trajectory(self, state: torch.Tensor, constant: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class NeuralODEConfig(_ODEConfig):
    """A :class:`NeuralODE`: its vector-field network, solver and tolerances, latent width.

    ``solver``: a torchdiffeq method (adaptive: dopri5, dopri8, bosh3, fehlberg2, adaptive_heun; fixed-grid:
    euler, midpoint, heun3, rk4, explicit_adams, implicit_adams). ``rtol``/``atol``: adaptive tolerances.
    ``adjoint``: gradients by the adjoint solve (memory constant in the integration length).
    ``latent``: 0 integrates the fields themselves; ``> 0`` a latent of that width, encoded pointwise from
    the input steps and the constants (with ``n_input = 2`` it sees the rate of change: what a wave needs).
    """

    solver: str = "dopri5"
    rtol: float = 1e-3
    atol: float = 1e-5
    adjoint: bool = False
    latent: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check(self.solver in SOLVERS, "solver", f"one of {', '.join(SOLVERS)}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            self._check(isinstance(value, int | float) and math.isfinite(value) and value > 0, name, "finite and > 0")
        self._check(isinstance(self.latent, int) and self.latent >= 0, "latent", "an integer >= 0")
        self._check(self.latent > 0 or self.n_input == 1, "n_input", "1 without a latent (the state is z(0))")


def _pointwise(config: _ODEConfig, in_channels: int, out_channels: int) -> nn.Module:
    conv = nn.Conv1d if len(config.field_size) <= 1 else nn.Conv2d
    return conv(in_channels, out_channels, 1)


@register_model("neural_ode", NeuralODEConfig)
class NeuralODE(_ContinuousModel):
    """``z(t) = z(0) + ∫ f_θ(z) dt`` with ``z = encode(state, constants)``, decoded back to the state.

    Examples
    --------
    >>> model = NeuralODE(NeuralODEConfig(3, 2, net="resnet", net_params={"width": 8}, solver="rk4"))
    >>> model(torch.randn(4, 3, 32)).shape, model(torch.randn(4, 3, 32), times=torch.tensor([0.5, 1.5])).shape
    (torch.Size([4, 2, 32]), torch.Size([4, 2, 2, 32]))
    """

    def __init__(self, config: NeuralODEConfig) -> None:
        super().__init__()
        self.config = config
        width = config.latent or config.out_channels
        n_constant = config.in_channels - config.n_input * config.out_channels
        self.encoder = _pointwise(config, config.in_channels, width) if config.latent else None
        self.decoder = _pointwise(config, width, config.out_channels) if config.latent else None
        self.dynamics = Dynamics(build_model(config.net, config.net_config(width + n_constant, width)))

    @property
    def nfe(self) -> int:
        """Vector-field evaluations since :meth:`reset_nfe` (forward and, with the adjoint, backward)."""
        return self.dynamics.nfe

    def reset_nfe(self) -> None:
        self.dynamics.nfe = 0

    def trajectory(self, state: torch.Tensor, constant: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        z0 = state if self.encoder is None else self.encoder(torch.cat([state, constant], dim=1))
        self.dynamics.condition(constant)
        states = solve(self.dynamics, z0, grid, solver=cfg.solver, rtol=cfg.rtol, atol=cfg.atol,
                       step_size=cfg.step_size, max_steps=cfg.max_steps, adjoint=cfg.adjoint)  # fmt: skip
        if self.decoder is None:
            return states
        g, b = states.shape[:2]
        return self.decoder(states.flatten(0, 1)).unflatten(0, (g, b))  # (G * B, latent, ...) -> (G, B, C, ...)


@dataclass(frozen=True)
class HamiltonianODEConfig(_ODEConfig):
    """A :class:`HamiltonianODE`: the energy-density network and whether ``T`` and ``V`` share it.

    ``shared``: one density ``e_θ`` for both, ``H = Σ e_θ(p) + Σ e_θ(q)`` (exact for Schrödinger, where
    both halves of ``H`` are ``½⟨·, Ĥ·⟩``); otherwise two networks.
    """

    shared: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check(self.out_channels % 2 == 0, "out_channels", "even: the first half is q, the second p")
        self._check(self.n_input == 1, "n_input", "1: (q, p) is the state")


@register_model("hamiltonian_ode", HamiltonianODEConfig)
class HamiltonianODE(_ContinuousModel):
    """Hamilton's equations ``q̇ = ∂T/∂p``, ``ṗ = -∂V/∂q`` for a learned separable energy, by Störmer–Verlet.

    Examples
    --------
    >>> model = HamiltonianODE(HamiltonianODEConfig(3, 2, net="resnet", net_params={"width": 8}))
    >>> model(torch.randn(4, 3, 32)).shape
    torch.Size([4, 2, 32])
    """

    def __init__(self, config: HamiltonianODEConfig) -> None:
        super().__init__()
        self.config = config
        half, n_constant = config.out_channels // 2, config.in_channels - config.out_channels
        self.potential = build_model(config.net, config.net_config(half + n_constant, 1))
        density = config.net_config(half + n_constant, 1)
        self.kinetic = self.potential if config.shared else build_model(config.net, density)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """The learned ``H`` per sample ``(B,)`` of states ``x`` (constants appended, as ``forward`` reads)."""
        half = self.config.out_channels // 2
        q, p, constant = x[:, :half], x[:, half : 2 * half], x[:, 2 * half :]
        return self._density(self.potential, q, constant) + self._density(self.kinetic, p, constant)

    @staticmethod
    def _density(net: nn.Module, part: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([part, constant], dim=1)).flatten(1).sum(1)  # (B, 1, *space) -> (B,)

    def _gradient(self, net: nn.Module, part: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        training = torch.is_grad_enabled()  # keep the graph for the loss; at inference only the value
        with torch.enable_grad():
            leaf = part if part.requires_grad else part.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._density(net, leaf, constant).sum(), leaf, create_graph=training)
        return grad if training else grad.detach()

    def trajectory(self, state: torch.Tensor, constant: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        steps = sum(substeps(g, cfg.step_size) for g in (grid[1:] - grid[:-1]).tolist())
        if steps > cfg.max_steps:
            raise ValueError(
                f"times up to {float(grid[-1]):g} save intervals need {steps} leapfrog steps of {cfg.step_size:g}: "
                f"more than max_steps = {cfg.max_steps} (raise max_steps or step_size)"
            )
        half = cfg.out_channels // 2
        q, p = leapfrog(
            state[:, :half], state[:, half:], grid,
            lambda p: self._gradient(self.kinetic, p, constant),
            lambda q: self._gradient(self.potential, q, constant),
            step_size=cfg.step_size,
        )  # fmt: skip
        return torch.cat([q, p], dim=2)  # (G, B, C, *space)
