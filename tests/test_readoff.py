"""Physics read off a surrogate: the quasinormal mode fitted to a rollout, and the Hamiltonian wave model.

An oracle (the stored future as the "prediction") must reproduce the simulator's own fit exactly; a model
whose error adds a ringing of its own is told apart by the mode nearest the simulator's; the wave-form
Hamiltonian model (``ψ`` as position, ``p = ψ̇`` encoded from two saves) trains on a tiny build."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
import torch

from physml.models import HamiltonianODE, HamiltonianODEConfig

# Regge–Wheeler s = 2, l = 2 pulses, saves every 2 M to t = 100: 30 samples of ringdown at r* = 10.
TINY_WAVES = {
    "name": "tiny-ringdowns",
    "family": "near_horizon",
    "description": "tiny ringdowns for the read-off tests",
    "seed": 4,
    "n_trajectories": 4,
    "time": {"t_final": 100.0, "n_saves": 50},
    "fixed": {"ndim": 1, "h": 0.1, "r_star_min": -40.0, "r_star_max": 100.0, "stride": 4, "extract_at": [10.0],
              "s": 2, "l": 2, "equation": "regge-wheeler"},
    "sweep": {"center": {"uniform": [18.0, 24.0]}, "width": {"uniform": [2.0, 3.0]}},
    "splits": {"train": 0.5, "test": 0.5},
    "storage": {"compression": "none", "dtype": "float32"},
}  # fmt: skip

WAVE_MODEL = {"net": "resnet", "net_params": {"width": 8, "n_blocks": 2}, "n_input": 2, "momentum": "encoded",
              "kinetic": "quadratic", "field_size": (32,)}  # fmt: skip


SMALL = {"terms": 2, "width": 8}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The shipped recipe, shrunk, trained briefly on the tiny build: ``(data path, checkpoint, log path)``."""
    from physml.datasets import BuildConfig, build_dataset
    from physml.training import Trainer, load_train_config

    folder = tmp_path_factory.mktemp("readoff")
    path = folder / "waves.h5"
    build_dataset(BuildConfig.from_dict(TINY_WAVES), path, workers=1, progress=False)
    config = load_train_config("hamiltonian-near-horizon-1d")
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, path=str(path), batch_size=4),
        model=dataclasses.replace(config.model, params={**config.model.params, "net_params": SMALL}),
        optim=dataclasses.replace(config.optim, warmup_steps=2),
        epochs=12,
        unroll=3,  # (eight saves ahead learn slowly at first: more steps than a test should take)
    )  # fmt: skip
    Trainer(config, folder / "run", progress=False).train()
    return path, folder / "run" / "best.pt", folder / "run" / "log.csv"


def test_the_wave_recipe_trains_on_a_tiny_build(trained):
    _, _, log = trained
    with log.open() as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses


def test_dense_windows_keep_the_input_steps_as_far_apart_as_in_training(trained):
    from physml.training.continuous import dense_windows
    from physml.training.surrogate import load_surrogate

    path, checkpoint, _ = trained
    surrogate = load_surrogate(checkpoint)
    sample = dense_windows(surrogate, path, split="test", saves=4)[0]
    read = sample["input_time"][::2]  # the model's two inputs, two saves (4 M) apart as it trained
    assert read.tolist() == pytest.approx([0.0, 4.0]) and sample["output_time"].tolist() == pytest.approx(
        [6, 8, 10, 12]
    )


def _oracle(ringing: float = 0.0):
    """A ``_predict`` that returns the stored future, plus an undamped ringing of amplitude ``ringing``."""

    def predict(surrogate, batch, stride, saves):
        truth = batch["output_fields"].clone()  # (B, saves, C, *space), normalised
        t = batch["output_time"][:, :, None, None]
        return truth + ringing * torch.cos(0.9 * t), np.arange(1, saves + 1)

    return predict


def test_an_oracle_rollout_gives_the_simulators_fit_exactly(trained, monkeypatch):
    from physml.training import readoff
    from physml.training.surrogate import load_surrogate

    path, checkpoint, _ = trained
    monkeypatch.setattr(readoff, "_predict", _oracle())
    found = readoff.qnm_readoff(load_surrogate(checkpoint), path, split="test")
    assert len(found) >= 2 and {(r.s, r.l) for r in found} == {(2, 2)}
    for r in found:
        assert max(r.error) < 1e-12 and max(r.nearest_error) < 1e-12  # the same samples, the same fit
        assert r.window[0] > r.rollout_start  # the model, not the data, carries the fit's window
        # The simulator's own fit against Leaver's: float32 snapshots at 2 M, 3 modes + 2 exponentials.
        assert max(r.simulator_error) < 5e-3, r.simulator_error


