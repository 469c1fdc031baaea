"""Numba kernels for the pointwise half of spectral split-operator steps.

Every kernel takes flat, contiguous raw arrays and scalars only (STYLE.md
rule 3); the steppers pass ``a.reshape(-1)`` views, which cost nothing. Each
kernel is one pass over memory, so a split-operator step costs its FFTs plus
one or two streaming passes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "exp_multiply_inplace",
    "multiply_inplace",
    "nonfinite_count",
]


@njit(cache=True, fastmath=False, boundscheck=False, nogil=True)
def multiply_inplace(a: np.ndarray, b: np.ndarray) -> None:
    """``a[i] *= b[i]`` for flat arrays of equal length (complex or real ``b``)."""
    for i in range(a.shape[0]):
        a[i] *= b[i]


@njit(cache=True, fastmath=False, boundscheck=False, nogil=True)
def exp_multiply_inplace(a: np.ndarray, v: np.ndarray, z: complex) -> None:
    """``a[i] *= exp(z * v[i])``: a potential kick evaluated on the fly.

    Used when the potential changes every step (driven systems), so the phase
    factor cannot be tabulated once. ``v`` may be real or complex (a complex
    absorbing potential ``V - iW``).
    """
    for i in range(a.shape[0]):
        a[i] *= np.exp(z * v[i])


@njit(cache=True, nogil=True)
def nonfinite_count(a: np.ndarray) -> int:
    """Number of NaN or infinite entries of a flat complex array."""
    n = 0
    for i in range(a.shape[0]):
        if not (np.isfinite(a[i].real) and np.isfinite(a[i].imag)):
            n += 1
    return n
