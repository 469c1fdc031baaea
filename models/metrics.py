"""Error metrics for predicted fields, as The Well reports them, plus errors per Fourier band.

All take ``prediction`` and ``truth`` shaped ``(B, C, *space)`` and return
``(B, C)`` (per sample and channel; average as you need).
"""

from __future__ import annotations

import torch

__all__ = ["BANDS", "band_errors", "nrmse", "vrmse"]

#: Fourier bands as fractions of the Nyquist wavenumber (per axis, the largest ratio over axes counts).
BANDS = {"low": (0.0, 1 / 3), "mid": (1 / 3, 2 / 3), "high": (2 / 3, 1.0 + 1e-9)}


def _space(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(range(2, x.ndim))


def nrmse(prediction: torch.Tensor, truth: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """``sqrt(mean (p - t)^2) / sqrt(mean t^2)`` over space: the error relative to the field's size."""
    dims = _space(truth)
    return ((prediction - truth) ** 2).mean(dims).sqrt() / ((truth**2).mean(dims).sqrt() + eps)


def vrmse(prediction: torch.Tensor, truth: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """``sqrt(mean (p - t)^2) / std(t)`` over space: 1 for predicting the spatial mean (The Well's VRMSE)."""
    dims = _space(truth)
    spread = (truth - truth.mean(dims, keepdim=True)) ** 2
    return ((prediction - truth) ** 2).mean(dims).sqrt() / (spread.mean(dims).sqrt() + eps)


def band_errors(prediction: torch.Tensor, truth: torch.Tensor, *, eps: float = 1e-12) -> dict[str, torch.Tensor]:
    """The error in each band of :data:`BANDS`, relative to the whole field: ``||FFT(p - t)|_band|| / ||FFT(t)||``.

    ``(B, C)`` each. By Parseval the bands add in quadrature to the nRMSE
    (``low^2 + mid^2 + high^2 = nrmse^2``), so they say where the error sits:
    a surrogate that gets the large scales right but smooths the fine ones
    has its error in the high band. (Relative to each band's own power
    instead, a band that the truth leaves nearly empty would turn a tiny
    error into a huge ratio.)
    """
    dims = _space(truth)
    error = torch.fft.fftn((prediction - truth).double(), dim=dims).abs() ** 2
    power = torch.fft.fftn(truth.double(), dim=dims).abs() ** 2
    ratio = torch.zeros(truth.shape[2:], dtype=torch.float64, device=truth.device)
    for axis, n in enumerate(truth.shape[2:]):
        k = torch.fft.fftfreq(n, device=truth.device).abs() * 2  # |k| / k_Nyquist in [0, 1]
        shape = [1] * len(dims)
        shape[axis] = n
        ratio = torch.maximum(ratio, k.view(shape))
    total = power.sum(dims) + eps
    out = {}
    for name, (low, high) in BANDS.items():
        mask = (ratio >= low) & (ratio < high)
        out[name] = ((error * mask).sum(dims) / total).sqrt().to(truth.dtype)
    return out
