"""Numerics shared across physml: planned FFTs and Numba pointwise kernels.

The names below are imported on first use, so that importing one kernel module (e.g.
``physml.kernels.torch_spectral`` from the models) does not load pyFFTW and Numba.
"""

from typing import TYPE_CHECKING

from physml._lazy import lazy_exports

__all__ = [
    "FFTPlan",
    "available_backends",
    "default_threads",
    "exp_multiply_inplace",
    "multiply_inplace",
    "nonfinite_count",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("FFTPlan", "available_backends", "default_threads"), "physml.kernels.fft"),
        **dict.fromkeys(("exp_multiply_inplace", "multiply_inplace", "nonfinite_count"), "physml.kernels.pointwise"),
    },
)

if TYPE_CHECKING:
    from physml.kernels.fft import FFTPlan, available_backends, default_threads
    from physml.kernels.pointwise import exp_multiply_inplace, multiply_inplace, nonfinite_count
