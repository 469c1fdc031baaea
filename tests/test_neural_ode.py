"""Continuous-time models: gradients by back-propagation and by the adjoint agree, a linear field learns
exp(At), Störmer–Verlet keeps a quadratic energy to round-off, dense times agree with repeated steps, and
bad times, solvers and blow-ups are refused with their names."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from torch import nn

from physml.models import HamiltonianODE, HamiltonianODEConfig, NeuralODE, NeuralODEConfig, build_model
from physml.models.ode_solve import Dynamics, ODEBlowUpError, leapfrog, output_grid, solve

RESNET = {"net": "resnet", "net_params": {"width": 8, "n_blocks": 2}}


def small_ode(**changes) -> NeuralODE:
    torch.manual_seed(0)
    return NeuralODE(NeuralODEConfig(3, 2, field_size=(32,), **{**RESNET, **changes}))


def test_gradients_by_backpropagation_and_by_the_adjoint_agree():
    x = torch.randn(2, 3, 32, dtype=torch.float64)
    grads = []
    for adjoint in (False, True):
        model = small_ode(solver="dopri5", rtol=1e-9, atol=1e-11, adjoint=adjoint).double()
        # float64 through the model: run the solve outside the float32 cast the forward applies
        states = model.trajectory(x[:, :2], x[:, 2:], torch.tensor([0.0, 0.7, 1.5], dtype=torch.float64))
        states.square().sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert grads[0].abs().max() > 1e-3  # the check is not vacuous
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-7)


def test_a_linear_field_learns_the_exact_solution_of_a_linear_system():
    """Trajectories of dz/dt = A z (a damped rotation); a linear vector field fitted by odeint recovers A,
    and its predictions at times it never saw match expm(A t)."""
    a = torch.tensor([[-0.1, 1.0], [-1.0, -0.1]], dtype=torch.float64)
    z0 = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    seen, unseen = torch.tensor([0.0, 0.5, 1.0, 1.5]), torch.tensor([0.0, 0.25, 2.5])
    truth = lambda t: torch.stack([z0 @ torch.linalg.matrix_exp(a * s).T for s in t.double()])  # noqa: E731
    dynamics = Dynamics(nn.Linear(2, 2, bias=False).double())
    options = {"solver": "rk4", "rtol": 1e-6, "atol": 1e-8, "step_size": 0.05, "max_steps": 1000}
    optimizer = torch.optim.Adam(dynamics.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss = (solve(dynamics, z0, seen.double(), **options) - truth(seen)).square().mean()
        loss.backward()
        optimizer.step()
    torch.testing.assert_close(dynamics.net.weight.detach(), a, atol=1e-4, rtol=0)
    with torch.no_grad():
        predicted = solve(dynamics, z0, unseen.double(), **options)
    # rk4 with h = 0.05 on |lambda| ~ 1: local error ~ h^5 / 120 per step, far below the tolerance
    torch.testing.assert_close(predicted, truth(unseen), atol=1e-4, rtol=0)


def test_stormer_verlet_keeps_a_quadratic_energy_to_round_off_over_ten_thousand_steps():
    """Oscillators q'' = -w^2 q: KDK leapfrog conserves H~ = (p^2 + w^2 q^2 (1 - w^2 h^2 / 4)) / 2 exactly,
    and the true energy's error stays O((w h)^2) with no drift."""
    w = torch.tensor([0.5, 1.3, 3.0], dtype=torch.float64)
    h, n = 0.1, 10_000
    q, p = torch.tensor([1.0, -0.4, 0.2], dtype=torch.float64), torch.tensor([0.0, 0.7, -1.0], dtype=torch.float64)
    grid = torch.arange(0, n + 1, 100, dtype=torch.float64) * h
    qs, ps = leapfrog(q, p, grid, lambda p: p, lambda q: w**2 * q, step_size=h)
    modified = (ps**2 + w**2 * qs**2 * (1 - (w * h) ** 2 / 4)) / 2
    energy = (ps**2 + w**2 * qs**2) / 2
    assert float(((modified - modified[0]) / modified[0]).abs().max()) < 1e-12
    drift = ((energy - energy[0]) / energy[0]).abs()
    assert float(drift.max()) < (w * h).square().max() / 4 + 1e-12  # bounded by the modified-energy gap
    half = len(grid) // 2
    assert float(drift[half:].max()) < 1.1 * float(drift[: half + 1].max())  # no secular growth


