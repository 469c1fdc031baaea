"""Generation of static fields from a condition alone: black-hole images from text or parameters.

The dark-region measure against geometry and the ray tracer, static samples, the U-Net's parameter vector,
and a tiny text-to-image and parameters-to-image run through ``physml train`` and ``physml evaluate``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from physml.models import UNet, UNetConfig, build_model
from physml.simulators.bh_images.measure import dark_region


# -- the dark-region measure ------------------------------------------------------------------------------------
def test_dark_region_recovers_a_hole_of_known_size_and_place_to_the_pixel_error():
    alpha = beta = np.linspace(-12.0, 12.0, 97)  # h = 0.25
    h = alpha[1] - alpha[0]
    for radius, centre in ((3.0, (0.0, 0.0)), (5.0, (1.5, -0.75))):
        r = np.hypot(alpha[None, :] - centre[0], beta[:, None] - centre[1])
        image = np.where(r < radius, 0.0, 1e-2)  # lit everywhere but the hole, which touches no border
        region = dark_region(image, alpha, beta)
        # The area of a pixelated disc is within ~perimeter x h / 2 of pi R^2: D within ~h/2.
        assert region.diameter == pytest.approx(2 * radius, abs=h / 2)
        assert (region.centroid_alpha, region.centroid_beta) == pytest.approx(centre, abs=h / 4)
    sky = np.zeros((9, 9))  # dark everywhere, but all of it the sky: nothing is enclosed
    assert dark_region(sky, np.arange(9.0), np.arange(9.0)).pixels == 0
    assert math.isnan(dark_region(sky, np.arange(9.0), np.arange(9.0)).diameter)


def test_dark_region_of_traced_images_converges_and_moves_with_spin():
    from physml.simulators.bh_images import Camera, Disk, Kerr, Scene, disk_isco, render

    def measure(spin: float, resolution: int):
        hole = Kerr(spin=spin)
        scene = Scene(hole, Camera(inclination=60.0, fov=25.0, resolution=resolution), Disk(inner=disk_isco(hole)))
        image = render(scene)
        return dark_region(image.intensity, image.alpha, image.beta)

    coarse, fine = measure(0.0, 32), measure(0.0, 64)
    h = 25.0 / 32
    # A pixel-grid error ~h/2 on each: the two resolutions agree within it (one observable, not a pixel artefact).
    assert fine.diameter == pytest.approx(coarse.diameter, abs=h / 2)
    # The disk's inner edge (6 M) seen at 60 degrees, lensed: the dark region is wider than the shadow (2 sqrt 27 M).
    assert 2 * math.sqrt(27) < fine.diameter < 2 * 8.0
    assert abs(fine.centroid_alpha) < h / 4  # a static hole's image is symmetric in alpha
    spinning = measure(0.9, 64)
    assert spinning.centroid_alpha > 0.25  # frame dragging moves the dark region towards +alpha
    assert spinning.diameter < fine.diameter  # the ISCO moves in: a smaller dark region


def test_dark_region_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        dark_region(np.zeros((4, 5)), np.arange(4.0), np.arange(4.0))
    with pytest.raises(ValueError, match="threshold"):
        dark_region(np.zeros((4, 4)), np.arange(4.0), np.arange(4.0), threshold=0.0)
    with pytest.raises(ValueError, match="evenly spaced"):
        dark_region(np.zeros((4, 4)), np.array([0.0, 1.0, 3.0, 4.0]), np.arange(4.0))


# -- static samples ---------------------------------------------------------------------------------------------
def test_static_samples_are_the_stored_fields_in_log_and_train_units(tiny_images, tiny_dataset):
    import h5py

    from physml.datasets import StaticDataset
    from physml.training import train_config_from_dict, training_samples

    train = StaticDataset(tiny_images, split="train", fields=["intensity"], log_fields={"intensity": 1e-6},
                          normalize="zscore")  # fmt: skip
    sample = train[0]
    assert sample["input_fields"].shape == (0, 1, 16, 16) and sample["output_fields"].shape == (1, 1, 16, 16)
    stacked = torch.stack([train[i]["output_fields"][0, 0].double() for i in range(len(train))])
    assert float(stacked.mean()) == pytest.approx(0.0, abs=1e-6)  # z-scored over the training split
    assert float(stacked.std(unbiased=True)) == pytest.approx(1.0, abs=1e-5)
    with h5py.File(tiny_images, "r") as f:
        stored = f["t0_fields/intensity"][int(train.trajectories[0])].astype(np.float64)
    physical = train.physical(sample["output_fields"].double(), channel_dim=1)[0, 0].numpy()
    np.testing.assert_allclose(physical, np.maximum(stored, 1e-6), rtol=1e-5)  # float32 samples
    test = StaticDataset(tiny_images, split="test", fields=["intensity"], log_fields={"intensity": 1e-6},
                         normalize="zscore")  # fmt: skip
    torch.testing.assert_close(test.normalization.scale, train.normalization.scale)  # the training split's units
    assert set(test.trajectories).isdisjoint(train.trajectories)
    with pytest.raises(ValueError, match=r"log_fields\.intensity"):
        StaticDataset(tiny_images, log_fields={"intensity": -1.0})
    with pytest.raises(ValueError, match="fields entry 'psi'"):
        StaticDataset(tiny_images, fields=["psi"])
    config = train_config_from_dict({"data": {"path": str(tiny_images), "n_input": 1}})
    with pytest.raises(ValueError, match="n_input = 1 is invalid"):  # a static file has no windows
        training_samples(config, "train", transforms=[])
    with pytest.raises(ValueError, match="time-varying"):
        StaticDataset(tiny_dataset)


# -- the parameter vector ---------------------------------------------------------------------------------------
def test_the_unet_reads_a_parameter_vector_and_drops_it_for_guidance():
    torch.manual_seed(0)
    config = UNetConfig(0 + 1, 1, field_size=(16, 16), width=8, multipliers=(1, 2), groups=4, noise_embedding=True,
                        parameter_dim=3, parameter_dropout=0.5)  # fmt: skip
    model = UNet(config).eval()
    for module in model.modules():  # FiLM and the head start at zero: give them weights to see the condition
        if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.2)
    x, t = torch.randn(4, 1, 16, 16), torch.full((4,), 0.5)
    p = torch.randn(4, 3)
    a, b = model(x, noise=t, parameters=p), model(x, noise=t, parameters=p + 1.0)
    assert not torch.allclose(a, b)  # the output depends on the parameters
    model.train()
    torch.manual_seed(1)
    dropped = model(x, noise=t, parameters=p)
    unconditional = model(x, noise=t)
    kept = [not torch.allclose(dropped[i], unconditional[i]) for i in range(4)]
    assert 0 < sum(kept) < 4  # with dropout 0.5 some samples drop it (= unconditional), some keep it
    with pytest.raises(ValueError, match="parameters shape"):
        model(x, noise=t, parameters=torch.randn(4, 2))
    plain = UNet(UNetConfig(1, 1, field_size=(16, 16), width=8, multipliers=(1, 2), groups=4))
    with pytest.raises(ValueError, match="parameter_dim = 0"):
        plain(x, parameters=p)


def test_diffusion_generates_from_parameters_alone_and_guidance_needs_them():
    model = build_model("diffusion", {"in_channels": 0, "out_channels": 1, "field_size": (16, 16),
                                      "denoiser_params": {"width": 8, "multipliers": [1, 2], "groups": 4},
                                      "parameter_dim": 2, "sample_steps": 2})  # fmt: skip
    x, p = torch.zeros(3, 0, 16, 16), torch.randn(3, 2)
    assert model(x, parameters=p).shape == (3, 1, 16, 16)
    denoised = model(x, target=torch.randn(3, 1, 16, 16), parameters=p)
    assert denoised.loss.ndim == 0 and denoised.estimate.shape == (3, 1, 16, 16)
    model.configure_sampling(guidance=2.0)  # trained with the vector dropped (cond_dropout 0.1): allowed
    with pytest.raises(ValueError, match="needs the model's text, image or parameters"):
        model(x)
    with pytest.raises(ValueError, match="parameter_dim"):
        build_model("diffusion", {"in_channels": 0, "out_channels": 1, "field_size": (16, 16), "denoiser": "fno",
                                  "parameter_dim": 2})  # fmt: skip


# -- training and evaluation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("condition", ["text", "parameters"])
def test_a_tiny_image_generator_trains_and_is_scored_against_the_ray_tracer(tiny_images, tmp_path, condition):
    from physml.cli import main
    from physml.training import Trainer, train_config_from_dict

    if condition == "text":
        model = {"denoiser": "multimodal_transformer", "denoiser_params": {"patch": 4, "dim": 32, "depth": 2}}
        modalities = {"text": True, "text_length": 192}
    else:
        model = {"denoiser_params": {"width": 8, "multipliers": [1, 2], "groups": 4, "padding": "zeros"}}
        modalities = {"parameters": ["spin", "inclination"]}
    raw = {
        "data": {"path": str(tiny_images), "n_input": 0, "fields": ["intensity"], "log_fields": {"intensity": 1e-6},
                 "normalize": "zscore", "batch_size": 4},
        "model": {"name": "diffusion", "params": {**model, "sample_steps": 2}},
        "modalities": modalities,
        "epochs": 8,
        "optim": {"lr": 3e-3, "warmup_steps": 2},
    }  # fmt: skip
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    out = tmp_path / "eval"
    command = ["evaluate", str(tmp_path / "run" / "best.pt"), str(tiny_images), "--split", "test", "--trace", "1",
               "--out", str(out), "--device", "cpu"]  # fmt: skip
    assert main(command) == 0
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    summary = metrics["models"]["run"]["summary"]
    from physml.datasets import read_info

    assert summary["images"] == int((read_info(tiny_images).splits == "test").sum()) > 0
    assert summary["seconds_per_image"] > 0
    assert metrics["simulator"] == "ray tracing"
    assert metrics["simulator_seconds_per_image"] > 0 and summary["speedup_over_simulator"] > 0
    traced = [r["diameter_true"] for r in metrics["models"]["run"]["images"]]
    assert all(math.isfinite(d) and 6.0 < d < 20.0 for d in traced)  # every traced image has its dark region
    assert (out / "generated_vs_simulated.png").stat().st_size > 0 and "speed-up" in (out / "report.md").read_text()
    with pytest.raises(ValueError, match="unroll"):
        Trainer(train_config_from_dict({**raw, "unroll": 2}), tmp_path / "x", progress=False)
