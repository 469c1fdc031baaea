"""Spectral convolution: the Fourier layer of a neural operator (Li et al. 2021, ICLR, eq. 4).

``(K v)(x) = IFFT( R . FFT(v) )(x)`` with a learned complex weight ``R`` on the
lowest ``modes`` Fourier modes per axis and zero above them. Over a periodic
grid this is a global convolution whose kernel is band-limited, so the layer
is translation-equivariant and can be evaluated on any resolution that holds
its modes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["SpectralConv"]


class SpectralConv(nn.Module):
    """Fourier layer on 1D or 2D fields ``(B, C_in, *space) -> (B, C_out, *space)``.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts.
    modes
        Fourier modes kept per spatial axis, e.g. ``(16,)`` or ``(12, 12)``. On
        the last axis (real FFT) modes ``0 .. m-1`` are kept; on the others the
        ``m`` lowest in absolute frequency (``m // 2`` positive, the rest negative).

    Examples
    --------
    >>> layer = SpectralConv(2, 3, modes=(8,))
    >>> layer(torch.randn(4, 2, 64)).shape
    torch.Size([4, 3, 64])
    """

    def __init__(self, in_channels: int, out_channels: int, *, modes: Sequence[int]) -> None:
        super().__init__()
        self.modes = tuple(int(m) for m in modes)
        if len(self.modes) not in (1, 2) or min(self.modes) < 1:
            raise ValueError(f"modes = {tuple(modes)!r} is invalid: give one or two positive mode counts")
        self.in_channels, self.out_channels = in_channels, out_channels
        scale = 1 / math.sqrt(in_channels * out_channels)
        # One complex weight per (in, out, kept mode); stored as real pairs so that optimisers see real tensors.
        self.weight = nn.Parameter(scale * torch.randn(in_channels, out_channels, *self.modes, 2))

    @property
    def ndim(self) -> int:
        return len(self.modes)

    def _kept(self, shape: Sequence[int]) -> list[torch.Tensor | slice]:
        """Indices of the kept modes of an ``rfftn`` spectrum of a field with spatial ``shape``."""
        *leading, last = self.modes
        index: list[torch.Tensor | slice] = []
        for m, n in zip(leading, shape[:-1]):
            positive = (m + 1) // 2
            index.append(torch.cat([torch.arange(positive), torch.arange(n - (m - positive), n)]))
        index.append(slice(0, last))
        return index

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        space = v.shape[2:]
        if len(space) != self.ndim:
            raise ValueError(f"input has {len(space)} spatial dims; this layer is {self.ndim}D")
        for axis, (m, n) in enumerate(zip(self.modes, space)):
            limit = n // 2 + 1 if axis == self.ndim - 1 else n
            if m > limit:
                raise ValueError(f"grid of {n} points along axis {axis} cannot hold {m} modes (at most {limit})")
        dims = tuple(range(2, 2 + self.ndim))
        # FFTs run in float32 or float64 (torch.fft has no bfloat16): under autocast the input is upcast here.
        work = v if v.dtype in (torch.float32, torch.float64) else v.float()
        v_hat = torch.fft.rfftn(work, dim=dims, norm="ortho")  # (B, Cin, *space) -> (B, Cin, ..., X//2+1)
        weight = torch.view_as_complex(self.weight.to(work.dtype))  # (Cin, Cout, *modes)
        if self.ndim == 1:
            # irfftn pads the spectrum with zeros up to X//2+1 itself: no full-size buffer to fill.
            out = _mix(v_hat[..., : self.modes[0]], weight)  # (B, Cin, X//2+1) -> (B, Cout, m)
        else:
            rows, cols = self._kept(space)
            out = v_hat.new_zeros(v.shape[0], self.out_channels, *v_hat.shape[2:])
            out[:, :, rows, cols] = _mix(v_hat[:, :, rows][..., cols], weight)  # (B, Cin, mx, my) -> (B, Cout, mx, my)
        return torch.fft.irfftn(out, s=space, dim=dims, norm="ortho").to(v.dtype)  # (B, Cout, *space)


def _mix(kept: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``out[b, o, k] = sum_i kept[b, i, k] weight[i, o, k]`` for every kept mode ``k``: one batched matmul.

    ``torch.einsum("bix,iox->box", ...)`` is the same sum, but it hands ``bmm``
    strided complex operands, which PyTorch's CPU kernel multiplies 2-3x more
    slowly than contiguous ones; the results agree bit for bit on the FNO
    shapes tried (timed in ``benchmarks/fno_training.py``, recorded in
    ``docs/benchmarks.md``).
    """
    batch, cin, *modes = kept.shape
    lhs = kept.reshape(batch, cin, -1).permute(2, 0, 1).contiguous()  # (B, Cin, *modes) -> (K, B, Cin)
    # (Cin, Cout, *modes) -> (K, Cin, Cout)
    rhs = weight.reshape(cin, weight.shape[1], -1).permute(2, 0, 1).contiguous()
    return torch.bmm(lhs, rhs).permute(1, 2, 0).reshape(batch, -1, *modes)  # (K, B, Cout) -> (B, Cout, *modes)


def spectral_skip(in_channels: int, out_channels: int, modes: int, ndim: int) -> SpectralConv | None:
    """A linear spectral convolution of ``modes`` modes per axis that starts at zero (``None`` for ``modes = 0``):
    a full-resolution path from a model's inputs to its output, added to what the model computes. A linear
    operator diagonal in Fourier space (a free propagator) is one weight per mode in it."""
    if modes == 0:
        return None
    layer = SpectralConv(in_channels, out_channels, modes=(modes,) * ndim)
    nn.init.zeros_(layer.weight)
    return layer
