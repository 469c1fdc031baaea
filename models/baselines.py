"""Baselines in the same interface as the neural operators: persistence and a convolutional ResNet."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.registry import register_model
from physml.models.spectral_conv import spectral_skip
from physml.models.unet import PADDINGS

__all__ = ["Persistence", "PersistenceConfig", "ResNet", "ResNetConfig"]


@dataclass(frozen=True)
class PersistenceConfig:
    """Predict "nothing changes": output channels are input channels ``offset .. offset + out_channels``.

    With inputs laid out as ``n_input`` steps of ``C`` field channels (then static
    fields), ``offset = (n_input - 1) * C`` copies the latest step.
    """

    in_channels: int
    out_channels: int
    offset: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.offset <= self.in_channels - self.out_channels:
            raise ValueError(
                f"PersistenceConfig.offset = {self.offset!r} is invalid: need 0 <= offset <= "
                f"in_channels - out_channels = {self.in_channels - self.out_channels}"
            )


@register_model("persistence", PersistenceConfig)
class Persistence(nn.Module):
    """``x -> x[:, offset : offset + out_channels]``; no parameters, the floor every model must beat."""

    def __init__(self, config: PersistenceConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.config.offset : self.config.offset + self.config.out_channels]


@dataclass(frozen=True)
class ResNetConfig:
    """A stack of residual blocks of two ``kernel_size`` convolutions, 1D or 2D, padded circularly (periodic boxes)
    or otherwise (``padding``: ``zeros`` or ``reflect`` for open ones). ``spectral_skip > 0`` adds a linear spectral
    convolution of that many modes per axis from the inputs to the output, zero at the start (see
    :func:`~physml.models.spectral_conv.spectral_skip`)."""

    in_channels: int
    out_channels: int
    ndim: int = 1
    width: int = 32
    n_blocks: int = 4
    kernel_size: int = 5
    padding: str = "circular"
    spectral_skip: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.spectral_skip, int) or self.spectral_skip < 0:
            raise ValueError(f"ResNetConfig.spectral_skip = {self.spectral_skip!r} is invalid: must be an int >= 0")
        if self.ndim not in (1, 2):
            raise ValueError(f"ResNetConfig.ndim = {self.ndim!r} is invalid: must be 1 or 2")
        if self.padding not in PADDINGS:
            raise ValueError(f"ResNetConfig.padding = {self.padding!r} is invalid: choose one of {', '.join(PADDINGS)}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"ResNetConfig.kernel_size = {self.kernel_size!r} is invalid: must be odd and >= 1")
        for name in ("in_channels", "out_channels", "width", "n_blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"ResNetConfig.{name} = {getattr(self, name)!r} is invalid: must be >= 1")


def _conv(config: ResNetConfig, in_channels: int, out_channels: int, kernel_size: int) -> nn.Module:
    conv = nn.Conv1d if config.ndim == 1 else nn.Conv2d
    return conv(in_channels, out_channels, kernel_size, padding=kernel_size // 2, padding_mode=config.padding)


class ResidualBlock(nn.Module):
    """``v -> v + conv(GELU(conv(v)))``."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.first = _conv(config, config.width, config.width, config.kernel_size)
        self.second = _conv(config, config.width, config.width, config.kernel_size)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v + self.second(F.gelu(self.first(v)))


@register_model("resnet", ResNetConfig)
class ResNet(nn.Module):
    """Local convolutional baseline ``(B, C_in, *space) -> (B, C_out, *space)``: lift, residual blocks, project."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.lift = _conv(config, config.in_channels, config.width, 1)
        self.blocks = nn.Sequential(*(ResidualBlock(config) for _ in range(config.n_blocks)))
        self.project = _conv(config, config.width, config.out_channels, 1)
        self.spectral = spectral_skip(config.in_channels, config.out_channels, config.spectral_skip, config.ndim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.blocks(F.gelu(self.lift(x))))  # (B, C_in, *space) -> (B, C_out, *space)
        return out if self.spectral is None else out + self.spectral(x)
