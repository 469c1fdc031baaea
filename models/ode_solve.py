"""Integrating learned vector fields: the requested times checked, torchdiffeq called with a step limit, Störmer–Verlet.

:func:`solve` runs ``torchdiffeq.odeint`` (or ``odeint_adjoint``) on a :class:`Dynamics` and returns the state
at each requested time; :func:`leapfrog` is the symplectic Störmer–Verlet scheme for a separable Hamiltonian
``H(q, p) = T(p) + V(q)``, written here because torchdiffeq has no symplectic solver (its fixed-grid
Runge–Kutta methods drift in energy on Hamiltonian systems, Hairer, Lubich & Wanner, *Geometric Numerical
Integration*, ch. IX). Times are in units of the model's ``time_scale`` (one save interval of its data), so a
step size of 0.25 means four steps per save whatever the physical units.

Every solve has a step limit: a learned field that turns stiff (the step size underflows) or produces NaN
stops with :class:`ODEBlowUpError`, naming the time reached and what to try, instead of running on.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["ADAPTIVE", "FIXED", "SOLVERS", "Dynamics", "ODEBlowUpError", "leapfrog", "output_grid", "solve", "substeps"]

#: torchdiffeq's adaptive (error-controlled) solvers and its fixed-grid ones.
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
FIXED = ("euler", "midpoint", "heun3", "rk4", "explicit_adams", "implicit_adams")
SOLVERS = ADAPTIVE + FIXED

HINT = (
    "the learned vector field has become stiff or blown up: lower optim.lr or grad_clip, resume from an earlier "
    "checkpoint, or use a fixed-step solver (rk4) with a smaller step_size"
)


class ODEBlowUpError(RuntimeError):
    """A solve that could not go on: NaN or infinite state, step-size underflow, or the step limit reached."""

    def __init__(self, time: float, reason: str) -> None:
        super().__init__(f"the ODE solve stopped at t = {time:.6g} (in save intervals): {reason}; {HINT}")
        self.time = time


class Dynamics(nn.Module):
    """``dz/ds = f(z)`` for torchdiffeq: wraps the network, counts evaluations and watches for non-finite rates.

    ``f(z)`` is the network applied to ``z`` with the constant fields (set per solve by :meth:`condition`)
    appended as channels; the system is autonomous (static potentials, fixed backgrounds).
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.constant: torch.Tensor | None = None
        self.nfe = 0  # function evaluations since the last reset, backward passes included
        self.time = 0.0  # the latest time the solver asked about

    def condition(self, constant: torch.Tensor | None) -> None:
        self.constant = constant

    def forward(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        self.time = float(s.detach())
        x = z if self.constant is None or self.constant.shape[1] == 0 else torch.cat([z, self.constant], dim=1)
        rate = self.net(x)
        if not torch.isfinite(rate).all():
            raise ODEBlowUpError(self.time, f"the vector field returned non-finite values after {self.nfe} evaluations")
        return rate


def output_grid(times: torch.Tensor, horizon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The sorted solve grid ``[0, *unique times]`` and, per row, where each requested time sits on it.

    ``times``: ``(K,)`` shared by the batch, or ``(B, K)`` one row per sample (irregular saves), in save
    intervals after the state's own time; each row must be strictly increasing in ``(0, horizon]``.
    Returns ``(grid (G,), index (K,) or (B, K))`` with ``grid[index] == times``.
    """
    if times.ndim not in (1, 2) or times.shape[-1] == 0:
        raise ValueError(f"times of shape {tuple(times.shape)} is invalid: must be (K,) or (B, K) with K >= 1")
    if not torch.isfinite(times).all():
        raise ValueError(f"times = {times.tolist()} is invalid: must be finite")
    if not (times[..., 1:] > times[..., :-1]).all():
        raise ValueError(f"times = {times.tolist()} is invalid: each row must be strictly increasing")
    if times.min() <= 0 or times.max() > horizon:
        raise ValueError(
            f"times from {float(times.min()):.6g} to {float(times.max()):.6g} save intervals are invalid: must lie "
            f"in (0, horizon = {horizon:g}] after the state's time"
        )
    unique = torch.unique(times)  # sorted
    grid = torch.cat([unique.new_zeros(1), unique])
    return grid, torch.searchsorted(grid, times)


def solve(
    dynamics: Dynamics,
    z0: torch.Tensor,
    grid: torch.Tensor,
    *,
    solver: str,
    rtol: float,
    atol: float,
    step_size: float,
    max_steps: int,
    adjoint: bool = False,
) -> torch.Tensor:
    """The states ``(G, *z0.shape)`` on ``grid`` (``grid[0] = 0``, increasing) from ``z0``, by torchdiffeq.

    Adaptive solvers take at most ``max_steps`` steps; fixed-grid ones ``span / step_size``, which must
    not exceed it. ``adjoint`` integrates the adjoint system backwards for the gradients (memory constant
    in the length, ANCHORS: often slower; the gradients are those of a second solve, not of this one).
    """
    from torchdiffeq import odeint, odeint_adjoint

    span = float(grid[-1])
    if solver in ADAPTIVE:
        options: dict[str, object] = {"max_num_steps": max_steps}
    else:
        if span / step_size > max_steps:
            raise ValueError(
                f"times up to {span:g} save intervals need {math.ceil(span / step_size)} steps of {step_size:g} "
                f"with {solver}: more than max_steps = {max_steps} (raise max_steps or step_size)"
            )
        options = {"step_size": step_size}
    kwargs: dict[str, object] = {"rtol": rtol, "atol": atol, "method": solver, "options": options}
    if adjoint:
        kwargs |= {"adjoint_params": tuple(dynamics.parameters()), "adjoint_options": dict(options)}
    grid = grid.to(device=z0.device, dtype=z0.dtype if z0.is_floating_point() else torch.float32)
    try:
        states = (odeint_adjoint if adjoint else odeint)(dynamics, z0, grid, **kwargs)
    except AssertionError as exc:  # torchdiffeq signals underflow and the step limit by assert
        raise ODEBlowUpError(dynamics.time, f"{solver} failed ({exc}) after {dynamics.nfe} evaluations") from None
    if not torch.isfinite(states).all():
        bad = int((~torch.isfinite(states.flatten(1))).any(1).nonzero()[0])
        raise ODEBlowUpError(float(grid[bad]), "the state became non-finite")
    return states


Gradient = Callable[[torch.Tensor], torch.Tensor]


def substeps(gap: float, step_size: float) -> int:
    """Equal steps of at most ``step_size`` that span ``gap`` (at least one)."""
    return max(1, math.ceil(gap / step_size - 1e-9))


def leapfrog(
    q: torch.Tensor,
    p: torch.Tensor,
    grid: torch.Tensor,
    dT_dp: Gradient,
    dV_dq: Gradient,
    *,
    step_size: float,
    damping: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Störmer–Verlet (kick–drift–kick) for ``dq/ds = ∂T/∂p``, ``dp/ds = -∂V/∂q``: ``(q, p)`` on ``grid``.

    Between consecutive grid times it takes ``ceil(gap / step_size)`` equal steps, each

        p ← p - h/2 ∂V/∂q(q);  q ← q + h ∂T/∂p(p);  p ← p - h/2 ∂V/∂q(q),

    a symplectic, time-reversible map of order 2: the energy error stays bounded (O(h²)) however long the
    run, and a quadratic ``H`` keeps a nearby quadratic form exactly. Returns ``(G, *q.shape)`` each.

    ``damping``: a rate ``σ >= 0`` broadcastable to ``p`` adds ``ṗ = -σ p`` (an absorbing layer where a
    domain is open), solved exactly and split symmetrically around each step (Strang, still order 2):
    ``p ← e^{-σh/2} p``, the step, ``p ← e^{-σh/2} p``. Energy then only leaves, where ``σ > 0``.
    """
    qs, ps = [q], [p]
    force = dV_dq(q)
    for start, end in zip(grid[:-1].tolist(), grid[1:].tolist()):
        n = substeps(end - start, step_size)
        h = (end - start) / n
        decay = None if damping is None else torch.exp(-0.5 * h * damping)
        for _ in range(n):
            p = p if decay is None else decay * p
            p = p - 0.5 * h * force
            q = q + h * dT_dp(p)
            force = dV_dq(q)
            p = p - 0.5 * h * force
            p = p if decay is None else decay * p
        if not (torch.isfinite(q).all() and torch.isfinite(p).all()):
            raise ODEBlowUpError(start, f"the state became non-finite in leapfrog steps of {h:.3g} towards {end:g}")
        qs.append(q)
        ps.append(p)
    return torch.stack(qs), torch.stack(ps)
