"""A group-equivariant Fourier neural operator (in the manner of G-FNO): C4 or D4 built into the Fourier weights.

The hidden features are regular fields: ``|G|`` channels per field, one per group element ``h`` (4 for C4, 8 for
D4). A spectral layer applies, for each output element ``h``, the learned Fourier multiplier turned by ``h``:

    out[o, h](k) = Σ_i Σ_u  W[o, i, u](h⁻¹·k) · in[i, h·u](k)

so turning the input turns the output and permutes its ``h`` channels (a group convolution, here with global,
band-limited kernels). Because the group must map the kept modes onto themselves, the layer keeps the square
``|k_x|, |k_y| <= modes`` of a full (complex) 2-D FFT, not the half-plane of a real FFT, and returns the real
part. Pointwise (1×1) group convolutions form the skip path, inputs are lifted pointwise (scalars are the same
for every h), and the outputs are projected pointwise per h and averaged over the group: scalars again.

On a square grid the 90° rotations and the reflections are exact permutations of the grid and of the Fourier
lattice, and a Fourier multiplier commutes with the one-cell shift that ``torch.rot90``/``flip`` add, so the
model is equivariant to round-off under ``physml.datasets.symmetry.ORIENTATIONS`` (C4: the rotations).

Written here rather than taken from escnn: escnn's layers are local convolutions; there is no steerable spectral
layer to reuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import torch
from torch import nn
from torch.nn import functional as F

from physml.models.registry import register_model

__all__ = ["GroupFNO", "GroupFNOConfig", "group_elements"]

GROUPS = ("rotations", "rotations+reflections")


@dataclass(frozen=True)
class GroupFNOConfig:
    """A :class:`GroupFNO`: the group (C4: ``rotations``, D4: ``rotations+reflections``), kept modes, regular fields.

    ``modes``: the kept square ``|k_x|, |k_y| <= modes`` (at most ``n/2 - 1`` on an ``n²`` grid, leaving out the
    Nyquist row, which has no mirror image). ``width``: regular fields per hidden layer (``|G|`` channels each).
    ``field_size``: the grid (filled in from the data): it must be square.
    """

    in_channels: int
    out_channels: int
    group: str = "rotations+reflections"
    modes: int = 12
    width: int = 4
    n_layers: int = 4
    field_size: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_size", tuple(self.field_size))
        if self.group not in GROUPS:
            raise ValueError(f"GroupFNOConfig.group = {self.group!r} is invalid: must be one of {', '.join(GROUPS)}")
        for name in ("in_channels", "out_channels", "modes", "width", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GroupFNOConfig.{name} = {value!r} is invalid: must be an integer >= 1")
        if self.field_size:
            if len(self.field_size) != 2 or self.field_size[0] != self.field_size[1]:
                raise ValueError(
                    f"GroupFNOConfig.field_size = {self.field_size!r} is invalid: must be a square 2-D grid "
                    "(the group's quarter turns map only a square onto itself)"
                )
            check_modes(self.modes, self.field_size[0])


def check_modes(modes: int, n: int) -> None:
    if modes > n // 2 - 1:
        raise ValueError(f"GroupFNOConfig.modes = {modes} is invalid: a {n}² grid holds at most {n // 2 - 1}")


@cache
def group_elements(reflections: bool) -> tuple[tuple, torch.Tensor, torch.Tensor]:
    """The group as grid actions ``(actions, product, inverse)``: ``actions[g]`` turns ``(..., X, Y)`` arrays,
    ``product[g, h]`` is the index of ``g·h`` (``actions[g] ∘ actions[h]``) and ``inverse[g]`` that of ``g⁻¹``.

    Element ``(f, r)`` reflects the last axis ``f`` times, then turns by ``r`` quarter turns; the table is read off
    the actions themselves, so it cannot disagree with them.
    """
    actions = tuple(
        (lambda x, f=f, r=r: (x.flip(-1) if f else x).rot90(r, (-2, -1)))
        for f in ((0, 1) if reflections else (0,))
        for r in range(4)
    )
    probe = torch.arange(9.0).reshape(3, 3)  # no symmetry of its own: each element moves it differently
    images = [a(probe) for a in actions]

    def index(image: torch.Tensor) -> int:
        return next(i for i, other in enumerate(images) if torch.equal(image, other))

    product = torch.tensor([[index(g(h(probe))) for h in actions] for g in actions])
    inverse = torch.tensor([int((product[g] == 0).nonzero()) for g in range(len(actions))])
    return actions, product, inverse


def _regular_weights(weight: torch.Tensor, product: torch.Tensor, inverse: torch.Tensor, actions) -> torch.Tensor:
    """``(O, I, G, *k)`` per-relative-element weights -> ``(O, G, I, G, *k)`` full weights ``W[o, i, h⁻¹u](h⁻¹·k)``,
    each turned by ``h`` over its trailing (mode) axes when it has them."""
    blocks = []
    for h, act in enumerate(actions):
        relative = product[inverse[h]]  # u -> index of h⁻¹·u
        w = weight[:, :, relative]  # (O, I, G, *k)
        blocks.append(act(w) if w.ndim == 5 else w)
    return torch.stack(blocks, dim=1)  # (O, G, I, G, *k)


class GroupSpectralConv(nn.Module):
    """Regular fields -> regular fields: a group convolution with band-limited global kernels (see module doc)."""

    def __init__(self, in_fields: int, out_fields: int, modes: int, reflections: bool) -> None:
        super().__init__()
        self.modes, self.reflections = modes, reflections
        self.order = 8 if reflections else 4
        size = 2 * modes + 1
        scale = 1 / math.sqrt(in_fields * self.order * out_fields)
        self.weight = nn.Parameter(scale * torch.randn(out_fields, in_fields, self.order, size, size, 2))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        b, _, nx, ny = v.shape
        if nx != ny:
            raise ValueError(f"input grid {nx}x{ny} is invalid: a group spectral layer needs a square grid")
        check_modes(self.modes, nx)
        actions, product, inverse = group_elements(self.reflections)
        work = v if v.dtype in (torch.float32, torch.float64) else v.float()
        m, c = self.modes, nx // 2
        kept = (..., slice(c - m, c + m + 1), slice(c - m, c + m + 1))  # |k_x|, |k_y| <= m, centred
        v_hat = torch.fft.fftshift(torch.fft.fft2(work, norm="ortho"), dim=(-2, -1))[kept]
        weight = torch.view_as_complex(self.weight.to(work.dtype))  # (O, I, G, M, M)
        full = _regular_weights(weight, product, inverse, actions).flatten(2, 3).flatten(0, 1)  # (O·G, I·G, M, M)
        out_hat = torch.einsum("bixy,oixy->boxy", v_hat, full)
        spectrum = torch.zeros(b, full.shape[0], nx, ny, dtype=out_hat.dtype, device=v.device)
        spectrum[kept] = out_hat
        return torch.fft.ifft2(torch.fft.ifftshift(spectrum, dim=(-2, -1)), norm="ortho").real.to(v.dtype)


class GroupPointwise(nn.Module):
    """A 1×1 group convolution, regular -> regular fields, with a bias per output field."""

    def __init__(self, in_fields: int, out_fields: int, reflections: bool) -> None:
        super().__init__()
        self.reflections = reflections
        order = 8 if reflections else 4
        bound = 1 / math.sqrt(in_fields * order)
        self.weight = nn.Parameter(torch.empty(out_fields, in_fields, order).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_fields))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        actions, product, inverse = group_elements(self.reflections)
        full = _regular_weights(self.weight, product, inverse, actions).flatten(2, 3).flatten(0, 1)  # (O·G, I·G)
        bias = self.bias.repeat_interleave(len(actions))
        return F.conv2d(v, full[..., None, None], bias)


class GroupFourierBlock(nn.Module):
    """``v -> GELU(K v + W v)`` on regular fields: the G-FNO counterpart of the FNO's Fourier block."""

    def __init__(self, width: int, modes: int, reflections: bool) -> None:
        super().__init__()
        self.spectral = GroupSpectralConv(width, width, modes, reflections)
        self.skip = GroupPointwise(width, width, reflections)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.spectral(v) + self.skip(v))


