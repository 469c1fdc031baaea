"""Diffusion: the schedule's identities, a denoiser that learns a Gaussian's exact score, deterministic DDIM,
guidance and refinement limits, EMA, checkpoints, bad input, and training through ``physml train``."""

from __future__ import annotations

import math

import pytest
import torch

from physml.errors import UnstableRunError
from physml.models import Diffusion, UNet, UNetConfig, build_model, load_checkpoint, save_checkpoint
from physml.models import noise_schedule as schedule

UNET = {"width": 8, "multipliers": [1, 2], "groups": 4}


def diffusion(**changes) -> Diffusion:
    values = {"in_channels": 3, "out_channels": 2, "field_size": (32,), "denoiser_params": UNET} | changes
    return build_model("diffusion", values)


# -- the schedule -----------------------------------------------------------------------------------------
def test_cosine_alpha_bar_falls_strictly_from_one_to_its_floor():
    alpha_bar = schedule.cosine_alpha_bar(1000)
    assert alpha_bar[0] == 1 and alpha_bar[-1] == schedule.ALPHA_BAR_FLOOR
    assert bool((alpha_bar[1:] < alpha_bar[:-1]).all())
    # The cosine shape: half the signal variance is gone half way (cos^2 at pi/4 with the small offset).
    assert alpha_bar[500] == pytest.approx(0.5, abs=0.01)


def test_refiner_levels_have_noise_sigma_min_to_the_k_over_K_even_in_float32():
    ladder = schedule.refiner_ladder(4, 2e-7)
    expected = torch.tensor([2e-7 ** (k / 4) for k in range(5)], dtype=torch.float64)
    torch.testing.assert_close(ladder[:, 1], expected, rtol=1e-15, atol=0)
    torch.testing.assert_close(ladder.pow(2).sum(1), torch.ones(5, dtype=torch.float64))  # a^2 + s^2 = 1
    # The smallest noise survives float32 (1 - 4e-14 would round alpha bar to 1 and the noise to 0).
    assert ladder.float()[-1, 1] == pytest.approx(2e-7, rel=1e-6)
    cosine = schedule.cosine_ladder(1000)
    torch.testing.assert_close(cosine[:, 0] ** 2, schedule.cosine_alpha_bar(1000))


def test_forward_noising_has_the_stated_mean_and_variance():
    generator = torch.Generator().manual_seed(0)
    clean = torch.full((200_000, 1, 1), 0.7, dtype=torch.float64)
    noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    for ab in (0.9, 0.5, 0.01):
        level = torch.tensor([[math.sqrt(ab), math.sqrt(1 - ab)]], dtype=torch.float64).expand(len(clean), 2)
        z = schedule.noised(clean, noise, level)
        # mean sqrt(ab) y, variance 1 - ab; tolerances ~5 standard errors of 2e5 samples
        assert float(z.mean()) == pytest.approx(math.sqrt(ab) * 0.7, abs=5 * math.sqrt((1 - ab) / len(z)))
        assert float(z.var()) == pytest.approx(1 - ab, rel=5 * math.sqrt(2 / len(z)))


def test_each_objective_names_the_clean_sample_and_ddim_retraces_the_noise():
    generator = torch.Generator().manual_seed(1)
    clean, noise = (torch.randn(6, 2, 16, generator=generator, dtype=torch.float64) for _ in range(2))

    def pairs(ab):
        return torch.stack([ab.sqrt(), (1 - ab).sqrt()], dim=1)

    ab = torch.tensor([0.99, 0.8, 0.5, 0.2, 0.05, 1e-4], dtype=torch.float64)
    level = pairs(ab)
    z = schedule.noised(clean, noise, level)
    v = schedule.velocity(clean, noise, level)
    torch.testing.assert_close(schedule.predicted_clean(z, v, level, "v"), clean)
    torch.testing.assert_close(schedule.predicted_clean(z, noise, level, "eps"), clean)
    torch.testing.assert_close(schedule.predicted_noise(z, clean, level), noise)
    # With the true clean sample, a deterministic step lands on the same noise at the lower level.
    lower = pairs(ab.sqrt())
    torch.testing.assert_close(
        schedule.ddim_step(z, clean, level, lower, eta=0.0), schedule.noised(clean, noise, lower)
    )
    clean_level = pairs(torch.ones_like(ab))
    torch.testing.assert_close(schedule.ddim_step(z, clean, level, clean_level, eta=1.0), clean)


