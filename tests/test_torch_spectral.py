"""Torch spectral derivatives (for physics losses): exact on band-limited fields, differentiable."""

from __future__ import annotations

import math

import pytest
import torch

from physml.kernels.torch_spectral import derivative, laplacian, wavenumbers


def grid(n: int, length: float) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float64) * (length / n) - length / 2


def test_derivatives_of_band_limited_fields_are_exact():
    length = 7.0
    x = grid(48, length)
    k = 2 * math.pi * 3 / length
    u = torch.sin(k * x) + 0.2 * torch.cos(2 * k * x)
    torch.testing.assert_close(derivative(u, length), k * torch.cos(k * x) - 0.4 * k * torch.sin(2 * k * x))
    torch.testing.assert_close(
        derivative(u, length, order=2), -(k**2) * torch.sin(k * x) - 0.8 * k**2 * torch.cos(2 * k * x)
    )
    psi = torch.exp(1j * k * x)  # complex fields keep their precision
    torch.testing.assert_close(derivative(psi, length), 1j * k * psi, rtol=1e-12, atol=1e-12)


def test_laplacian_in_2d_and_along_chosen_dims():
    lx, ly = 6.0, 4.0
    x, y = grid(32, lx)[:, None], grid(24, ly)[None, :]
    kx, ky = 2 * math.pi * 2 / lx, 2 * math.pi / ly
    u = torch.sin(kx * x) * torch.cos(ky * y)
    torch.testing.assert_close(laplacian(u, [lx, ly]), -(kx**2 + ky**2) * u, rtol=1e-12, atol=1e-11)
    batch = u.expand(3, 2, 32, 24)
    torch.testing.assert_close(laplacian(batch, [lx], dims=[2]), -(kx**2) * batch, rtol=1e-12, atol=1e-11)


def test_nyquist_mode_has_no_first_derivative_and_dtypes_are_kept():
    n, length = 16, 2 * math.pi
    nyquist = torch.cos(math.pi * torch.arange(n, dtype=torch.float64))  # (-1)^j
    assert derivative(nyquist, length).abs().max() < 1e-12
    assert derivative(torch.randn(3, 16), length).dtype == torch.float32
    assert wavenumbers(4, 2 * math.pi).tolist() == [0.0, 1.0, -2.0, -1.0]


def test_derivative_is_differentiable():
    u = torch.randn(2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: laplacian(derivative(v, 3.0), [3.0]), (u,))


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match=r"length = -1\.0 is invalid"):
        wavenumbers(8, -1.0)
    with pytest.raises(ValueError, match="order = -1 is invalid"):
        derivative(torch.zeros(8), 1.0, order=-1)