@pytest.mark.parametrize("kind", ["rk4", "hamiltonian"])
def test_predictions_at_the_saved_times_match_repeated_steps(kind):
    torch.manual_seed(0)
    if kind == "rk4":
        model = small_ode(solver="rk4", step_size=0.25, time_scale=0.1)
    else:
        model = HamiltonianODE(HamiltonianODEConfig(3, 2, field_size=(32,), time_scale=0.1, step_size=0.25, **RESNET))
    x = torch.randn(4, 3, 32)
    with torch.no_grad():
        dense = model(x, times=torch.tensor([0.1, 0.2, 0.3]))  # (B, 3, C, X)
        state, stepped = x, []
        for _ in range(3):
            state = torch.cat([model(state), x[:, 2:]], dim=1)
            stepped.append(state[:, :2])
    torch.testing.assert_close(dense, torch.stack(stepped, dim=1), atol=1e-5, rtol=1e-5)


def test_per_sample_times_equal_solving_each_sample_alone():
    model = small_ode(solver="dopri5", rtol=1e-7, atol=1e-9)
    x = torch.randn(2, 3, 32)
    times = torch.tensor([[0.5, 1.0, 2.0], [0.3, 1.0, 1.7]])
    with torch.no_grad():
        together = model(x, times=times)
        alone = torch.cat([model(x[i : i + 1], times=times[i]) for i in range(2)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_the_hamiltonian_model_learns_energy_gradients_and_shares_its_density_on_request():
    shared = HamiltonianODE(HamiltonianODEConfig(3, 2, field_size=(32,), shared=True, **RESNET))
    apart = HamiltonianODE(HamiltonianODEConfig(3, 2, field_size=(32,), **RESNET))
    assert sum(p.numel() for p in apart.parameters()) == 2 * sum(p.numel() for p in shared.parameters())
    x = torch.randn(2, 3, 32)
    out = apart(x)
    out.square().sum().backward()
    assert all(p.grad is not None for n, p in apart.named_parameters() if n.endswith("weight"))
    assert apart.energy(x).shape == (2,)
    with pytest.raises(ValueError, match="out_channels = 3 is invalid: must be even"):
        HamiltonianODEConfig(4, 3)


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (torch.tensor([1.0, 0.5]), "strictly increasing"),
        (torch.tensor([0.0, 0.5]), r"must lie in \(0, horizon"),
        (torch.tensor([1.0, 2000.0]), r"must lie in \(0, horizon = 1000\]"),
        (torch.tensor([1.0, math.nan]), "must be finite"),
        (torch.empty(0), "must be"),
    ],
)
def test_bad_times_are_refused_with_their_values(times, match):
    with pytest.raises(ValueError, match=match):
        output_grid(times, 1000.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"solver": "rk45"}, "solver = 'rk45' is invalid: must be one of dopri5, .*rk4"),
        ({"rtol": math.nan}, "rtol = nan is invalid: must be finite and > 0"),
        ({"atol": -1.0}, "atol = -1.0 is invalid"),
        ({"step_size": 0.0}, "step_size = 0.0 is invalid"),
        ({"max_steps": 0}, "max_steps = 0 is invalid"),
        ({"net": "transformer"}, "net = 'transformer' is invalid: must be one of fno, resnet, unet"),
        ({"net_params": {"in_channels": 4}}, r"net_params = .* must be free of \['in_channels'\]"),
        ({"n_input": 2, "in_channels": 5}, "n_input = 2 is invalid: must be 1 without a latent"),
        ({"n_input": 2, "latent": 4}, "in_channels = 3 is invalid: must be >= n_input x out_channels = 4"),
    ],
)
def test_bad_configs_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        NeuralODEConfig(**{"in_channels": 3, "out_channels": 2, **changes})


