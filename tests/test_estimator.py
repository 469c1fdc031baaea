"""Inverse prediction: parameters and honest error bars from fields, through the trainer and the evaluation."""

from __future__ import annotations

import math

import pytest
import torch

from physml.datasets import BuildConfig, build_dataset
from physml.models import EstimatorConfig, ParameterEstimator
from physml.training import Trainer, train_config_from_dict
from physml.training.inverse import _mixture, blurred, evaluate_estimator

BARRIERS = {"name": "tiny-barriers", "family": "schrodinger", "description": "packets on barriers", "seed": 3,
            "n_trajectories": 256, "time": {"t_final": 5.0, "n_saves": 10},
            "fixed": {"ndim": 1, "n": 128, "length": 50.0, "dt": 0.01, "potential_kind": "gaussian-barrier",
                      "x0": -5.0},
            "sweep": {"height": {"uniform": [0.5, 3.0]}, "width": {"uniform": [0.3, 1.0]},
                      "px": {"uniform": [1.2, 2.0]}, "sigma": {"uniform": [1.2, 1.6]}},
            "splits": {"train": 0.6, "val": 0.2, "test": 0.2}}  # fmt: skip


@pytest.fixture(scope="module")
def barriers(tmp_path_factory):
    path = tmp_path_factory.mktemp("inverse") / "barriers.h5"
    build_dataset(BuildConfig.from_dict(BARRIERS), path, workers=1, progress=False)
    return path


def _config(path, **changes):
    raw = {"data": {"path": str(path), "n_input": 10, "constant_fields": [], "batch_size": 16, "in_memory": True},
           "model": {"name": "parameter_estimator", "params": {"width": 8, "n_stages": 3}},
           "modalities": {"parameters": ["height", "width"]}, "epochs": 40,
           "optim": {"lr": 3e-3, "warmup_steps": 5}, "checkpoint_every": 100}  # fmt: skip
    return train_config_from_dict({**raw, **changes})


@pytest.mark.parametrize("ndim", [1, 2])
def test_the_estimator_maps_fields_to_a_mean_and_a_positive_spread_per_parameter(ndim):
    model = ParameterEstimator(EstimatorConfig(in_channels=3, parameter_dim=4, ndim=ndim, width=4, n_stages=2))
    x = torch.randn(5, 3, *(24,) * ndim)
    assert model(x).shape == (5, 8)
    mean, std = model.predict(x)
    assert mean.shape == std.shape == (5, 4) and bool((std > 0).all())
    with pytest.raises(ValueError, match=r"x shape = \(5, 2, .*\) is invalid: must be \(B, in_channels = 3"):
        model(torch.randn(5, 2, *(24,) * ndim))


def test_gradients_are_exact_in_float64():
    model = ParameterEstimator(EstimatorConfig(in_channels=1, parameter_dim=2, ndim=1, width=4, n_stages=1)).double()
    x = torch.randn(2, 1, 8, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: model.loss(model(v), target), (x,), eps=1e-6, atol=1e-6)


def test_the_likelihood_is_lowest_when_the_spread_matches_the_error():
    torch.manual_seed(0)
    target = torch.randn(20000, 1)
    mean = target + 0.3 * torch.randn_like(target)  # errors of spread 0.3
    spreads = torch.tensor([0.1, 0.2, 0.3, 0.45, 0.7])
    losses = [float(ParameterEstimator.loss(torch.cat([mean, torch.full_like(mean, math.log(s**2))], 1), target))
              for s in spreads]  # fmt: skip
    assert min(range(len(spreads)), key=losses.__getitem__) == 2


def test_the_blur_keeps_the_total_and_spreads_by_sigma_squared():
    x = torch.zeros(1, 2, 41, 41, dtype=torch.float64)
    x[0, :, 20, 20] = 1.0
    y = blurred(x, 2.0)
    assert torch.allclose(y.sum((2, 3)), torch.ones(1, 2, dtype=torch.float64))
    offsets = torch.arange(41, dtype=torch.float64) - 20
    for axis in (0, 1):
        variance = float((y[0, 0].sum(1 - axis) * offsets**2).sum())  # the marginal along the other axis
        assert variance == pytest.approx(4.0, rel=0.02)  # (a kernel cut at 3 sigma keeps 99.7 %)
    assert torch.equal(blurred(x, 0.0), x)