def test_a_ringing_of_the_models_own_is_told_apart_from_the_black_holes(trained, monkeypatch):
    from physml.training import readoff
    from physml.training.surrogate import load_surrogate

    path, checkpoint, _ = trained
    monkeypatch.setattr(readoff, "_predict", _oracle(ringing=1e-3))  # undamped: the least damped mode
    found = readoff.qnm_readoff(load_surrogate(checkpoint), path, split="test")
    for r in found:
        assert r.omega_model.real == pytest.approx(0.9, rel=5e-2) and abs(r.omega_model.imag) < 2e-2
        assert max(r.nearest_error) < 5e-2 < max(r.error)  # the black hole's mode is still there


def test_readoff_refuses_files_and_radii_it_cannot_read(trained, tiny_dataset):
    from physml.training.readoff import qnm_readoff
    from physml.training.surrogate import load_surrogate

    path, checkpoint, _ = trained
    surrogate = load_surrogate(checkpoint)
    with pytest.raises(ValueError, match=r"extract_at = 500.0 is invalid: must lie in the grid, -40 \.\. 100"):
        qnm_readoff(surrogate, path, extract_at=500.0)
    with pytest.raises(ValueError, match="not a near-horizon-1d file"):
        qnm_readoff(surrogate, tiny_dataset)


def test_a_quadratic_kinetic_energy_makes_the_momentum_the_rate_of_the_position():
    torch.manual_seed(0)
    model = HamiltonianODE(HamiltonianODEConfig(3, 1, **WAVE_MODEL))
    x = torch.randn(2, 3, 32)
    q, p, constant = model.phase_space(x)
    assert torch.equal(q, x[:, 1:2]) and p.shape == q.shape
    with torch.no_grad():
        h = 1e-3
        qs, _ = model.flow(q, p, constant, torch.tensor([0.0, h]))
    torch.testing.assert_close((qs[1] - q) / h, p, atol=1e-2 * p.abs().max().item(), rtol=0)  # O(h) from the kick
    assert model(x, times=torch.tensor([0.5, 1.0])).shape == (2, 2, 1, 32)  # positions only: ψ
    assert model.kinetic is None and model.encoder is not None


def test_the_wave_models_learned_energy_stays_bounded_over_a_thousand_steps():
    torch.manual_seed(0)
    model = HamiltonianODE(HamiltonianODEConfig(3, 1, **{**WAVE_MODEL, "step_size": 0.05, "max_steps": 2000}))
    x = 0.3 * torch.randn(1, 3, 32)
    q, p, constant = model.phase_space(x)
    with torch.no_grad():
        qs, ps = model.flow(q, p, constant, torch.linspace(0.0, 50.0, 11))
        energy = torch.stack([model.energy(torch.cat([qs[k], qs[k], constant], 1), ps[k]) for k in range(11)])
    drift = ((energy - energy[0]).abs() / energy[0].abs()).flatten()
    assert drift.max() < 1e-2, drift  # leapfrog's O(h²) error: bounded, not growing
    assert drift[6:].max() < 3 * drift[1:6].max() + 1e-6


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"momentum": "guessed"}, "momentum = 'guessed' is invalid: must be 'state' or 'encoded'"),
        ({"kinetic": "cubic"}, "kinetic = 'cubic' is invalid: must be 'learned' or 'quadratic'"),
        ({"n_input": 1, "in_channels": 2}, "n_input = 1 is invalid: must be >= 2 with momentum 'encoded'"),
        ({"shared": True}, "shared = True is invalid: must be False with a quadratic kinetic energy"),
        ({"encoder_params": {"in_channels": 7}}, r"encoder_params = .* must be free of \['in_channels'\]"),
        (
            {"momentum": "state", "n_input": 1, "out_channels": 2, "in_channels": 3, "encoder_params": {"width": 4}},
            "encoder_params = .* must be empty unless momentum is 'encoded'",
        ),
        ({"absorbing": True}, "absorbing = True is invalid: must be an integer >= 0"),
        ({"absorbing_rate": float("inf")}, "absorbing_rate = inf is invalid: must be a finite number >= 0"),
    ],
)
def test_bad_wave_model_configs_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        HamiltonianODEConfig(**{"in_channels": 3, "out_channels": 1, **WAVE_MODEL, **changes})


