"""Fourier neural operator (Li et al. 2021) for 1D and 2D fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.noise_level import FiLM, NoiseEmbedding, check_noise
from physml.models.registry import register_model
from physml.models.spectral_conv import SpectralConv

__all__ = ["FNO", "FNOConfig", "FourierBlock"]


@dataclass(frozen=True)
class FNOConfig:
    """Architecture of an :class:`FNO`.

    ``in_channels`` counts every input channel (e.g. ``n_input`` steps of
    ``psi`` re/im plus static fields such as the potential); ``out_channels``
    the predicted ones. ``modes`` has one entry per spatial axis.
    """

    in_channels: int
    out_channels: int
    modes: tuple[int, ...] = (16,)
    width: int = 32
    n_layers: int = 4
    noise_embedding: bool = False

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "width", "n_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"FNOConfig.{name} = {value!r} is invalid: must be an integer >= 1")
        object.__setattr__(self, "modes", tuple(int(m) for m in self.modes))
        if len(self.modes) not in (1, 2) or min(self.modes) < 1:
            raise ValueError(f"FNOConfig.modes = {self.modes!r} is invalid: one or two positive mode counts")
        if not isinstance(self.noise_embedding, bool):
            raise ValueError(f"FNOConfig.noise_embedding = {self.noise_embedding!r} is invalid: true or false")


def _pointwise(ndim: int, in_channels: int, out_channels: int) -> nn.Module:
    """A 1x1 convolution: the same linear map at every grid point."""
    return (nn.Conv1d if ndim == 1 else nn.Conv2d)(in_channels, out_channels, kernel_size=1)


class FourierBlock(nn.Module):
    """``v -> GELU(K v + W v)``: global spectral convolution plus a pointwise linear skip (Li et al. eq. 2).

    With a noise embedding of width ``emb_dim``, ``K v + W v`` is scaled and shifted by it (FiLM) before the GELU.
    """

    def __init__(self, width: int, modes: Sequence[int], emb_dim: int = 0) -> None:
        super().__init__()
        self.spectral = SpectralConv(width, width, modes=modes)
        self.skip = _pointwise(len(modes), width, width)
        self.film = FiLM(emb_dim, width) if emb_dim else None

    def forward(self, v: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.spectral(v) + self.skip(v)
        return F.gelu(self.film(h, emb) if self.film is not None else h)


@register_model("fno", FNOConfig)
class FNO(nn.Module):
    """Fourier neural operator ``(B, C_in, *space) -> (B, C_out, *space)`` on periodic 1D or 2D grids.

    Lift to ``width`` channels pointwise, apply ``n_layers`` Fourier blocks,
    project pointwise (through a ``2 width`` hidden layer) to the outputs.
    With ``noise_embedding`` it is a denoiser: ``forward(x, *, noise)`` takes
    the noise level ``(B,)`` (see :mod:`physml.models.noise_level`).

    Examples
    --------
    >>> model = FNO(FNOConfig(in_channels=3, out_channels=2, modes=(8,), width=16, n_layers=2))
    >>> model(torch.randn(5, 3, 64)).shape
    torch.Size([5, 2, 64])
    """

    def __init__(self, config: FNOConfig) -> None:
        super().__init__()
        self.config = config
        ndim = len(config.modes)
        self.lift = _pointwise(ndim, config.in_channels, config.width)
        emb_dim = config.width if config.noise_embedding else 0
        self.noise = NoiseEmbedding(emb_dim) if emb_dim else None
        self.blocks = nn.ModuleList(FourierBlock(config.width, config.modes, emb_dim) for _ in range(config.n_layers))
        self.project = nn.Sequential(
            _pointwise(ndim, config.width, 2 * config.width),
            nn.GELU(),
            _pointwise(ndim, 2 * config.width, config.out_channels),
        )

    def forward(self, x: torch.Tensor, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        check_noise(noise, x.shape[0], self.config.noise_embedding, "fno")
        emb = self.noise(noise) if self.noise is not None else None
        v = self.lift(x)  # (B, C_in, *space) -> (B, width, *space)
        for block in self.blocks:
            v = block(v, emb)
        return self.project(v)  # (B, width, *space) -> (B, C_out, *space)