# -- the denoisers --------------------------------------------------------------------------------------------
def test_unet_maps_1d_and_2d_fields_and_starts_at_zero():
    for size in ((32,), (16, 8)):
        model = UNet(UNetConfig(3, 2, field_size=size, width=8, multipliers=(1, 2), groups=4))
        out = model(torch.randn(2, 3, *size))
        assert out.shape == (2, 2, *size) and bool((out == 0).all())  # zero head: persistence under residual
    denoiser = UNet(UNetConfig(3, 2, field_size=(32,), width=8, multipliers=(1, 2), groups=4, noise_embedding=True))
    with pytest.raises(ValueError, match="noise = None"):
        denoiser(torch.randn(2, 3, 32))
    with pytest.raises(ValueError, match="noise shape"):
        denoiser(torch.randn(2, 3, 32), noise=torch.rand(3))
    with pytest.raises(ValueError, match=r"UNetConfig\.field_size"):
        UNetConfig(3, 2, field_size=(30,), multipliers=(1, 2, 2))


def test_every_denoiser_hears_the_noise_level():
    x = torch.randn(2, 5, 32)
    transformer = {"dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1}
    for name, params in (("unet", UNET), ("fno", {"modes": [8], "width": 8}), ("multimodal_transformer", transformer)):
        values = {"in_channels": 5, "out_channels": 2, "noise_embedding": True, **params}
        if name != "fno":
            values["field_size"] = (32,)
        net = build_model(name, values)
        for p in net.parameters():  # move every weight off its zero start
            p.data.add_(0.05 * torch.randn_like(p))
        low, high = net(x, noise=torch.zeros(2)), net(x, noise=torch.ones(2))
        assert not torch.allclose(low, high), name


# -- sampling ---------------------------------------------------------------------------------------------------
def test_the_denoiser_learns_a_gaussian_to_its_analytic_noise_prediction():
    """Data y ~ N(mu, s^2) at every point, whatever x: the optimal noise prediction is known in closed form,
    E[eps | z] = b (z - a mu) / (a^2 s^2 + b^2) for z = a y + b eps. The v-network implies eps = b z + a v."""
    torch.manual_seed(0)
    mu, s = 0.5, 0.3
    fno = {"modes": [4], "width": 16, "n_layers": 2}
    model = diffusion(in_channels=1, out_channels=1, field_size=(16,), timesteps=100, ema_decay=0.0,
                      denoiser="fno", denoiser_params=fno)  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(600):
        y = mu + s * torch.randn(64, 1, 16)
        loss = model(torch.randn(64, 1, 16), target=y).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x = torch.randn(256, 1, 16)
    for k in (10, 40, 80):
        a, b = model.ladder[k].tolist()
        z = a * (mu + s * torch.randn(256, 1, 16)) + b * torch.randn(256, 1, 16)
        optimal = b * (z - a * mu) / (a**2 * s**2 + b**2)
        with torch.no_grad():
            v = model.denoiser(torch.cat([x, z], 1), noise=torch.full((256,), k / 100))
        predicted = b * z + a * v
        # The optimal prediction leaves a residual of variance 1 - E[eps|z]^2; the learned one is close to it.
        assert float((predicted - optimal).pow(2).mean().sqrt()) < 0.1 * float(optimal.pow(2).mean().sqrt()) + 0.02
    samples = model(x)  # DDIM, 16 steps
    assert float(samples.mean()) == pytest.approx(mu, abs=0.05)
    assert float(samples.std()) == pytest.approx(s, rel=0.15)


def test_ddim_is_deterministic_given_its_starting_noise_and_ddpm_is_not():
    model = diffusion().eval()
    x, start = torch.randn(2, 3, 32), torch.randn(2, 2, 32)
    for p in model.ema.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    torch.manual_seed(0)
    first = model.sample(x, initial=start)
    torch.manual_seed(1)
    assert torch.equal(first, model.sample(x, initial=start))
    model.configure_sampling(sampler="ddpm")
    torch.manual_seed(0)
    a = model.sample(x, initial=start)
    torch.manual_seed(1)
    assert not torch.allclose(a, model.sample(x, initial=start))


def test_guidance_one_is_the_conditional_model_and_w_mixes_conditional_and_unconditional():
    torch.manual_seed(0)
    params = {"dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1, "patch": 4}
    model = diffusion(denoiser="multimodal_transformer", denoiser_params=params, modalities=("text",),
                      missing_ok=("text",), vocab_size=20, text_length=8, sample_steps=1)  # fmt: skip
    for p in model.ema.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    model.eval()
    x, start, text = torch.randn(2, 3, 32), torch.randn(2, 2, 32), torch.randint(1, 20, (2, 6))
    t = torch.ones(2)  # one DDIM step: from the top level straight to the clean estimate
    ab = model.ladder[-1:].expand(2, 2)
    with torch.no_grad():
        cond = model.ema(torch.cat([x, start], 1), noise=t, text=text)
        uncond = model.ema(torch.cat([x, start], 1), noise=t)
    torch.testing.assert_close(model.sample(x, initial=start, text=text),
                               schedule.predicted_clean(start, cond, ab, "v"))  # fmt: skip
    model.configure_sampling(guidance=3.0)
    torch.testing.assert_close(model.sample(x, initial=start, text=text),
                               schedule.predicted_clean(start, uncond + 3 * (cond - uncond), ab, "v"))  # fmt: skip
    with pytest.raises(ValueError, match="guidance"):
        model.sample(x, initial=start)  # guidance needs the condition


def test_refiner_without_refinement_is_the_plain_predictor():
    torch.manual_seed(0)
    model = diffusion(objective="refiner", refinement_steps=3, target_scale=0.5)
    for p in model.ema.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    model.eval()
    x = torch.randn(2, 3, 32)
    model.configure_sampling(refinement_steps=0)
    with torch.no_grad():
        plain = model.ema(torch.cat([x, torch.zeros(2, 2, 32)], 1), noise=torch.ones(2))
    torch.testing.assert_close(model(x), 0.5 * plain)
    model.configure_sampling(refinement_steps=3)
    refined = model(x)
    assert refined.shape == plain.shape and not torch.allclose(refined, 0.5 * plain)
    # Its level-0 loss is the plain MSE of that prediction (levels are drawn: force level 0).
    model.train()
    target = torch.randn(2, 2, 32)
    original = torch.randint
    try:
        torch.randint = lambda low, high, size, **kw: torch.zeros(size, dtype=torch.long, device=kw.get("device"))
        result = model(x, target=target)
    finally:
        torch.randint = original
    with torch.no_grad():
        direct = model.denoiser(torch.cat([x, torch.zeros(2, 2, 32)], 1), noise=torch.ones(2))
    torch.testing.assert_close(result.loss, torch.nn.functional.mse_loss(direct, target / 0.5))
    torch.testing.assert_close(result.estimate, 0.5 * direct)


def test_the_refiner_trains_its_plain_prediction_at_the_share_asked():
    heard = []

    def record(module, args, kwargs):
        heard.append(kwargs["noise"].detach().clone())

    for share, expected in ((None, 0.25), (0.6, 0.6)):
        torch.manual_seed(0)
        model = diffusion(objective="refiner", refinement_steps=3, level0_share=share)
        handle = model.denoiser.register_forward_pre_hook(record, with_kwargs=True)
        heard.clear()
        model(torch.randn(4000, 3, 32), target=torch.randn(4000, 2, 32))
        handle.remove()
        plain = float((heard[0] == 1.0).double().mean())  # level 0 hears t = 1
        assert plain == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / 4000))
        refined = heard[0][heard[0] < 1.0]
        assert sorted(set(refined.tolist())) == pytest.approx([0.0, 1 / 3, 2 / 3])  # the others evenly
    for bad in ({"level0_share": 1.0, "objective": "refiner"}, {"level0_share": 0.5}):
        with pytest.raises(ValueError, match="level0_share"):
            diffusion(**bad)


