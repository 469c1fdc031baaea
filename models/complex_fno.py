"""A Fourier neural operator with complex weights, for complex fields such as a wave function.

:class:`~physml.models.FNO` sees ``psi`` as two real channels (re, im) and
mixes them with real weights. Here the re/im channel pairs become complex
channels and every linear map is complex-linear (Trabelsi et al. 2018, "Deep
Complex Networks"): a multiplication by ``e^{i theta}`` at the input passes
through each linear layer unchanged, as in the Schrödinger equation, and only
the activation (GELU on real and imaginary parts, "split GELU") breaks it. The
real inputs (the potential) enter as complex channels with zero imaginary part.
``benchmarks/training_study.py --variants real-channels complex`` trains both alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.registry import register_model

__all__ = ["ComplexFNO", "ComplexFNOConfig", "ComplexLinear", "ComplexSpectralConv"]


def _complex_weight(*shape: int, fan_in: int) -> nn.Parameter:
    """Complex weights stored as real pairs (optimisers and checkpoints see real tensors), variance 1 / fan_in."""
    return nn.Parameter(torch.randn(*shape, 2) / math.sqrt(2 * fan_in))


class ComplexLinear(nn.Module):
    """The same complex linear map at every grid point: ``(B, C_in, *space) -> (B, C_out, *space)``, complex."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.weight = _complex_weight(out_channels, in_channels, fan_in=in_channels)
        self.bias = nn.Parameter(torch.zeros(out_channels, 2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        weight, bias = torch.view_as_complex(self.weight), torch.view_as_complex(self.bias)
        out = torch.einsum("oi,bi...->bo...", weight, z)  # (B, Cin, *space) -> (B, Cout, *space)
        return out + bias.view(1, -1, *([1] * (z.ndim - 2)))


class ComplexSpectralConv(nn.Module):
    """``IFFT(R . FFT(z))`` for complex ``z``: the ``modes`` lowest ``|k|`` per axis, positive and negative.

    A complex field has no Hermitian symmetry, so the full FFT is used and
    negative wavenumbers carry their own weights.
    """

    def __init__(self, in_channels: int, out_channels: int, *, modes: Sequence[int]) -> None:
        super().__init__()
        self.modes = tuple(int(m) for m in modes)
        if len(self.modes) not in (1, 2) or min(self.modes) < 1:
            raise ValueError(f"modes = {tuple(modes)!r} is invalid: give one or two positive mode counts")
        self.out_channels = out_channels
        self.weight = _complex_weight(in_channels, out_channels, *self.modes, fan_in=in_channels)

    def _kept(self, shape: Sequence[int]) -> list[torch.Tensor]:
        index = []
        for axis, (m, n) in enumerate(zip(self.modes, shape)):
            if m > n:
                raise ValueError(f"grid of {n} points along axis {axis} cannot hold {m} modes (at most {n})")
            positive = (m + 1) // 2
            index.append(torch.cat([torch.arange(positive), torch.arange(n - (m - positive), n)]))
        return index

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        space = z.shape[2:]
        if len(space) != len(self.modes):
            raise ValueError(f"input has {len(space)} spatial dims; this layer is {len(self.modes)}D")
        dims = tuple(range(2, z.ndim))
        z_hat = torch.fft.fftn(z, dim=dims, norm="ortho")  # (B, Cin, *space), complex
        weight = torch.view_as_complex(self.weight)  # (Cin, Cout, *modes)
        out = z_hat.new_zeros(z.shape[0], self.out_channels, *space)
        if len(space) == 1:
            (index,) = self._kept(space)
            out[..., index] = torch.einsum("bix,iox->box", z_hat[..., index], weight)
        else:
            rows, cols = self._kept(space)
            block = z_hat[:, :, rows][..., cols]  # (B, Cin, mx, my)
            out[:, :, rows[:, None], cols[None, :]] = torch.einsum("bixy,ioxy->boxy", block, weight)
        return torch.fft.ifftn(out, dim=dims, norm="ortho")  # (B, Cout, *space), complex


def split_gelu(z: torch.Tensor) -> torch.Tensor:
    """GELU on the real and imaginary parts separately."""
    return torch.complex(F.gelu(z.real), F.gelu(z.imag))


@dataclass(frozen=True)
class ComplexFNOConfig:
    """Architecture of a :class:`ComplexFNO`.

    ``in_channels`` and ``out_channels`` count real channels, as the
    :class:`~physml.models.FieldFormat` lays them out: the first
    ``2 * n_complex`` inputs are ``n_complex`` (re, im) pairs (e.g. ``psi`` at
    each input step), the rest are real (e.g. the potential); the outputs are
    all (re, im) pairs. ``width`` counts complex channels. At equal width and
    modes the parameter count is close to an :class:`~physml.models.FNO`'s:
    the spectral weights, nearly all of them, are complex in both (the real
    FNO's multiply ``rfft`` modes); only the pointwise layers double.
    """

    in_channels: int
    out_channels: int
    n_complex: int = 1
    modes: tuple[int, ...] = (16,)
    width: int = 24
    n_layers: int = 4

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "n_complex", "width", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ComplexFNOConfig.{name} = {value!r} is invalid: must be an integer >= 1")
        if 2 * self.n_complex > self.in_channels:
            raise ValueError(
                f"ComplexFNOConfig.n_complex = {self.n_complex} is invalid: {2 * self.n_complex} real channels "
                f"needed, in_channels = {self.in_channels}"
            )
        if self.out_channels % 2:
            raise ValueError(f"ComplexFNOConfig.out_channels = {self.out_channels} is invalid: must be even (re, im)")
        object.__setattr__(self, "modes", tuple(int(m) for m in self.modes))
        if len(self.modes) not in (1, 2) or min(self.modes) < 1:
            raise ValueError(f"ComplexFNOConfig.modes = {self.modes!r} is invalid: one or two positive mode counts")


@register_model("complex_fno", ComplexFNOConfig)
class ComplexFNO(nn.Module):
    """Complex-weight FNO ``(B, C_in, *space) -> (B, C_out, *space)`` (real channels in and out, complex inside).

    Examples
    --------
    >>> model = ComplexFNO(ComplexFNOConfig(in_channels=3, out_channels=2, modes=(8,), width=8, n_layers=2))
    >>> model(torch.randn(5, 3, 64)).shape
    torch.Size([5, 2, 64])
    """

    def __init__(self, config: ComplexFNOConfig) -> None:
        super().__init__()
        self.config = config
        n_in = config.n_complex + (config.in_channels - 2 * config.n_complex)
        self.lift = ComplexLinear(n_in, config.width)
        self.spectral = nn.ModuleList(
            ComplexSpectralConv(config.width, config.width, modes=config.modes) for _ in range(config.n_layers)
        )
        self.skip = nn.ModuleList(ComplexLinear(config.width, config.width) for _ in range(config.n_layers))
        self.hidden = ComplexLinear(config.width, 2 * config.width)
        self.project = ComplexLinear(2 * config.width, config.out_channels // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        work = x if x.dtype in (torch.float32, torch.float64) else x.float()  # complex ops need float32/64
        pairs = 2 * self.config.n_complex
        # (B, 2 n_complex, *space) -> (B, n_complex, *space) complex; real inputs get imaginary part 0.
        z = torch.complex(work[:, 0:pairs:2], work[:, 1:pairs:2])
        z = torch.cat([z, work[:, pairs:].to(z.dtype)], dim=1)
        v = self.lift(z)  # (B, n_in, *space) -> (B, width, *space)
        for spectral, skip in zip(self.spectral, self.skip):
            v = split_gelu(spectral(v) + skip(v))
        out = self.project(split_gelu(self.hidden(v)))  # (B, width, *space) -> (B, C_out / 2, *space)
        # (B, C_out / 2, *space) complex -> (B, C_out, *space) as (re, im) pairs
        return torch.stack([out.real, out.imag], dim=2).flatten(1, 2).to(x.dtype)
