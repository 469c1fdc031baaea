"""Inverse prediction: a physical system's parameters, with their uncertainty, from its fields or its image.

The forward models map parameters and states to the next state; this one maps what is observed (a ray-traced
image of a black hole, a window of a wave function) back to the parameters that made it: spin, inclination and
the disk's inner edge, or the potential's height and width. It predicts for each parameter a Gaussian, a mean
and a variance, trained by its negative log-likelihood (``F.gaussian_nll_loss``), so the variance learns how
far off each estimate tends to be: heteroscedastic regression (Nix & Weigend 1994; Kendall & Gal 2017). An
ensemble of such models (several seeds) also captures the spread between models.

The network is a convolutional encoder: a stem, then ``n_stages`` stages, each a residual block of two
convolutions and a stride-2 convolution that halves the grid and doubles the channels; a global average pool;
a two-layer head to ``2 P`` numbers (means and log-variances of the ``P`` standardised parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.registry import register_model

__all__ = ["EstimatorConfig", "ParameterEstimator"]


@dataclass(frozen=True)
class EstimatorConfig:
    """Architecture of a :class:`ParameterEstimator`: ``in_channels`` of 1D or 2D inputs (``ndim``), ``parameter_dim``
    parameters out; ``width`` channels after the stem, doubled at each of ``n_stages`` stages."""

    in_channels: int
    parameter_dim: int
    ndim: int = 2
    width: int = 32
    n_stages: int = 4
    kernel_size: int = 3
    dropout: float = 0.0
    #: Trained on the parameters (``modalities.parameters``) as targets, not fed them.
    estimates_parameters: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for name in ("in_channels", "parameter_dim", "width", "n_stages"):
            if (
                isinstance(getattr(self, name), bool)
                or not isinstance(getattr(self, name), int)
                or getattr(self, name) < 1
            ):
                raise ValueError(f"EstimatorConfig.{name} = {getattr(self, name)!r} is invalid: must be an int >= 1")
        if self.ndim not in (1, 2):
            raise ValueError(f"EstimatorConfig.ndim = {self.ndim!r} is invalid: must be 1 or 2")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"EstimatorConfig.kernel_size = {self.kernel_size!r} is invalid: must be odd and >= 1")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"EstimatorConfig.dropout = {self.dropout!r} is invalid: must be in [0, 1)")


class _Block(nn.Module):
    """``x + conv(gelu(norm(conv(gelu(norm(x))))))``: pre-activation residual block (He et al. 2016)."""

    def __init__(self, channels: int, conv: type[nn.Module], kernel_size: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(min(8, channels), channels), nn.GroupNorm(min(8, channels), channels)
        self.conv1 = conv(channels, channels, kernel_size, padding=kernel_size // 2)
        self.conv2 = conv(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.gelu(self.norm2(self.conv1(F.gelu(self.norm1(x))))))


@register_model("parameter_estimator", EstimatorConfig)
class ParameterEstimator(nn.Module):
    """Parameters from fields: ``(B, C_in, *space) -> (B, 2 P)``, the means then the log-variances.

    :meth:`predict` splits them into means and standard deviations. Inputs of any size along each axis work
    (the pool averages what the stages leave).

    Examples
    --------
    >>> model = ParameterEstimator(EstimatorConfig(in_channels=1, parameter_dim=3, width=8, n_stages=2))
    >>> mean, std = model.predict(torch.randn(4, 1, 32, 32))
    >>> mean.shape, bool((std > 0).all())
    (torch.Size([4, 3]), True)
    """

    estimates_parameters = True

    def __init__(self, config: EstimatorConfig) -> None:
        super().__init__()
        self.config = config
        conv = nn.Conv1d if config.ndim == 1 else nn.Conv2d
        width, k = config.width, config.kernel_size
        self.stem = conv(config.in_channels, width, k, padding=k // 2)
        stages = []
        for i in range(config.n_stages):
            channels = width * 2**i
            stages += [_Block(channels, conv, k), conv(channels, 2 * channels, 3, stride=2, padding=1)]
        self.stages = nn.Sequential(*stages)
        features = width * 2**config.n_stages
        self.head = nn.Sequential(nn.Linear(features, features), nn.GELU(), nn.Dropout(config.dropout),
                                  nn.Linear(features, 2 * config.parameter_dim))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 + self.config.ndim or x.shape[1] != self.config.in_channels:
            raise ValueError(f"x shape = {tuple(x.shape)} is invalid: must be (B, in_channels = "
                             f"{self.config.in_channels}, *space) with {self.config.ndim} spatial axes")  # fmt: skip
        h = self.stages(self.stem(x))  # (B, C_in, *space) -> (B, width 2^stages, *space / 2^stages)
        return self.head(h.flatten(2).mean(-1))  # pool: (B, C, *) -> (B, C) -> (B, 2 P)

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and standard deviations ``(B, P)`` each, in the units the model was trained in."""
        mean, log_var = self(x).chunk(2, dim=1)
        return mean, torch.exp(0.5 * log_var.clamp(-20.0, 20.0))

    @staticmethod
    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean Gaussian negative log-likelihood of ``target`` ``(B, P)`` under ``output`` ``(B, 2 P)`` (without
        the constant ``log sqrt(2 pi)``)."""
        mean, log_var = output.chunk(2, dim=1)
        return F.gaussian_nll_loss(mean, target, log_var.clamp(-20.0, 20.0).exp(), eps=1e-8)