def test_a_field_that_blows_up_stops_with_the_time_it_reached():
    class Blows(nn.Module):
        def forward(self, x):
            return torch.where(x.abs() > 1e3, torch.full_like(x, math.nan), x**2 + 1)  # z' = z^2 + 1: tan(t)

    z0 = torch.zeros(1, 1, dtype=torch.float64)
    with pytest.raises(ODEBlowUpError, match=r"stopped at t = 1\.5\d* .*lower optim.lr") as info:
        solve(Dynamics(Blows()), z0, torch.tensor([0.0, 3.0]), solver="dopri5", rtol=1e-6, atol=1e-8,
              step_size=0.1, max_steps=10_000)  # fmt: skip
    assert 1.4 < info.value.time < math.pi / 2 + 0.01  # tan(t) passes 1e3 just before pi / 2


def test_a_leapfrog_run_that_blows_up_stops_with_the_time_it_reached():
    q, p = torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    grid = torch.arange(0.0, 300.0, dtype=torch.float64)  # 23^(2 t) passes 1e308 before t = 120
    # q'' = -100 q with h = 0.5: w h = 5 > 2, outside leapfrog's stability interval; it grows ~ 23x a step
    with pytest.raises(ODEBlowUpError, match=r"stopped at t = \d+ .*non-finite in leapfrog steps of 0\.5"):
        leapfrog(q, p, grid, lambda p: p, lambda q: 100 * q, step_size=0.5)


def test_an_adaptive_solve_never_runs_past_its_step_limit():
    stiff = Dynamics(nn.Linear(1, 1, bias=False).double())
    with torch.no_grad():
        stiff.net.weight.fill_(-1e6)  # a decay rate the explicit solver must resolve step by step
    with pytest.raises(ODEBlowUpError, match="max_num_steps exceeded"):
        solve(stiff, torch.ones(1, 1, dtype=torch.float64), torch.tensor([0.0, 1.0]), solver="dopri5",
              rtol=1e-6, atol=1e-8, step_size=0.1, max_steps=50)  # fmt: skip
    assert stiff.nfe < 50 * 7  # dopri5: at most 6 new evaluations per attempted step
    with pytest.raises(ValueError, match=r"need 100 steps of 0\.01 with rk4: more than max_steps = 50"):
        solve(stiff, torch.ones(1, 1, dtype=torch.float64), torch.tensor([0.0, 1.0]), solver="rk4",
              rtol=1e-6, atol=1e-8, step_size=0.01, max_steps=50)  # fmt: skip


def test_registry_builds_both_models_with_their_networks():
    node = build_model("neural_ode", {"in_channels": 3, "out_channels": 2, "net": "fno",
                                      "net_params": {"modes": [8], "width": 8}, "latent": 4})  # fmt: skip
    assert node(torch.randn(2, 3, 32)).shape == (2, 2, 32)
    waves = build_model("neural_ode", {"in_channels": 3, "out_channels": 1, "n_input": 2, "latent": 4, **RESNET})
    assert waves(torch.randn(2, 3, 32), times=torch.tensor([0.5, 1.0])).shape == (2, 2, 1, 32)  # two steps + V
    ham = build_model("hamiltonian_ode", {"in_channels": 2, "out_channels": 2, **RESNET})
    assert ham(torch.randn(2, 2, 32)).shape == (2, 2, 32)


def ode_config(path, **changes):
    from physml.training import train_config_from_dict

    raw = {
        "data": {"path": str(path), "n_input": 1, "batch_size": 8, "time_stride": 2},
        "model": {
            "name": "neural_ode",
            "params": {
                "net": "fno",
                "solver": "rk4",
                "step_size": 0.5,
                "net_params": {"modes": [12], "width": 12, "n_layers": 2},
            },
        },
        "losses": {"data": 1.0},
        "epochs": 10,
        "unroll": 2,
        "optim": {"lr": 1e-2, "warmup_steps": 3},
        "checkpoint_every": 50,
    }
    raw.update(changes)
    return train_config_from_dict(raw)


