"""How a denoiser hears the noise level: sinusoidal features of ``t`` through an MLP, and FiLM modulation.

A diffusion model (:mod:`physml.models.diffusion`) calls its denoiser with
``noise = t``, ``(B,)`` in ``[0, 1]``, larger meaning noisier. Every network
that can serve as a denoiser (U-Net, FNO, multimodal transformer) embeds ``t``
with :class:`NoiseEmbedding` and lets the embedding scale and shift its hidden
features (:class:`FiLM`; for the transformer, adaptive norm). The modulation
starts at zero, so a fresh denoiser is its plain twin until it learns to use ``t``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["FiLM", "NoiseEmbedding", "check_noise"]


class NoiseEmbedding(nn.Module):
    """``t`` ``(B,)`` -> ``(B, dim)``: sines and cosines of ``1000 t`` at ``dim / 2`` geometric frequencies, an MLP.

    The factor 1000 puts a DDPM step count's resolution into the features
    (neighbouring levels of a 1000-step schedule get distinct embeddings).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        half = max(dim // 2, 1)
        frequencies = torch.exp(-math.log(10_000.0) * torch.arange(half) / half)
        self.register_buffer("frequencies", frequencies, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = 1000.0 * t.float()[:, None] * self.frequencies[None, :]  # (B, 1) * (1, half) -> (B, half)
        features = torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, 2 half)
        return self.mlp(features.to(self.mlp[0].weight.dtype))


class FiLM(nn.Module):
    """``h -> h (1 + scale) + shift``, with ``(scale, shift)`` a zero-initialised linear map of the embedding.

    ``h`` is ``(B, channels, *space)``; ``emb`` ``(B, dim)``.
    """

    def __init__(self, dim: int, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 2 * channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(emb).to(h.dtype).chunk(2, dim=1)  # (B, 2 C) -> 2 x (B, C)
        shape = (*scale.shape, *([1] * (h.ndim - 2)))  # (B, C, 1, ...)
        return h * (1 + scale.view(shape)) + shift.view(shape)


def check_noise(noise: torch.Tensor | None, batch: int, conditioned: bool, model: str) -> None:
    """A noise level is given exactly when the model embeds one, as ``(B,)`` for a batch of ``B``."""
    if noise is None and conditioned:
        raise ValueError(f"noise = None is invalid: this {model} was built with noise_embedding = true (a denoiser)")
    if noise is not None and not conditioned:
        raise ValueError(f"noise was given, but this {model} has noise_embedding = false (it is not a denoiser)")
    if noise is not None and tuple(noise.shape) != (batch,):
        raise ValueError(f"noise shape = {tuple(noise.shape)} is invalid: must be (B,) = ({batch},)")