def test_a_trained_estimator_reads_the_barrier_off_the_motion_with_calibrated_bars(barriers, tmp_path):
    trainer = Trainer(_config(barriers), tmp_path / "run", progress=False)
    assert trainer.model.config.in_channels == 20 and trainer.model.config.ndim == 1  # 10 saves of (re, im)
    before = trainer.evaluate()
    # The NLL of the standardised parameters: about 0.5 for a constant guess of spread 1, lower as the means
    # close in and the spreads shrink with them.
    assert trainer.train()["val_loss"] < before - 1.5
    result = evaluate_estimator(tmp_path / "run" / "best.pt", barriers, split="test", noise=(0.0, 0.5),
                                blur=(0.0, 3.0), device="cpu")  # fmt: skip
    clean, noisy, blurry = result["conditions"]
    assert (noisy["noise"], blurry["blur"]) == (0.5, 3.0) and result["parameters"] == ["height", "width"]
    spreads = {"height": 2.5 / math.sqrt(12), "width": 0.7 / math.sqrt(12)}  # of the uniform draws
    for name, spread in spreads.items():
        assert clean["per_parameter"][name]["rmse"] < 0.5 * spread
        assert noisy["per_parameter"][name]["rmse"] > clean["per_parameter"][name]["rmse"]
        assert 0.4 <= clean["per_parameter"][name]["within_2_sigma"] <= 1.0


def test_an_estimator_needs_the_parameters_it_learns_and_scoring_needs_an_estimator(barriers, tmp_path, tiny_dataset):
    with pytest.raises(ValueError, match=r"modalities.parameters = \[\] is invalid for parameter_estimator"):
        Trainer(_config(barriers, modalities={}), tmp_path / "a", progress=False)
    trainer = Trainer(_config(barriers, epochs=1), tmp_path / "b", progress=False)
    trainer.train()
    with pytest.raises(ValueError, match=r"noise = \(-0.1,\) is invalid: give finite levels >= 0"):
        evaluate_estimator(tmp_path / "b" / "best.pt", barriers, noise=(-0.1,), device="cpu")
    with pytest.raises(ValueError, match=r"blur = 50.0 is invalid for a grid of \(128,\)"):
        evaluate_estimator(tmp_path / "b" / "best.pt", barriers, blur=(50.0,), device="cpu")
    fno = {"data": {"path": str(tiny_dataset), "batch_size": 8},
           "model": {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}}, "epochs": 1}  # fmt: skip
    Trainer(train_config_from_dict(fno), tmp_path / "fno", progress=False).train()
    with pytest.raises(ValueError, match=r"holds a FNO, not a parameter estimator"):
        evaluate_estimator(tmp_path / "fno" / "best.pt", tiny_dataset, device="cpu")


