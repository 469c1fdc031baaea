"""Numerics shared across physml: planned FFTs and Numba pointwise kernels."""

from physml.kernels.fft import FFTPlan, available_backends, default_threads
from physml.kernels.pointwise import exp_multiply_inplace, multiply_inplace, nonfinite_count

__all__ = [
    "FFTPlan",
    "available_backends",
    "default_threads",
    "exp_multiply_inplace",
    "multiply_inplace",
    "nonfinite_count",
]