def test_ema_follows_the_weights_with_its_decay():
    model = diffusion(ema_decay=0.9)
    for p in model.denoiser.parameters():
        p.data.fill_(1.0)
    before = [p.clone() for p in model.ema.parameters()]
    model.after_step()  # first update: decay min(0.9, 2/11)
    d = 2 / 11
    for average, old in zip(model.ema.parameters(), before):
        torch.testing.assert_close(average, d * old + (1 - d) * torch.ones_like(old))
    assert int(model.ema_updates) == 1


def test_checkpoints_round_trip_with_the_ema(tmp_path):
    model = diffusion()
    for p in model.denoiser.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    model.after_step()
    save_checkpoint(tmp_path / "d.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "d.pt")
    assert loaded.config == model.config and int(loaded.ema_updates) == 1
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    x, start = torch.randn(2, 3, 32), torch.randn(2, 2, 32)
    assert torch.equal(model.eval().sample(x, initial=start), loaded.eval().sample(x, initial=start))


def test_bad_diffusion_settings_name_the_option():
    for changes, option in (({"sigma_min": 0.0}, "sigma_min"), ({"sigma_min": 1.0}, "sigma_min"),
                            ({"refinement_steps": 0, "objective": "refiner"}, "refinement_steps"),
                            ({"sample_steps": 0}, "sample_steps"), ({"objective": "x0"}, "objective"),
                            ({"denoiser": "resnet"}, "denoiser"), ({"modalities": ("text",)}, "modalities"),
                            ({"denoiser_params": {"in_channels": 4}}, "denoiser_params")):  # fmt: skip
        with pytest.raises(ValueError, match=option):
            diffusion(**changes)
    model = diffusion()
    bad = (({"sample_steps": 0}, "sample_steps"), ({"sample_steps": 1001}, "sample_steps"),
           ({"guidance": 2.0}, "guidance"), ({"sampler": "euler"}, "sampler"),
           ({"refinement_steps": 4}, "refinement_steps"))  # fmt: skip
    for kwargs, option in bad:
        with pytest.raises(ValueError, match=option):
            model.configure_sampling(**kwargs)


def test_a_diverging_sample_stops_naming_the_step():
    model = diffusion(sample_steps=4).eval()

    class Poisoned(torch.nn.Module):  # NaN from the third call on
        calls = 0

        def forward(self, x, *, noise):
            self.calls += 1
            return torch.full((x.shape[0], 2, 32), float("nan") if self.calls == 3 else 0.0)

    model.ema = Poisoned()
    with pytest.raises(UnstableRunError, match="sampling step 3 of 4") as info:
        model(torch.randn(2, 3, 32))
    assert info.value.step == 3


# -- training and evaluation ------------------------------------------------------------------------------------
def test_a_tiny_diffusion_run_lowers_its_loss_and_evaluates_with_an_ensemble(tiny_dataset, tmp_path):
    from physml.training import Trainer, evaluate_checkpoints, train_config_from_dict

    raw = {
        "data": {"path": str(tiny_dataset), "batch_size": 8, "in_memory": True},
        "model": {"name": "diffusion", "residual": True,
                  "params": {"denoiser_params": {"width": 8, "multipliers": [1, 2], "groups": 4},
                             "target_scale": 0.1, "sample_steps": 4}},
        "losses": {"data": 1.0, "schrodinger_norm": 0.01},
        "epochs": 6,
        "optim": {"lr": 3e-3, "warmup_steps": 3},
    }  # fmt: skip
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    before = trainer.evaluate()  # the validation loss draws the same levels and noise each time
    assert trainer.evaluate() == before
    trainer.train()
    assert trainer.evaluate() < 0.8 * before
    metrics = evaluate_checkpoints([tmp_path / "run" / "best.pt"], tiny_dataset, split="train", rollout=2,
                                   samples=4, device="cpu")  # fmt: skip
    ensemble = metrics["models"]["diffusion"]["ensemble"]
    assert ensemble["samples"] == 4 and ensemble["spread"] > 0 and ensemble["crps"] > 0
    assert metrics["sampling"]["diffusion"]["sample_steps"] == 4
    rollout = metrics["models"]["diffusion"]["rollout"]
    assert 0 <= rollout["steps_correlation_above_0.8"] <= 2 and len(rollout["correlation_per_step"]) == 2
    with pytest.raises(ValueError, match="unroll"):
        Trainer(train_config_from_dict({**raw, "unroll": 2}), tmp_path / "x", progress=False)

    from physml.cli import main

    command = ["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_dataset), "--split", "train", "--rollout", "2",
               "--samples", "3", "--sample-steps", "2", "--out", str(tmp_path / "eval")]  # fmt: skip
    assert main(command) == 0
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "spread / skill" in report and "| diffusion | 3 |" in report
    with pytest.raises(SystemExit) as exit_info:
        main([*command[:-2], "--guidance", "2", "--out", str(tmp_path / "eval2")])  # trained without text
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main([*command[:-2], "--sample-steps", "0", "--out", str(tmp_path / "eval3")])
    assert exit_info.value.code == 2
