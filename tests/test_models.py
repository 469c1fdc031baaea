"""Models: the spectral convolution's numerics, shapes and gradients in 1D and 2D, registry, checkpoints."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from physml.models import (
    FNO,
    FNOConfig,
    PersistenceConfig,
    ResNetConfig,
    SpectralConv,
    build_model,
    config_from_dict,
    load_checkpoint,
    save_checkpoint,
)

torch.manual_seed(0)


@pytest.mark.parametrize(("modes", "space"), [((7,), (32,)), ((5, 4), (16, 12))])
def test_spectral_conv_is_translation_equivariant_and_band_limited(modes, space):
    layer = SpectralConv(3, 2, modes=modes).double()
    v = torch.randn(4, 3, *space, dtype=torch.float64)
    dims = tuple(range(2, 2 + len(space)))
    shift = (3,) if len(space) == 1 else (1, 5)
    shifted = layer(torch.roll(v, shifts=shift, dims=dims))
    torch.testing.assert_close(shifted, torch.roll(layer(v), shifts=shift, dims=dims), rtol=1e-12, atol=1e-12)
    # Only the kept modes carry energy: the lowest |k| per leading axis, 0..m-1 on the last.
    spectrum = torch.fft.rfftn(layer(v), dim=dims).abs()
    kept = torch.zeros(spectrum.shape[2:], dtype=torch.bool)
    if len(space) == 1:
        kept[: modes[0]] = True
    else:
        rows = torch.cat([torch.arange((modes[0] + 1) // 2), torch.arange(space[0] - modes[0] // 2, space[0])])
        kept[rows[:, None], torch.arange(modes[1])[None, :]] = True
    assert spectrum[..., ~kept].max() < 1e-12
    assert spectrum[..., kept].min() > 0


def test_spectral_conv_gives_the_same_function_on_any_resolution():
    # A band-limited input sampled on 32 and 64 points: the layer's outputs agree on the common points.
    layer = SpectralConv(1, 1, modes=(6,)).double()
    coarse, fine = (torch.arange(n, dtype=torch.float64) * 2 * math.pi / n for n in (32, 64))
    f = lambda x: torch.sin(x) + 0.5 * torch.cos(4 * x + 0.3)  # noqa: E731
    out_coarse = layer(f(coarse)[None, None])
    out_fine = layer(f(fine)[None, None])
    torch.testing.assert_close(out_fine[..., ::2], out_coarse, rtol=1e-12, atol=1e-12)


def test_spectral_conv_gradients_match_finite_differences():
    layer = SpectralConv(2, 2, modes=(3, 3)).double()
    v = torch.randn(1, 2, 8, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (v,))
    weight = layer.weight.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda w: torch.func.functional_call(layer, {"weight": w}, (v.detach(),)), (weight,)
    )


def test_spectral_conv_rejects_grids_too_coarse_for_its_modes():
    with pytest.raises(ValueError, match="grid of 8 points along axis 0 cannot hold 6 modes"):
        SpectralConv(1, 1, modes=(6,))(torch.randn(1, 1, 8))
    with pytest.raises(ValueError, match="input has 1 spatial dims; this layer is 2D"):
        SpectralConv(1, 1, modes=(2, 2))(torch.randn(1, 1, 8))


@pytest.mark.parametrize(
    ("name", "config", "space"),
    [
        ("fno", FNOConfig(5, 2, modes=(8,), width=8, n_layers=2), (32,)),
        ("fno", FNOConfig(5, 2, modes=(6, 6), width=8, n_layers=2), (16, 16)),
        ("resnet", ResNetConfig(5, 2, ndim=1, width=8, n_blocks=2), (32,)),
        ("resnet", ResNetConfig(5, 2, ndim=2, width=8, n_blocks=2), (16, 16)),
        ("resnet", ResNetConfig(5, 2, ndim=2, width=8, n_blocks=2, padding="zeros"), (16, 16)),
    ],
)
def test_models_map_fields_to_fields_and_train(name, config, space):
    model = build_model(name, config)
    x = torch.randn(3, 5, *space)
    y = model(x)
    assert y.shape == (3, 2, *space) and y.dtype == torch.float32
    y.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the GPU training precision, exercised on CPU
        assert torch.isfinite(model(x).float()).all()


def test_persistence_copies_the_latest_step():
    model = build_model("persistence", PersistenceConfig(in_channels=7, out_channels=2, offset=4))
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(model(x), x[:, 4:6])
    with pytest.raises(ValueError, match="offset = 6 is invalid"):
        PersistenceConfig(in_channels=7, out_channels=2, offset=6)


def test_registry_names_the_valid_choices():
    with pytest.raises(
        ValueError,
        match="model = 'unet3d' is invalid: choose one of complex_fno, diffusion, equivariant_cnn, fno, group_fno, "
        "gru, hamiltonian_ode, lstm, moe_transformer, multimodal_transformer, multiphysics_transformer, neural_ode, "
        "parameter_estimator, persistence, resnet, ssm, unet",
    ):
        build_model("unet3d", {})
    with pytest.raises(ValueError, match=r"model.params keys \['depth'\] are invalid for fno"):
        config_from_dict("fno", {"in_channels": 1, "out_channels": 1, "depth": 3})
    with pytest.raises(ValueError, match=r"ResNetConfig\.padding = 'edge' is invalid: choose one of circular, zeros"):
        build_model("resnet", {"in_channels": 1, "out_channels": 1, "padding": "edge"})
    with pytest.raises(ValueError, match=r"FNOConfig\.width = 0 is invalid"):
        FNOConfig(1, 1, width=0)


def test_checkpoints_rebuild_the_model_and_refuse_pickled_code(tmp_path):
    model = FNO(FNOConfig(3, 2, modes=(5, 4), width=8, n_layers=2))
    path = save_checkpoint(tmp_path / "model.pt", model, step=12, metrics={"loss": 0.5})
    rebuilt, extra = load_checkpoint(path)
    x = torch.randn(2, 3, 16, 12)
    assert type(rebuilt) is FNO and rebuilt.config == model.config
    torch.testing.assert_close(rebuilt(x), model(x), rtol=0, atol=0)
    assert extra == {"step": 12, "metrics": {"loss": 0.5}}

    class Payload:  # unpickling this would run code; weights_only refuses it
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": "physml-checkpoint-1", "x": Payload()}, protocol=2))
    with pytest.raises(ValueError, match="cannot be loaded safely"):
        load_checkpoint(evil)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="is not a physml checkpoint"):
        load_checkpoint(other)


@pytest.mark.parametrize(("modes", "space"), [((7,), (32,)), ((5, 4), (16, 12))])
def test_complex_spectral_conv_is_complex_linear_translation_equivariant_and_band_limited(modes, space):
    from physml.models.complex_fno import ComplexSpectralConv

    layer = ComplexSpectralConv(3, 2, modes=modes).double()
    z = torch.randn(4, 3, *space, dtype=torch.complex128)
    dims = tuple(range(2, 2 + len(space)))
    phase = torch.exp(torch.tensor(0.7j, dtype=torch.complex128))
    torch.testing.assert_close(layer(phase * z), phase * layer(z), rtol=1e-12, atol=1e-12)  # complex-linear
    shift = (3,) if len(space) == 1 else (1, 5)
    torch.testing.assert_close(
        layer(torch.roll(z, shift, dims)), torch.roll(layer(z), shift, dims), rtol=1e-12, atol=1e-12
    )
    # Only the m lowest |k| per axis, positive and negative, carry energy.
    spectrum = torch.fft.fftn(layer(z), dim=dims).abs()
    kept = torch.ones(spectrum.shape[2:], dtype=torch.bool)
    for axis, (m, n) in enumerate(zip(modes, space)):
        k = torch.fft.fftfreq(n) * n
        keep = (k >= -(m // 2)) & (k < (m + 1) // 2)
        shape = [1] * len(space)
        shape[axis] = n
        kept = kept & keep.view(shape)
    assert spectrum[..., ~kept].max() < 1e-12 and spectrum[..., kept].min() > 0


@pytest.mark.parametrize("space", [(32,), (16, 12)])
def test_complex_fno_shapes_gradients_and_checkpoint(space, tmp_path):
    from physml.models import ComplexFNOConfig

    config = ComplexFNOConfig(in_channels=5, out_channels=2, n_complex=2, modes=(6,) * len(space), width=6, n_layers=2)
    model = build_model("complex_fno", config).double()
    x = torch.randn(3, 5, *space, dtype=torch.float64, requires_grad=True)
    out = model(x)
    assert out.shape == (3, 2, *space) and out.dtype == torch.float64
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    save_checkpoint(tmp_path / "c.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "c.pt")
    torch.testing.assert_close(loaded.double()(x), out)
    with pytest.raises(ValueError, match="n_complex = 3 is invalid: 6 real channels needed, in_channels = 5"):
        ComplexFNOConfig(in_channels=5, out_channels=2, n_complex=3)
    with pytest.raises(ValueError, match=r"out_channels = 3 is invalid: must be even \(re, im\)"):
        ComplexFNOConfig(in_channels=5, out_channels=3)


def test_the_train_help_names_every_registered_model():
    import argparse

    from physml.cli.train import register
    from physml.models import MODELS

    subparsers = argparse.ArgumentParser().add_subparsers()
    register(subparsers)
    description = subparsers.choices["train"].description
    missing = [name for name in MODELS if name not in description]
    assert not missing, f"physml train --help does not name {missing}"
