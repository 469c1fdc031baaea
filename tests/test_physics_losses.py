"""Physics-constraint losses, checked on exact Schrödinger evolutions from the simulator."""

from __future__ import annotations

import numpy as np
import torch

from physml.models.physics import CONSTRAINTS, SchrodingerContext, constraints_for, energy
from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerSystem, gaussian_packet, simulate


def exact_pair(save_dt: float, ndim: int = 1, *, energies: list | None = None):
    """``psi(0)``, ``psi(save_dt)`` from the simulator (Yoshida-4, fine steps) and the context."""
    grid = Grid(n=(128,) if ndim == 1 else (64, 64), length=24.0 if ndim == 1 else 20.0)
    system = SchrodingerSystem(grid, Harmonic(omega=1.0))
    psi0 = gaussian_packet(grid, center=(2.0,) * ndim, momentum=(0.5,) * ndim, width=0.8)
    run = simulate(system, psi0, dt=save_dt / 20, t_final=save_dt, n_saves=1, scheme="yoshida4")
    psi = torch.from_numpy(run.psi)[:, None]  # (2, 1, *space)
    if energies is not None:
        energies.extend(run.observables["energy"])
    context = SchrodingerContext(
        potential=torch.from_numpy(system.potential_at(0.0))[None],
        dt=torch.tensor([save_dt]),
        lengths=grid.length,
    )
    return psi[0], psi[1], context


def test_exact_evolution_conserves_norm_and_energy():
    simulated: list[float] = []
    psi0, psi1, context = exact_pair(0.05, energies=simulated)
    assert CONSTRAINTS["schrodinger_norm"](psi0, psi1, context).item() < 1e-24
    assert CONSTRAINTS["schrodinger_energy"](psi0, psi1, context).item() < 1e-16
    # The torch energy is the simulator's observable (numpy FFTs there, torch here).
    np.testing.assert_allclose(energy(psi0, context).item(), simulated[0], rtol=1e-12)
    # Harmonic oscillator, packet of width s = 0.8, centre 2, momentum 0.5 (hbar = m = omega = 1):
    # E = (1/(8 s^2) + p^2/2) + (s^2 + x0^2)/2.
    np.testing.assert_allclose(simulated[0], 1 / (8 * 0.64) + 0.125 + (0.64 + 4) / 2, rtol=1e-10)


def test_crank_nicolson_residual_of_exact_evolution_converges_at_second_order():
    steps = np.array([0.08, 0.04, 0.02, 0.01])
    residuals = np.array([CONSTRAINTS["schrodinger_residual"](*exact_pair(dt)).item() for dt in steps])
    # The loss is |r|^2 with r = O(dt^2): slope 4 in dt.
    order = np.polyfit(np.log(steps), np.log(residuals), 1)[0] / 2
    assert abs(order - 2.0) < 0.1, (order, residuals)
    assert residuals[-1] < 1e-7


def test_wrong_predictions_are_penalised():
    psi0, psi1, context = exact_pair(0.05)
    # "Nothing changes": the residual is exactly H psi0, the loss exactly 1.
    torch.testing.assert_close(
        CONSTRAINTS["schrodinger_residual"](psi0, psi0, context), torch.ones(1, dtype=torch.float64)
    )
    # 10 % too much amplitude: norm off by 21 %.
    torch.testing.assert_close(
        CONSTRAINTS["schrodinger_norm"](psi0, 1.1 * psi1, context), torch.full((1,), 0.21**2, dtype=torch.float64)
    )
    # A phase kick exp(i k x) adds kinetic energy.
    x = torch.linspace(-12, 12, 129, dtype=torch.float64)[:-1]
    assert CONSTRAINTS["schrodinger_energy"](psi0, psi1 * torch.exp(1j * 2.0 * x), context).item() > 0.1


def test_two_dimensional_fields_and_gradients():
    psi0, psi1, context = exact_pair(0.02, ndim=2)
    assert CONSTRAINTS["schrodinger_residual"](psi0, psi1, context).item() < 1e-5
    guess = (psi0.clone() * 0.9).requires_grad_()
    loss = sum(CONSTRAINTS[name](psi0, guess, context).sum() for name in constraints_for("schrodinger"))
    loss.backward()
    assert torch.isfinite(guess.grad).all() and guess.grad.abs().sum() > 0
