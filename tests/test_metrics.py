"""Error metrics on fields with known answers."""

from __future__ import annotations

import math

import torch

from physml.models.metrics import band_errors, nrmse, vrmse


def fields(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    low, high = torch.sin(2 * x), 0.5 * torch.cos(28 * x)  # mode 2 (low band), mode 28 of 32 (high band)
    return low, high


def test_nrmse_and_vrmse_reference_values():
    low, _ = fields()
    truth = (3.0 + low)[None, None]  # mean 3, std 1/sqrt(2)
    assert nrmse(truth, truth).item() == 0
    torch.testing.assert_close(nrmse(torch.zeros_like(truth), truth), torch.ones(1, 1, dtype=torch.float64))
    mean_predictor = torch.full_like(truth, 3.0)
    torch.testing.assert_close(vrmse(mean_predictor, truth), torch.ones(1, 1, dtype=torch.float64))
    # A 10 % amplitude error of the fluctuation: VRMSE 0.1, nRMSE much smaller because of the mean.
    scaled = 3.0 + 1.1 * low
    torch.testing.assert_close(vrmse(scaled[None, None], truth), torch.full((1, 1), 0.1, dtype=torch.float64))
    assert nrmse(scaled[None, None], truth).item() < 0.03


def test_band_errors_separate_scales():
    low, high = fields()
    truth = (low + high)[None, None]
    smoothed = low[None, None]  # a surrogate that loses the fine scale
    errors = band_errors(smoothed, truth)
    # The lost high mode holds 0.25 of the 1.25 total power: all the error, in the high band.
    assert errors["low"].item() < 1e-12 and errors["mid"].item() < 1e-12
    assert abs(errors["high"].item() - math.sqrt(0.25 / 1.25)) < 1e-12
    # Parseval: the bands add in quadrature to the nRMSE, for any error.
    noisy = truth + 0.1 * torch.randn(3, 2, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    bands = band_errors(noisy, truth.expand(3, 2, 64))
    total = sum(e**2 for e in bands.values()).sqrt()
    torch.testing.assert_close(total, nrmse(noisy, truth.expand(3, 2, 64)), rtol=1e-10, atol=0)  # eps terms
    # 2D: a low mode in x times a high mode in y counts as high (the largest ratio over axes).
    y_high = high[None, :] * torch.ones(64, 1, dtype=torch.float64)
    errors_2d = band_errors(torch.zeros(1, 1, 64, 64, dtype=torch.float64), y_high[None, None])
    assert abs(errors_2d["high"].item() - 1.0) < 1e-9 and errors_2d["low"].item() < 1e-6