@register_model("group_fno", GroupFNOConfig)
class GroupFNO(nn.Module):
    """``(B, C_in, N, N) -> (B, C_out, N, N)`` scalar fields, equivariant to the grid's quarter turns (and reflections).

    Examples
    --------
    >>> model = GroupFNO(GroupFNOConfig(3, 2, modes=4, width=2, n_layers=1))
    >>> x = torch.randn(1, 3, 16, 16)
    >>> bool(torch.allclose(model(x.rot90(1, (-2, -1))), model(x).rot90(1, (-2, -1)), atol=1e-5))
    True
    """

    def __init__(self, config: GroupFNOConfig) -> None:
        super().__init__()
        self.config = config
        reflections = config.group == "rotations+reflections"
        self.order = 8 if reflections else 4
        self.lift = nn.Conv2d(config.in_channels, config.width, 1)  # scalars: the same for every element
        self.blocks = nn.ModuleList(
            GroupFourierBlock(config.width, config.modes, reflections) for _ in range(config.n_layers)
        )
        self.project = nn.Sequential(nn.Conv2d(config.width, 2 * config.width, 1), nn.GELU(),
                                     nn.Conv2d(2 * config.width, config.out_channels, 1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"x has shape {tuple(x.shape)}: need (B, {self.config.in_channels}, N, N)")
        v = self.lift(x).repeat_interleave(self.order, dim=1)  # (B, width·|G|, N, N), field-major
        for block in self.blocks:
            v = block(v)
        b, _, nx, ny = v.shape
        per_element = v.view(b, self.config.width, self.order, nx, ny).transpose(1, 2).flatten(0, 1)
        out = self.project(per_element)  # the same pointwise map for every element...
        return out.view(b, self.order, -1, nx, ny).mean(1)  # ...averaged over the group: invariant, scalars out