def test_physml_evaluate_reports_an_estimator_clean_and_degraded(barriers, tmp_path, tiny_dataset, capsys):
    from physml.cli import main

    Trainer(_config(barriers, epochs=1), tmp_path / "b", progress=False).train()
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "b" / "best.pt"), str(barriers), "--noise", "0.1", "--blur", "1",
                 "--device", "cpu", "--out", str(out)]) == 0  # fmt: skip
    rows = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| b |")]
    assert len(rows) == 3 * 2  # clean, noisy, blurred; two parameters
    assert (out / "metrics.json").exists() and "within 1 σ" in capsys.readouterr().out
    fno = {"data": {"path": str(tiny_dataset), "batch_size": 8},
           "model": {"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}}, "epochs": 1}  # fmt: skip
    Trainer(train_config_from_dict(fno), tmp_path / "fno", progress=False).train()
    with pytest.raises(SystemExit):
        main(["evaluate", str(tmp_path / "fno" / "best.pt"), str(tiny_dataset), "--noise", "0.1", "--out", str(out)])
    assert "--noise, --blur and --ensemble are invalid here" in capsys.readouterr().err


def test_the_ensemble_is_the_mixture_of_its_members_gaussians():
    means = torch.tensor([[[0.0, 1.0]], [[2.0, 1.0]]], dtype=torch.float64)  # (M = 2, N = 1, P = 2)
    stds = torch.tensor([[[1.0, 0.5]], [[3.0, 0.5]]], dtype=torch.float64)
    mean, std = _mixture(list(zip(means, stds)))
    # Equal weights: the mean of the means; the variance (1 + 9) / 2 + the spread of the means, 1.
    assert torch.allclose(mean, torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    assert torch.allclose(std, torch.tensor([[math.sqrt(6.0), 0.5]], dtype=torch.float64))
    generator = torch.Generator().manual_seed(0)  # and a draw from the mixture has those moments
    pick = torch.randint(0, 2, (200_000,), generator=generator)
    draws = means[pick, 0, 0] + stds[pick, 0, 0] * torch.randn(200_000, generator=generator, dtype=torch.float64)
    assert float(draws.mean()) == pytest.approx(1.0, abs=0.02)
    assert float(draws.std()) == pytest.approx(math.sqrt(6.0), rel=0.01)


def test_seeds_of_one_recipe_score_as_a_deep_ensemble(barriers, tmp_path, capsys):
    from physml.cli import main

    runs = [tmp_path / f"seed{s}" for s in (0, 1)]
    for seed, run in enumerate(runs):
        Trainer(_config(barriers, epochs=2, seed=seed), run, progress=False).train()
    single = [evaluate_estimator(run / "best.pt", barriers, device="cpu") for run in runs]
    twice = evaluate_estimator([runs[0] / "best.pt"] * 2, barriers, device="cpu")
    both = evaluate_estimator([run / "best.pt" for run in runs], barriers, device="cpu")
    assert (single[0]["members"], twice["members"], both["members"]) == (1, 2, 2)
    for name in ("height", "width"):
        alone, copies = (r["conditions"][0]["per_parameter"][name] for r in (single[0], twice))
        assert copies == pytest.approx(alone, rel=1e-12)  # a mixture of one Gaussian twice is that Gaussian
        members = [r["conditions"][0]["per_parameter"][name] for r in single]
        mixed = both["conditions"][0]["per_parameter"][name]
        # Averaging the means cannot be further off than the members are on average (triangle inequality), and
        # the mixture is wider than its members: its variance adds their disagreement.
        assert mixed["mae"] <= sum(m["mae"] for m in members) / 2 + 1e-12
        assert mixed["mean_sigma"] > sum(m["mean_sigma"] for m in members) / 2
    out = tmp_path / "eval"
    assert main(["evaluate", str(runs[0] / "best.pt"), str(barriers), "--baseline", str(runs[1] / "best.pt"),
                 "--ensemble", "--device", "cpu", "--out", str(out)]) == 0  # fmt: skip
    labels = [line.split(" | ")[0] for line in (out / "report.md").read_text().splitlines() if line.startswith("| ")]
    assert labels.count("| ensemble") == labels.count("| seed0") == 2  # one row per parameter
    with pytest.raises(SystemExit):
        main(["evaluate", str(runs[0] / "best.pt"), str(barriers), "--ensemble", "--out", str(out)])
    assert "--ensemble is invalid with the models ['seed0']: it needs two or more" in capsys.readouterr().err
    other = _config(barriers, epochs=1, data={"path": str(barriers), "n_input": 8, "constant_fields": [],
                                              "batch_size": 16, "in_memory": True})  # fmt: skip
    Trainer(other, tmp_path / "window8", progress=False).train()
    with pytest.raises(ValueError, match=r"window8/best.pt cannot join an ensemble with .*seed0/best.pt: its format"):
        evaluate_estimator([runs[0] / "best.pt", tmp_path / "window8" / "best.pt"], barriers, device="cpu")
