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
every step. Time is measured inside in the model's step (``time_scale``: the save interval times the run's
``time_stride``), so the network predicts rates of order one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from physml.models.ode_solve import SOLVERS, Dynamics, leapfrog, output_grid, solve, substeps
from physml.models.registry import build_model, config_fields, register_model
from physml.models.wave_operators import ModulatedConv, QuadraticDensity

__all__ = ["HamiltonianODE", "HamiltonianODEConfig", "NeuralODE", "NeuralODEConfig"]

#: Networks that can serve as the vector field or the energy density (field in, field out).
FIELD_NETS = ("fno", "resnet", "unet")
_OWN_KEYS = ("in_channels", "out_channels", "field_size", "ndim")
#: What ``net_params`` may hold for a Hamiltonian model of ``form: quadratic``.
QUADRATIC_KEYS = ("terms", "kernel_size", "width")


@dataclass(frozen=True)
class _ODEConfig:
    """What both continuous models share: channels, the network and its grid, time units and the step limit.

    ``n_input``: input steps per window (filled in from the data); more than one needs an encoder (a latent).
    ``time_scale``: the data's save interval (filled in from the data), the unit of time inside.
    ``horizon``: the latest time a prediction may ask for, in units of ``time_scale``. ``step_size``: fixed-step
    size in those units (fixed-grid solvers, leapfrog). ``max_steps``: the most steps one solve takes.
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
    """A :class:`HamiltonianODE`: where the momentum comes from, and the form of the kinetic energy.

    ``momentum``: ``"state"`` when the data's channels are ``(q, p)`` (the first half q, e.g. Re ψ and Im ψ);
    ``"encoded"`` when they hold q only (a wave's ψ) and ``p(0)`` is encoded by a second network from the
    ``n_input >= 2`` input steps and the constants: the model then returns q.
    ``kinetic``: ``"learned"`` (a network's density ``T_θ(p)``) or ``"quadratic"`` (``T = ½ Σ p²``: a wave's
    ``½ ∫ π²``, so that ``p`` is ``q̇`` and the model's wave energy can be read off).
    ``shared``: one learned density ``e_θ`` for both, ``H = Σ e_θ(p) + Σ e_θ(q)`` (exact for Schrödinger,
    where both halves of ``H`` are ``½⟨·, Ĥ·⟩``); otherwise two networks.
    ``form``: ``"network"`` (the densities and the encoder are ``net``) or ``"quadratic"`` (for linear
    equations: densities quadratic and the encoder linear in the field, their coefficients networks of the
    constants, :mod:`~physml.models.wave_operators`; ``net_params`` then holds ``terms``, ``kernel_size``,
    ``width``). ``encoder_params``: overrides of ``net_params`` for the encoder (e.g. a wider stencil).
    ``absorbing``: grid points at each end of every axis where ``p`` is damped, at a rate rising as the square
    of the depth to ``absorbing_rate`` (per unit of the model's time, ``time_scale``) at the edge: for data
    on a window of an open domain, where waves leave (0: none, the system is closed).
    """

    momentum: str = "state"
    kinetic: str = "learned"
    shared: bool = False
    form: str = "network"
    encoder_params: dict[str, Any] = field(default_factory=dict)
    absorbing: int = 0
    absorbing_rate: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check(self.momentum in ("state", "encoded"), "momentum", "'state' or 'encoded'")
        self._check(self.kinetic in ("learned", "quadratic"), "kinetic", "'learned' or 'quadratic'")
        if self.momentum == "state":
            self._check(self.out_channels % 2 == 0, "out_channels", "even: the first half is q, the second p")
            self._check(self.n_input == 1, "n_input", "1 with momentum 'state': (q, p) is the state")
        else:
            self._check(self.n_input >= 2, "n_input", ">= 2 with momentum 'encoded': p(0) is read off the steps")
        quadratic_t = self.kinetic == "quadratic"
        self._check(not (self.shared and quadratic_t), "shared", "False with a quadratic kinetic energy")
        self._check(self.form in ("network", "quadratic"), "form", "'network' or 'quadratic'")
        own = sorted(set(self.encoder_params) & set(_OWN_KEYS))
        self._check(not own, "encoder_params", f"free of {own} (the ODE model sets them)")
        self._check(not self.encoder_params or self.momentum == "encoded", "encoder_params",
                    "empty unless momentum is 'encoded' (there is no encoder)")  # fmt: skip
        integer = isinstance(self.absorbing, int) and not isinstance(self.absorbing, bool)
        self._check(integer and self.absorbing >= 0, "absorbing", "an integer >= 0")
        shortest = min(self.field_size, default=2 * self.absorbing + 1)
        self._check(2 * self.absorbing < shortest, "absorbing", f"< half the grid ({shortest} points)")
        rate = self.absorbing_rate
        number = isinstance(rate, int | float) and not isinstance(rate, bool)
        self._check(number and math.isfinite(rate) and rate >= 0, "absorbing_rate", "a finite number >= 0")
        if self.form == "quadratic":
            for name in ("net_params", "encoder_params"):
                extra = sorted(set(getattr(self, name)) - set(QUADRATIC_KEYS))
                self._check(not extra, name, f"free of {extra} with form 'quadratic' (its keys: {QUADRATIC_KEYS})")

    def part(self, role: str, in_channels: int, out_channels: int) -> nn.Module:
        """A density (``role = "density"``, one output) or the momentum encoder (``"encoder"``), in this form."""
        extra = self.encoder_params if role == "encoder" else {}
        if self.form == "network":
            return build_model(self.net, {**self.net_config(in_channels, out_channels), **extra})
        params = {**self.net_params, **extra}
        fields = self.n_input * self.out_channels if role == "encoder" else self.position_channels
        ndim = len(self.field_size) or 1
        if role == "encoder":
            return ModulatedConv(fields, in_channels - fields, out_channels, ndim=ndim, **params)
        return QuadraticDensity(fields, in_channels - fields, ndim=ndim, **params)

    @property
    def position_channels(self) -> int:
        return self.out_channels // 2 if self.momentum == "state" else self.out_channels


@register_model("hamiltonian_ode", HamiltonianODEConfig)
class HamiltonianODE(_ContinuousModel):
    """Hamilton's equations ``q̇ = ∂T/∂p``, ``ṗ = -∂V/∂q`` for a learned separable energy, by Störmer–Verlet.

    Examples
    --------
    >>> model = HamiltonianODE(HamiltonianODEConfig(3, 2, net="resnet", net_params={"width": 8}))
    >>> model(torch.randn(4, 3, 32)).shape
    torch.Size([4, 2, 32])
    >>> wave = HamiltonianODE(HamiltonianODEConfig(3, 1, net="resnet", net_params={"width": 8}, n_input=2,
    ...                                            momentum="encoded", kinetic="quadratic"))
    >>> wave(torch.randn(4, 3, 32), times=torch.tensor([0.5, 1.0])).shape  # ψ(t - 1), ψ(t), V -> ψ
    torch.Size([4, 2, 1, 32])
    """

    def __init__(self, config: HamiltonianODEConfig) -> None:
        super().__init__()
        self.config = config
        half = config.position_channels
        n_constant = config.in_channels - config.n_input * config.out_channels
        self.potential = config.part("density", half + n_constant, 1)
        learned = config.kinetic == "learned"
        self.kinetic = (
            (self.potential if config.shared else config.part("density", half + n_constant, 1)) if learned else None
        )
        encoded = config.momentum == "encoded"
        self.encoder = config.part("encoder", config.in_channels, half) if encoded else None

    def _positions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(q, the state's p or None, constants)`` of inputs ``x``: no encoding."""
        c, n = self.config.n_input * self.config.out_channels, self.config.position_channels
        state, constant = x[:, :c], x[:, c:]
        if self.encoder is None:
            return state[:, :n], state[:, n:], constant
        return state[:, -n:], None, constant

    def phase_space(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(q, p, constants)`` of inputs ``x`` as ``forward`` reads them (``p`` encoded where configured)."""
        q, p, constant = self._positions(x)
        return q, (self.encoder(x) if p is None else p), constant

    def energy(self, x: torch.Tensor, p: torch.Tensor | None = None) -> torch.Tensor:
        """The learned ``H`` per sample ``(B,)`` of inputs ``x`` (constants appended, as ``forward`` reads),
        with momentum ``p`` when given (an encoded model's ``x`` then holds the positions in its last step)."""
        q, own, constant = self._positions(x) if p is not None else self.phase_space(x)
        return self.hamiltonian(q, own if p is None else p, constant)

    def hamiltonian(self, q: torch.Tensor, p: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        """The learned ``H(q, p)`` per sample ``(B,)``, as :meth:`flow` carries it."""
        kinetic = (
            0.5 * p.flatten(1).square().sum(1) if self.kinetic is None else self._density(self.kinetic, p, constant)
        )
        return self._density(self.potential, q, constant) + kinetic

    @staticmethod
    def _density(net: nn.Module, part: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        return net(torch.cat([part, constant], dim=1)).flatten(1).sum(1)  # (B, 1, *space) -> (B,)

    def _gradient(self, net: nn.Module, part: torch.Tensor, constant: torch.Tensor) -> torch.Tensor:
        training = torch.is_grad_enabled()  # keep the graph for the loss; at inference only the value
        with torch.enable_grad():
            leaf = part if part.requires_grad else part.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._density(net, leaf, constant).sum(), leaf, create_graph=training)
        return grad if training else grad.detach()

    def flow(
        self, q: torch.Tensor, p: torch.Tensor, constant: torch.Tensor, grid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q, p)`` on ``grid`` (in units of ``time_scale``, from 0), each ``(G, B, C, *space)``."""
        cfg = self.config
        steps = sum(substeps(g, cfg.step_size) for g in (grid[1:] - grid[:-1]).tolist())
        if steps > cfg.max_steps:
            raise ValueError(
                f"times up to {float(grid[-1]):g} model steps need {steps} leapfrog steps of {cfg.step_size:g}: "
                f"more than max_steps = {cfg.max_steps} (raise max_steps or step_size)"
            )
        kinetic = (lambda p: p) if self.kinetic is None else (lambda p: self._gradient(self.kinetic, p, constant))
        potential = lambda q: self._gradient(self.potential, q, constant)  # noqa: E731
        damping = self.damping(p.shape[2:]).to(p) if cfg.absorbing else None
        return leapfrog(q, p, grid, kinetic, potential, step_size=cfg.step_size, damping=damping)

    def damping(self, shape: torch.Size) -> torch.Tensor:
        """The absorbing layers' rate ``σ`` on a grid of ``shape``: ``absorbing_rate ((w - d) / w)²`` at depth
        ``d < w = absorbing`` points from an edge, the largest over the axes, 0 inside."""
        w, rate = self.config.absorbing, self.config.absorbing_rate
        sigma = torch.zeros(shape, dtype=torch.float64)
        for axis, n in enumerate(shape):
            depth = torch.minimum(torch.arange(n), torch.arange(n).flip(0)).double()
            profile = rate * ((w - depth).clamp(min=0) / w).square()
            sigma = torch.maximum(sigma, profile.view([-1 if a == axis else 1 for a in range(len(shape))]))
        return sigma.float()

    def trajectory(self, state: torch.Tensor, constant: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        q, p, constant = self.phase_space(torch.cat([state, constant], dim=1))
        qs, ps = self.flow(q, p, constant, grid)
        return qs if self.encoder is not None else torch.cat([qs, ps], dim=2)  # (G, B, C, *space)
