"""Spectral derivatives of periodic fields in torch, for physics-constraint losses.

The torch twins of the simulators' spectral operators: on a periodic box of
length ``L`` sampled at ``n`` points, ``d/dx`` is multiplication by ``i k``
with ``k = 2 pi fftfreq(n, L/n)``, exact for band-limited fields. They are
differentiable (autograd flows through ``torch.fft``) and run on the device of
their input. Imported on its own (not from ``physml.kernels``) so that the
simulators never import torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = ["derivative", "laplacian", "wavenumbers"]


def wavenumbers(n: int, length: float, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Angular wavenumbers ``2 pi fftfreq(n, length / n)`` (float64), FFT order."""
    if n < 2:
        raise ValueError(f"n = {n!r} is invalid: need at least 2 points")
    if not (math.isfinite(length) and length > 0):
        raise ValueError(f"length = {length!r} is invalid: must be finite and > 0")
    return 2 * math.pi * torch.fft.fftfreq(n, d=length / n, dtype=torch.float64, device=device)


def _complex_dtype(u: torch.Tensor) -> torch.dtype:
    return torch.complex128 if u.dtype in (torch.float64, torch.complex128) else torch.complex64


def _k(u: torch.Tensor, length: float, dim: int) -> torch.Tensor:
    k = wavenumbers(u.shape[dim], length, device=u.device)
    shape = [1] * u.ndim
    shape[dim] = -1
    return k.view(shape)


def derivative(u: torch.Tensor, length: float, *, dim: int = -1, order: int = 1) -> torch.Tensor:
    """``d^order u / dx^order`` along ``dim`` of a periodic field (real or complex).

    For even ``n`` the Nyquist mode of odd derivatives is set to zero (its
    derivative is not representable by a real field). Real input gives real output.

    Examples
    --------
    >>> x = torch.arange(64, dtype=torch.float64) * (2 * math.pi / 64)
    >>> torch.allclose(derivative(torch.sin(3 * x), 2 * math.pi), 3 * torch.cos(3 * x))
    True
    """
    if order < 0:
        raise ValueError(f"order = {order!r} is invalid: must be >= 0")
    dim = dim % u.ndim
    n = u.shape[dim]
    ik = 1j * _k(u, length, dim)
    if order % 2 and n % 2 == 0:
        index = [slice(None)] * u.ndim
        index[dim] = n // 2
        ik = ik.clone()
        ik[tuple(index)] = 0
    u_hat = torch.fft.fft(u.to(_complex_dtype(u)), dim=dim)
    out = torch.fft.ifft(u_hat * ik.to(u_hat.dtype) ** order, dim=dim)
    return out if u.is_complex() else out.real


def laplacian(u: torch.Tensor, lengths: Sequence[float], *, dims: Sequence[int] | None = None) -> torch.Tensor:
    """``sum_i d^2 u / dx_i^2`` over the last ``len(lengths)`` dims (or ``dims``) of a periodic field."""
    dims = tuple(range(-len(lengths), 0)) if dims is None else tuple(dims)
    if len(dims) != len(lengths):
        raise ValueError(f"lengths {tuple(lengths)} and dims {dims} disagree in number")
    u_hat = torch.fft.fftn(u.to(_complex_dtype(u)), dim=dims)
    k2 = sum(_k(u, length, dim) ** 2 for length, dim in zip(lengths, dims))
    out = torch.fft.ifftn(-k2.to(u_hat.real.dtype) * u_hat, dim=dims)
    return out if u.is_complex() else out.real
