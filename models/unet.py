"""A U-Net for 1D and 2D fields (residual blocks, group norm, skip connections), with an optional noise level.

The modern U-Net of PDE surrogate benchmarks: at each of ``len(multipliers)``
resolutions, ``n_blocks`` residual blocks (group norm, GELU, 3-wide
convolution, twice), halving the grid on the way down and doubling it on the
way up, where each level also takes the features saved on the way down. It
sees local structure at every scale for a cost linear in the grid; it is a
strong next-state baseline and the usual denoiser of diffusion models.

With ``noise_embedding`` it takes ``noise = t`` ``(B,)`` and every residual
block scales and shifts its features by it (FiLM), which makes it a denoiser
for :class:`~physml.models.diffusion.Diffusion`. With ``parameter_dim = P`` it
also takes a vector of (normalised) physical parameters ``(B, P)``, embedded by
an MLP and added to the noise embedding (class conditioning as in image
diffusion); in training each sample drops it with probability
``parameter_dropout``, so the model also learns the unconditional case that
classifier-free guidance needs.

With ``coordinates`` the grid's coordinates (``-1 .. 1`` along each axis)
enter as extra input channels. A convolution cannot tell where it is on the
grid; a deterministic generator of static fields (``data.n_input = 0``: a
metric image from the black hole's parameters) has no other input to locate
the horizon or the shadow by, so it needs them (``in_channels`` may then be 0).

With ``patch = p > 1`` the U-Net works on a grid ``p`` times coarser: each
``p``-wide patch (``p × p`` in 2D) is folded into channels on the way in and
unfolded on the way out (space-to-depth and its inverse, as in pixel-shuffle
super-resolution), so every pixel keeps its own output at ``1 / p^ndim`` of
the cost. It is what makes a 128² generator cheap on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.noise_level import FiLM, NoiseEmbedding, check_noise
from physml.models.registry import register_model

__all__ = ["UNet", "UNetConfig"]

PADDINGS = ("circular", "zeros", "reflect")


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of a :class:`UNet`.

    ``field_size`` is the grid ``(X,)`` or ``(X, Y)`` (filled in from the data),
    each axis divisible by ``2 ** (len(multipliers) - 1)``; level ``i`` has
    ``width * multipliers[i]`` channels. ``padding``: ``circular`` for periodic
    boxes (the Schrödinger families), ``zeros`` or ``reflect`` otherwise.
    """

    in_channels: int
    out_channels: int
    field_size: tuple[int, ...]
    width: int = 32
    multipliers: tuple[int, ...] = (1, 2, 2)
    n_blocks: int = 1
    groups: int = 8
    padding: str = "circular"
    noise_embedding: bool = False
    parameter_dim: int = 0
    parameter_dropout: float = 0.0
    coordinates: bool = False
    patch: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_size", tuple(self.field_size))
        object.__setattr__(self, "multipliers", tuple(self.multipliers))
        if isinstance(self.patch, bool) or not isinstance(self.patch, int) or self.patch < 1:
            raise ValueError(f"UNetConfig.patch = {self.patch!r} is invalid: must be an integer >= 1")
        if not isinstance(self.coordinates, bool):
            raise ValueError(f"UNetConfig.coordinates = {self.coordinates!r} is invalid: true or false")
        for name in ("in_channels", "out_channels", "width", "n_blocks", "groups"):
            value = getattr(self, name)
            least = 0 if name == "in_channels" and self.coordinates else 1  # the coordinates may be the whole input
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                hint = " (coordinates = false: the input is all the model sees)" if name == "in_channels" else ""
                raise ValueError(f"UNetConfig.{name} = {value!r} is invalid: must be an integer >= {least}{hint}")
        if not self.multipliers or not all(isinstance(m, int) and m >= 1 for m in self.multipliers):
            raise ValueError(f"UNetConfig.multipliers = {self.multipliers!r} is invalid: one integer >= 1 per level")
        step = self.patch * 2 ** (len(self.multipliers) - 1)
        if len(self.field_size) not in (1, 2) or not all(isinstance(n, int) and n % step == 0 and n >= step
                                                         for n in self.field_size):  # fmt: skip
            raise ValueError(
                f"UNetConfig.field_size = {self.field_size!r} is invalid: (X,) or (X, Y), each a multiple of "
                f"patch * 2 ** (levels - 1) = {step}"
            )
        for m in self.multipliers:
            if (self.width * m) % self.groups:
                raise ValueError(
                    f"UNetConfig.groups = {self.groups} is invalid: must divide every level's width "
                    f"{[self.width * m for m in self.multipliers]}"
                )
        if self.padding not in PADDINGS:
            raise ValueError(f"UNetConfig.padding = {self.padding!r} is invalid: choose one of {', '.join(PADDINGS)}")
        if not isinstance(self.noise_embedding, bool):
            raise ValueError(f"UNetConfig.noise_embedding = {self.noise_embedding!r} is invalid: true or false")
        if isinstance(self.parameter_dim, bool) or not isinstance(self.parameter_dim, int) or self.parameter_dim < 0:
            raise ValueError(f"UNetConfig.parameter_dim = {self.parameter_dim!r} is invalid: must be an integer >= 0")
        if not 0 <= self.parameter_dropout < 1:
            raise ValueError(f"UNetConfig.parameter_dropout = {self.parameter_dropout!r} is invalid: must be in [0, 1)")

    @property
    def ndim(self) -> int:
        return len(self.field_size)


