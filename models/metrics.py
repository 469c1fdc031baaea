"""Error metrics for predicted fields, as The Well reports them, errors per Fourier band, and ensemble scores.

The error metrics take ``prediction`` and ``truth`` shaped ``(B, C, *space)``
and return ``(B, C)`` (per sample and channel; average as you need). The
ensemble scores take ``samples`` ``(N, B, C, *space)`` from a generative model.
"""

from __future__ import annotations

import torch

__all__ = ["BANDS", "band_errors", "correlation", "crps", "first_below", "nrmse", "spread_skill", "vrmse"]

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


def correlation(prediction: torch.Tensor, truth: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """``(B,)``: Pearson correlation of each sample's prediction with the truth over all channels and points.

    PDE-Refiner's stability measure: a rollout stays useful while it is high
    (its "high-correlation time" is the step where it first drops below 0.8).
    """
    p = prediction.flatten(1) - prediction.flatten(1).mean(1, keepdim=True)
    t = truth.flatten(1) - truth.flatten(1).mean(1, keepdim=True)
    return (p * t).sum(1) / ((p**2).sum(1).sqrt() * (t**2).sum(1).sqrt() + eps)


def first_below(values: torch.Tensor, threshold: float) -> torch.Tensor:
    """``(B,)``: for per-step values ``(B, steps)``, how many steps pass before the first one below ``threshold``.

    ``steps`` where it never drops below: a lower bound, the horizon that was scored.
    """
    below = values < threshold
    first = torch.where(
        below.any(1), below.float().argmax(1), torch.full_like(below[:, 0], values.shape[1], dtype=torch.long)
    )
    return first.long()


def spread_skill(samples: torch.Tensor, truth: torch.Tensor) -> dict[str, torch.Tensor]:
    """``spread``, ``skill`` and their ``ratio``, ``(B, C)`` each, for an ensemble ``(N, B, C, *space)``.

    ``skill`` is the RMSE of the ensemble mean; ``spread`` the RMS ensemble
    standard deviation, times ``sqrt((N + 1) / N)`` for a finite ensemble (so
    that a calibrated ensemble has ``ratio = spread / skill ~ 1``; below 1 it is
    over-confident).
    """
    n, dims = samples.shape[0], tuple(range(2, truth.ndim))
    mean = samples.mean(0)
    skill = ((mean - truth) ** 2).mean(dims).sqrt()
    spread = (samples.var(0, unbiased=True).mean(dims) * (n + 1) / n).sqrt()
    return {"spread": spread, "skill": skill, "ratio": spread / skill.clamp(min=1e-300)}


def crps(samples: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``(B, C)``: the continuous ranked probability score of an ensemble ``(N, B, C, *space)``, mean over points.

    ``E|X - y| - E|X - X'| / 2`` with the ensemble as the distribution of ``X``
    (the pairwise term from the sorted members, ``O(N log N)``). For a single
    member it is the mean absolute error; lower is better.
    """
    n, dims = samples.shape[0], tuple(range(2, truth.ndim))
    error = (samples - truth.unsqueeze(0)).abs().mean(0)
    ordered = samples.sort(dim=0).values
    weights = (2 * torch.arange(n, dtype=samples.dtype, device=samples.device) - n + 1).view(-1, *([1] * truth.ndim))
    pairwise = 2 * (weights * ordered).sum(0) / n**2  # mean over pairs (i, j) of |x_i - x_j|
    return (error - pairwise / 2).mean(dims)