QUADRATIC = {
    **WAVE_MODEL,
    "form": "quadratic",
    "net_params": {"terms": 3, "width": 8},
    "encoder_params": {"kernel_size": 9},
}


def test_the_quadratic_form_is_linear_in_the_field_at_every_amplitude():
    torch.manual_seed(0)
    model = HamiltonianODE(HamiltonianODEConfig(3, 1, **QUADRATIC))
    states, potential = torch.randn(2, 2, 32), torch.randn(2, 1, 32)
    times = torch.tensor([0.5, 2.0])
    with torch.no_grad():
        big = model(torch.cat([states, potential], 1), times=times)
        small = model(torch.cat([1e-4 * states, potential], 1), times=times)
        other = model(torch.cat([states.flip(0), potential], 1), times=times)
        both = model(torch.cat([states + states.flip(0), potential], 1), times=times)
    torch.testing.assert_close(1e4 * small, big, rtol=1e-4, atol=1e-5 * big.abs().max().item())  # homogeneous
    torch.testing.assert_close(both, big + other, rtol=1e-4, atol=1e-5 * big.abs().max().item())  # additive


def test_the_quadratic_forms_force_is_self_adjoint_and_its_energy_bounded_below():
    from physml.models.wave_operators import QuadraticDensity

    torch.manual_seed(1)
    density = QuadraticDensity(1, 1, terms=3, kernel_size=5, width=8).double()
    potential = torch.randn(1, 1, 40, dtype=torch.float64)

    def force(q):
        q = q.requires_grad_(True)
        (grad,) = torch.autograd.grad(density(torch.cat([q, potential], 1)).sum(), q)
        return grad

    u, v = torch.randn(2, 1, 1, 40, dtype=torch.float64)
    assert torch.dot(u.flatten(), force(v).flatten()).item() == pytest.approx(
        torch.dot(force(u).flatten(), v.flatten()).item(), rel=1e-12
    )
    assert (density(torch.cat([torch.randn(8, 1, 40, dtype=torch.float64), potential.expand(8, -1, -1)], 1)) >= 0).all()


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"form": "spline"}, "form = 'spline' is invalid: must be 'network' or 'quadratic'"),
        ({"net_params": {"modes": [8]}}, r"net_params = \{'modes': \[8\]\} is invalid: must be free of \['modes'\]"),
        ({"net_params": {"kernel_size": 4}}, "QuadraticDensity.kernel_size = 4 is invalid: must be odd and >= 1"),
        ({"encoder_params": {"terms": 0}}, "ModulatedConv.terms = 0 is invalid: must be an integer >= 1"),
    ],
)
def test_bad_quadratic_configs_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        HamiltonianODE(HamiltonianODEConfig(**{"in_channels": 3, "out_channels": 1, **QUADRATIC, **changes}))


def test_the_absorbing_layer_damps_the_momentum_exactly_and_only_at_the_edges():
    from physml.models.ode_solve import leapfrog

    sigma = torch.tensor([3.0, 0.0, 0.5], dtype=torch.float64)
    zero = lambda x: torch.zeros_like(x)  # noqa: E731
    _, p = leapfrog(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64),
                    torch.tensor([0.0, 0.7, 2.0]), zero, zero, step_size=0.1, damping=sigma)  # fmt: skip
    torch.testing.assert_close(p[-1], torch.exp(-2.0 * sigma), rtol=1e-12, atol=0)
    model = HamiltonianODE(HamiltonianODEConfig(3, 1, **{**QUADRATIC, "absorbing": 4, "absorbing_rate": 2.0}))
    profile = model.damping(torch.Size([32]))
    assert profile[0] == 2.0 and profile[31] == 2.0 and (profile[4:28] == 0).all() and (profile[:4].diff() < 0).all()
    with pytest.raises(ValueError, match=r"absorbing = 16 is invalid: must be < half the grid \(32 points\)"):
        HamiltonianODEConfig(3, 1, **{**QUADRATIC, "absorbing": 16})