def test_training_fits_every_target_time_and_the_checkpoint_predicts_between_them(tiny_dataset, tmp_path):
    from physml.training import Trainer
    from physml.training.continuous import dense_errors, invariant_drift
    from physml.training.evaluate import evaluate_checkpoints
    from physml.training.surrogate import load_surrogate, persistence_like

    trainer = Trainer(ode_config(tiny_dataset), tmp_path / "run", progress=False)
    assert trainer.model.config.time_scale == pytest.approx(2 * 0.1)  # every other save of t_final 0.5 / 5
    trainer.train()
    with (tmp_path / "run" / "log.csv").open() as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert sum(losses[-5:]) / 5 < 0.3 * losses[0]  # (six training trajectories: the held-out loss says little)
    surrogate = load_surrogate(tmp_path / "run" / "best.pt")
    assert surrogate.windows(tiny_dataset, split=None).time_stride == 2  # a step is two saves, as trained
    every = surrogate.windows(tiny_dataset, split="train", time_stride=1, n_output=4)
    batch = next(iter(torch.utils.data.DataLoader(every, batch_size=6)))
    times = batch["output_time"] - batch["input_time"][:, -1:]  # withheld, trained, withheld, trained
    with torch.no_grad():
        dense = surrogate.model(surrogate.format.inputs(batch["input_fields"], batch["constant_fields"]), times=times)
    error = (dense - batch["output_fields"]).square().mean((0, 2, 3))
    persistence = (batch["input_fields"][:, -1:] - batch["output_fields"]).square().mean((0, 2, 3))
    assert (error < 0.7 * persistence).all(), (error, persistence)  # withheld times as well as trained ones
    scores = dense_errors(surrogate, tiny_dataset, split="train", saves=4)  # the same, in physical units
    assert scores["time_stride"] == 2 and len(scores["per_save"]) == 4 and scores["withheld"] > 0
    assert scores["ratio"] == pytest.approx(scores["withheld"] / scores["trained"])
    drift = invariant_drift(surrogate, tiny_dataset, split=None, steps=3)
    still = invariant_drift(persistence_like(surrogate), tiny_dataset, split=None, steps=3)
    assert set(drift) == {"norm", "energy"} and all(len(v) == 3 for v in drift.values())
    assert max(drift["norm"]) > 1e-4 and max(still["norm"]) == max(still["energy"]) == 0  # nothing changes: no drift
    with pytest.raises(ValueError, match="steps one save interval at a time"):
        dense_errors(persistence_like(surrogate), tiny_dataset, split="train", saves=4)
    # evaluation steps two saves at a time too: 5 saves after the first hold 2 steps, not 5
    metrics = evaluate_checkpoints({"ode": tmp_path / "run" / "best.pt"}, tiny_dataset, split="train", rollout=2)
    final = {label: m["rollout"]["nrmse_final"] for label, m in metrics["models"].items()}
    assert final["ode"] < final["persistence"]
    with pytest.raises(ValueError, match=r"taken every 2 saves, so after the 1 input state.* 1 \.\. 2 steps"):
        evaluate_checkpoints([tmp_path / "run" / "best.pt"], tiny_dataset, split="train", rollout=3)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"pushforward": True}, "pushforward = True is invalid for neural_ode"),
        ({"data": {"n_input": 2}, "unroll": 1}, "n_input = 2 is invalid: must be 1 without a latent"),
        ({"model": {"residual": True}}, "model.residual = True is invalid for neural_ode: must be False"),
    ],
)
def test_the_trainer_refuses_what_a_continuous_model_cannot_use(tiny_dataset, tmp_path, changes, match):
    from physml.training import Trainer, train_config_from_dict

    raw = ode_config(tiny_dataset).to_dict()
    for key, value in changes.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
    with pytest.raises(ValueError, match=match):
        Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)


SMALL_FNO = {"modes": [8], "width": 8, "n_layers": 2}


@pytest.mark.parametrize(
    ("recipe", "shrink"),
    [
        ("node-schrodinger-1d", {"net_params": SMALL_FNO}),
        ("hamiltonian-schrodinger-1d", {"net_params": SMALL_FNO}),
        ("fno-schrodinger-1d-stride2", SMALL_FNO),
    ],
)
def test_the_continuous_time_recipes_train_on_a_tiny_build(tiny_dataset, tmp_path, recipe, shrink):
    import dataclasses

    from physml.training import Trainer, load_train_config

    config = load_train_config(recipe)
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, path=str(tiny_dataset), batch_size=4),
        model=dataclasses.replace(config.model, params={**config.model.params, **shrink}),
        optim=dataclasses.replace(config.optim, lr=1e-2, warmup_steps=2),
        epochs=8,
    )
    Trainer(config, tmp_path / "run", progress=False).train()
    with (tmp_path / "run" / "log.csv").open() as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses
