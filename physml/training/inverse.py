"""Scoring an inverse model: the parameters it reads off held-out fields or images, and how honest its error bars are.

:func:`evaluate_estimator` runs a trained :class:`~physml.models.ParameterEstimator` over a split and reports, for
each parameter in its physical units, the mean absolute and root-mean-square error, and the calibration of its
Gaussian: the share of true values within one and two predicted standard deviations (68.3 % and 95.4 % for a
calibrated model) and the mean negative log-likelihood. It repeats this with the inputs degraded:

* ``noise`` = σ: Gaussian noise of σ times each input's rms, added to what the model reads (for ``bh_images``
  the normalised log intensity, so σ = 0.1 is a multiplicative error of about a quarter of a decade's spread);
* ``blur`` = s: a Gaussian blur of s grid points (pixels) along each axis, edges reflected.

Each noise level is drawn from ``seed``, the same draws for every model scored.

Given several checkpoints (the same recipe trained from different seeds), it scores them as one deep ensemble:
the equal-weight mixture of the members' Gaussians, whose mean is the members' mean and whose variance is the
members' mean variance (what each expects to get wrong) plus the variance of their means (where they disagree).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from physml.datasets.samples import WindowDataset
from physml.models import FieldFormat, load_checkpoint
from physml.training.conditioning import Conditioning
from physml.training.config import train_config_from_dict
from physml.training.data import training_samples
from physml.training.distributed import resolve_device

__all__ = ["blurred", "evaluate_estimator"]


def blurred(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` ``(B, C, *space)`` (1 or 2 spatial axes) blurred by a Gaussian of ``sigma`` grid points per axis."""
    if sigma <= 0:
        return x
    half = max(1, math.ceil(3 * sigma))
    if half >= min(x.shape[2:]):  # (a reflection needs a grid wider than the kernel's half)
        raise ValueError(f"blur = {sigma} is invalid for a grid of {tuple(x.shape[2:])}: 3 blur must be < the grid")
    offsets = torch.arange(-half, half + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels, ndim = x.shape[1], x.ndim - 2
    for axis in range(ndim):  # separable: one 1D convolution per axis
        shape = [1, 1] + [1] * ndim
        shape[2 + axis] = kernel.numel()
        weight = kernel.view(shape).expand(channels, *shape[1:])  # (C, 1, k, 1) or (C, 1, 1, k): one per channel
        pad = [0, 0] * ndim  # F.pad lists the last axis first
        pad[2 * (ndim - 1 - axis) : 2 * (ndim - 1 - axis) + 2] = [half, half]
        conv = F.conv1d if ndim == 1 else F.conv2d
        x = conv(F.pad(x, pad, mode="reflect"), weight, groups=channels)
    return x


@torch.no_grad()
def evaluate_estimator(
    checkpoint: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    data_path: str | os.PathLike[str],
    *,
    split: str = "test",
    noise: tuple[float, ...] = (0.0,),
    blur: tuple[float, ...] = (0.0,),
    device: str = "auto",
    seed: int = 0,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Errors and calibration of an estimator's parameters on ``split`` of ``data_path``, clean and degraded.

    Returns ``{"split", "n", "parameters", "members", "conditions": [{"noise", "blur", "per_parameter": {name:
    {"mae", "rmse", "within_1_sigma", "within_2_sigma", "mean_sigma", "nll"}}}]}``, one condition per pair of
    ``noise`` and ``blur`` levels (each noise level unblurred, then each blur noiseless, the clean case once).
    A sequence of checkpoints is scored as their deep ensemble (``members``: how many); they must read the data
    alike (the same data options, normalisation and parameters).
    """
    for name, levels in (("noise", noise), ("blur", blur)):
        if not levels or any(not math.isfinite(v) or v < 0 for v in levels):
            raise ValueError(f"{name} = {levels!r} is invalid: give finite levels >= 0")
    paths = [checkpoint] if isinstance(checkpoint, (str, os.PathLike)) else list(checkpoint)
    if not paths:
        raise ValueError("checkpoint = [] is invalid: give one estimator, or several for an ensemble")
    torch_device = resolve_device(device)
    models, extras = [], []
    for path in paths:
        model, extra = load_checkpoint(path, device=torch_device)
        if not getattr(model, "estimates_parameters", False):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a parameter estimator")
        if models:  # members must see the same inputs and answer in the same units
            first, this = _reading(extras[0]), _reading(extra)
            differ = [key for key in first if this[key] != first[key]]
            if differ:
                raise ValueError(f"{path} cannot join an ensemble with {paths[0]}: its {differ[0]} differs")
        models.append(model.eval())
        extras.append(extra)
    extra = extras[0]
    config = train_config_from_dict(extra["config"])
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, path=str(data_path)))
    fmt, conditioning = FieldFormat(**extra["format"]), Conditioning.from_dict(extra["conditioning"])
    dataset = training_samples(config, split, transforms=[])
    if isinstance(dataset, WindowDataset):  # read in the units the model learnt
        dataset.use_normalization(extra.get("normalization"))
    if len(dataset) == 0:
        raise ValueError(f"{data_path} has no {split!r} samples to evaluate on")
    observed, truth = [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        fields, constant = batch["input_fields"], batch.get("constant_fields")
        observed.append(fmt.inputs(fields, constant) if fmt.n_input else batch["output_fields"][:, 0])
        truth.append(torch.stack([batch["parameters"][n].double() for n in conditioning.parameters], dim=1))
    x, y = torch.cat(observed).float(), torch.cat(truth)  # (N, C, *space), (N, P) physical
    shift = torch.tensor(conditioning.parameter_shift, dtype=torch.float64)
    scale = torch.tensor(conditioning.parameter_scale, dtype=torch.float64)
    conditions = [(0.0, 0.0)] + [(n, 0.0) for n in noise if n > 0] + [(0.0, b) for b in blur if b > 0]
    rms = x.flatten(1).square().mean(1).sqrt().view(-1, *[1] * (x.ndim - 1))  # (N, 1, ...): each input's
    results = []
    for level, sigma in conditions:
        generator = torch.Generator().manual_seed(seed)  # the same draws for every model and level
        degraded = blurred(x, sigma) + level * rms * torch.randn(x.shape, generator=generator)
        mean, std = _mixture([_predict(m, degraded, batch_size, torch_device) for m in models])
        mean, std = mean * scale + shift, std * scale  # physical units
        results.append(
            {"noise": level, "blur": sigma, "per_parameter": _metrics(conditioning.parameters, mean, std, y)}
        )
    return {"split": split, "n": len(y), "parameters": list(conditioning.parameters), "members": len(models),
            "conditions": results}  # fmt: skip


def _reading(extra: dict[str, Any]) -> dict[str, Any]:
    """What fixes an estimator's inputs and outputs, from its checkpoint's extras."""
    return {"format": extra.get("format"), "conditioning": extra.get("conditioning"),
            "normalization": extra.get("normalization"), "data options": extra["config"]["data"]}  # fmt: skip


def _predict(model, x: torch.Tensor, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A model's means and standard deviations (standardised units, float64) over ``x``, batch by batch."""
    means, stds = [], []
    for start in range(0, len(x), batch_size):
        mean, std = model.predict(x[start : start + batch_size].to(device))
        means.append(mean.double().cpu())
        stds.append(std.double().cpu())
    return torch.cat(means), torch.cat(stds)


def _mixture(members: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the equal-weight mixture of the members' Gaussians."""
    means = torch.stack([mean for mean, _ in members])  # (M, N, P)
    variances = torch.stack([std**2 for _, std in members])
    mean = means.mean(0)
    return mean, (variances.mean(0) + (means - mean).square().mean(0)).sqrt()


def _metrics(names: tuple[str, ...], mean: torch.Tensor, std: torch.Tensor, truth: torch.Tensor) -> dict[str, Any]:
    error, z = mean - truth, (mean - truth) / std
    nll = 0.5 * (z**2 + 2 * torch.log(std) + math.log(2 * math.pi))  # per sample and parameter, physical units
    return {
        name: {
            "mae": float(error[:, i].abs().mean()),
            "rmse": float(error[:, i].square().mean().sqrt()),
            "within_1_sigma": float((z[:, i].abs() <= 1).double().mean()),
            "within_2_sigma": float((z[:, i].abs() <= 2).double().mean()),
            "mean_sigma": float(std[:, i].mean()),
            "nll": float(nll[:, i].mean()),
        }
        for i, name in enumerate(names)
    }