def test_an_open_wave_model_loses_energy_where_a_closed_one_keeps_it():
    torch.manual_seed(0)
    energies = {}
    for absorbing in (0, 8):
        torch.manual_seed(0)
        model = HamiltonianODE(HamiltonianODEConfig(3, 1, **{**QUADRATIC, "absorbing": absorbing, "step_size": 0.1}))
        x = torch.randn(1, 3, 32)
        q, p, constant = model.phase_space(x)
        with torch.no_grad():
            qs, ps = model.flow(q, p, constant, torch.tensor([0.0, 40.0]))
            energies[absorbing] = [float(model.energy(torch.cat([qs[k], qs[k], constant], 1), ps[k])) for k in (0, 1)]
    closed, opened = energies[0], energies[8]
    assert closed[1] == pytest.approx(closed[0], rel=5e-2) and opened[1] < 0.5 * opened[0], energies


def test_the_wave_energy_of_the_models_state_is_read_against_the_simulators(trained):
    from physml.training.readoff import wave_energy_readoff
    from physml.training.surrogate import load_surrogate, persistence_like

    path, checkpoint, _ = trained
    surrogate = load_surrogate(checkpoint)
    found = wave_energy_readoff(surrogate, path, times=[4.0, 20.0, 40.0])
    n = len(found["simulator"])
    assert n >= 2 and found["model"].shape == found["relative"].shape == (n, 4) and found["times"][0] == 0
    assert np.isfinite(found["model"]).all() and (found["model"] > 0).all()  # a quadratic form with V >= 0
    np.testing.assert_allclose(found["relative"], found["model"] / found["simulator"][:, None] - 1)
    assert (found["learned_drift"][:, 0] == 0).all() and np.abs(found["learned_drift"]).max() < 5e-2  # leapfrog
    with pytest.raises(ValueError, match="has no wave phase space"):
        wave_energy_readoff(persistence_like(surrogate), path, times=[4.0])


def test_readoff_runs_a_continuous_and_a_discrete_strided_model_through_their_own_rollouts(trained):
    from physml.training.readoff import qnm_readoff
    from physml.training.surrogate import load_surrogate, persistence_like

    path, checkpoint, _ = trained
    surrogate = load_surrogate(checkpoint)
    found = qnm_readoff(surrogate, path, split="test", window=(10.0, 60.0), n_modes=2, n_exponentials=0)
    assert found and all(r.window[0] > r.rollout_start == 4.0 for r in found)
    assert all(np.isfinite(r.omega_simulator) for r in found)
    # a discrete model two saves a step (inputs 4 M apart) reads off from its own, evenly spaced samples;
    # "nothing changes" holds the input from 4 M on: no ringing to find
    still = qnm_readoff(
        persistence_like(surrogate), path, split="test", window=(-3.0, 60.0), n_modes=2, n_exponentials=0
    )
    assert [r.trajectory for r in still] == [r.trajectory for r in found]
    assert all(np.isnan(r.error).all() or max(r.error) > 0.1 for r in still)
    with pytest.raises(ValueError, match="trajectories = 0 is invalid: must be an integer >= 1"):
        qnm_readoff(surrogate, path, trajectories=0)


def test_the_state_energy_converts_model_units_to_the_physical_wave_energy():
    from types import SimpleNamespace

    from physml.datasets.samples import Normalization
    from physml.training.readoff import state_energy

    h, r = 0.1, np.arange(-40.0, 40.0, 0.1)
    psi = np.exp(-(r**2) / 8)  # a Gaussian at rest plus a rate: E = ½ ∫ (π² + ψ'² + V ψ²) in closed form
    pi = 0.3 * np.exp(-(r**2) / 8)
    potential = np.full_like(r, 0.05)
    gauss = np.sqrt(np.pi) * 2.0  # ∫ exp(-r²/4) dr
    expected = 0.5 * (0.09 * gauss + gauss / 8 + 0.05 * gauss)  # ∫ψ'² = ∫ r²/16 exp(-r²/4) = √π·2 / 8
    norm = Normalization(shift=torch.tensor([0.2]), scale=torch.tensor([3.0]))
    dataset = SimpleNamespace(normalization=norm, denormalize=lambda x, channel_dim: norm.denormalize(x, channel_dim))
    q = torch.tensor((psi - 0.2) / 3.0)[None, None]
    p = torch.tensor(pi * 4.0 / 3.0)[None, None]  # dq/ds with s in units of time_scale = 4
    energy = state_energy(dataset, q, p, potential[None], time_scale=4.0, h=h)
    assert energy[0] == pytest.approx(expected, rel=1e-6)  # (the stencil's error at h = 0.1: ~1e-7)