class ResidualBlock(nn.Module):
    """``x -> skip(x) + conv(GELU(FiLM(norm(conv(GELU(norm(x)))))))``."""

    def __init__(self, config: UNetConfig, c_in: int, c_out: int, emb_dim: int) -> None:
        super().__init__()
        conv = nn.Conv1d if config.ndim == 1 else nn.Conv2d
        self.norm1 = nn.GroupNorm(config.groups, c_in)  # every width is a multiple of groups, so every sum is
        self.conv1 = conv(c_in, c_out, 3, padding=1, padding_mode=config.padding)
        self.norm2 = nn.GroupNorm(config.groups, c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1, padding_mode=config.padding)
        self.film = FiLM(emb_dim, c_out) if emb_dim else None
        self.skip = conv(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None) -> torch.Tensor:
        h = self.conv1(F.gelu(self.norm1(x)))
        h = self.norm2(h)
        if self.film is not None:
            h = self.film(h, emb)
        return self.skip(x) + self.conv2(F.gelu(h))


@register_model("unet", UNetConfig)
class UNet(nn.Module):
    """U-Net ``(B, C_in, *space) -> (B, C_out, *space)``; ``forward(x, *, noise=None)``.

    The output convolution starts at zero: under a residual
    :class:`~physml.models.FieldFormat` training starts from persistence.

    Examples
    --------
    >>> model = UNet(UNetConfig(3, 2, field_size=(64,), width=8, multipliers=(1, 2)))
    >>> model(torch.randn(5, 3, 64)).shape
    torch.Size([5, 2, 64])
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        conv = nn.Conv1d if config.ndim == 1 else nn.Conv2d
        widths = [config.width * m for m in config.multipliers]
        emb_dim = config.width if config.noise_embedding or config.parameter_dim else 0
        self.noise = NoiseEmbedding(emb_dim) if config.noise_embedding else None
        self.parameter_embed = (
            nn.Sequential(nn.Linear(config.parameter_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            if config.parameter_dim
            else None
        )
        fold = config.patch**config.ndim  # channels per patch
        lifted = (config.in_channels + (config.ndim if config.coordinates else 0)) * fold
        self.lift = conv(lifted, widths[0], 3, padding=1, padding_mode=config.padding)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = widths[0]
        for level, w in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(config.n_blocks):
                blocks.append(ResidualBlock(config, c, w, emb_dim))
                c = w
            self.down.append(blocks)
            if level < len(widths) - 1:
                self.downsample.append(conv(c, c, 3, stride=2, padding=1, padding_mode=config.padding))
        self.middle = ResidualBlock(config, c, c, emb_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(widths))):
            w = widths[level]
            blocks = nn.ModuleList()
            for i in range(config.n_blocks):
                blocks.append(ResidualBlock(config, c + (w if i == 0 else 0), w, emb_dim))  # first takes the skip
                c = w
            self.up.append(blocks)
            if level > 0:
                self.upsample.append(conv(c, widths[level - 1], 3, padding=1, padding_mode=config.padding))
                c = widths[level - 1]
        self.norm = nn.GroupNorm(config.groups, c)
        self.head = conv(c, config.out_channels * fold, 3, padding=1, padding_mode=config.padding)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(
        self, x: torch.Tensor, *, noise: torch.Tensor | None = None, parameters: torch.Tensor | None = None
    ) -> torch.Tensor:
        cfg = self.config
        if x.ndim != 2 + cfg.ndim or x.shape[1] != cfg.in_channels or tuple(x.shape[2:]) != cfg.field_size:
            raise ValueError(
                f"x shape = {tuple(x.shape)} is invalid: must be (B, {cfg.in_channels}, "
                f"{', '.join(map(str, cfg.field_size))})"
            )
        check_noise(noise, x.shape[0], cfg.noise_embedding, "unet")
        emb = self._embedding(x, noise, parameters)
        if cfg.coordinates:
            x = torch.cat([x, self._coordinates(x)], dim=1)
        h = self.lift(_fold(x, cfg.patch))  # (B, C_in, *space) -> (B, width, *space / patch)
        saved = []
        for level, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, emb)
            saved.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)  # halve the grid
        h = self.middle(h, emb)
        for i, blocks in enumerate(self.up):
            h = torch.cat([h, saved.pop()], dim=1)  # the features of this resolution from the way down
            for block in blocks:
                h = block(h, emb)
            if i < len(self.upsample):
                h = F.interpolate(h, scale_factor=2, mode="nearest")  # double the grid
                h = self.upsample[i](h)
        return _unfold(self.head(F.gelu(self.norm(h))), cfg.patch)  # -> (B, C_out, *space)

    def _coordinates(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, ndim, *space)``: each axis's pixel centres scaled to ``[-1, 1]``."""
        sizes = self.config.field_size
        axes = [torch.linspace(-1 + 1 / n, 1 - 1 / n, n, device=x.device, dtype=x.dtype) for n in sizes]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))  # (ndim, *space)
        return grid.expand(x.shape[0], *grid.shape)

    def _embedding(
        self, x: torch.Tensor, noise: torch.Tensor | None, parameters: torch.Tensor | None
    ) -> torch.Tensor | None:
        """The FiLM embedding ``(B, width)``: noise level plus parameters (``None`` for a plain U-Net)."""
        cfg, B = self.config, x.shape[0]
        if parameters is not None and self.parameter_embed is None:
            raise ValueError("parameters were given, but this unet has parameter_dim = 0 (it reads fields only)")
        if parameters is not None and tuple(parameters.shape) != (B, cfg.parameter_dim):
            raise ValueError(
                f"parameters shape = {tuple(parameters.shape)} is invalid: must be (B, parameter_dim) = "
                f"({B}, {cfg.parameter_dim})"
            )
        emb = self.noise(noise) if self.noise is not None else None
        if self.parameter_embed is None:
            return emb
        if emb is None:
            emb = x.new_zeros(B, cfg.width)
        if parameters is None:  # the unconditional model: as if every sample's parameters were dropped
            return emb
        extra = self.parameter_embed(parameters.to(emb.dtype))
        if self.training and cfg.parameter_dropout > 0:
            extra = extra * (torch.rand(B, 1, device=x.device) >= cfg.parameter_dropout)
        return emb + extra


def _fold(x: torch.Tensor, p: int) -> torch.Tensor:
    """``(B, C, *space) -> (B, C p^d, *space / p)``: each patch's pixels as channels (space-to-depth)."""
    if p == 1:
        return x
    if x.ndim == 4:
        return F.pixel_unshuffle(x, p)
    B, C, X = x.shape
    return x.reshape(B, C, X // p, p).permute(0, 1, 3, 2).reshape(B, C * p, X // p)


def _unfold(x: torch.Tensor, p: int) -> torch.Tensor:
    """The inverse of :func:`_fold`."""
    if p == 1:
        return x
    if x.ndim == 4:
        return F.pixel_shuffle(x, p)
    B, Cp, X = x.shape
    return x.reshape(B, Cp // p, p, X).permute(0, 1, 3, 2).reshape(B, Cp // p, X * p)
