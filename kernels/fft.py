"""Planned, in-place, unnormalised FFTs over every axis of a fixed buffer.

The split-operator steppers spend nearly all of their time in FFTs, so the
backend was chosen by measurement (``benchmarks/fft_backends.py``, results in
``docs/benchmarks.md``): FFTW through pyFFTW, planned once with
``FFTW_MEASURE`` and executed in place, is 3x faster than ``numpy.fft`` on a
4096-point line and 4x faster on a 512x512 grid on the reference 2-core
machine; ``scipy.fft`` with ``workers`` and ``overwrite_x`` sits between the
two and is the fallback when pyFFTW cannot be imported.

Both transforms are unnormalised (``backward(forward(a)) == a.size * a``) so
that callers can fold the ``1/N`` into a multiplier they apply anyway.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

__all__ = ["FFTPlan", "available_backends", "default_threads"]

Backend = Literal["fftw", "scipy"]

try:  # pyFFTW is a dependency, but wheels do not exist for every platform.
    import pyfftw as _pyfftw
except ImportError:  # pragma: no cover - exercised only where pyFFTW is missing
    _pyfftw = None


#: Shapes planned with FFTW_MEASURE in this process (their wisdom would change ESTIMATE plans).
_MEASURED_SHAPES: set[tuple[int, ...]] = set()


def available_backends() -> tuple[str, ...]:
    """Names of the FFT backends importable here, fastest first."""
    return ("fftw", "scipy") if _pyfftw is not None else ("scipy",)


def default_threads(size: int) -> int:
    """Threads worth using for an FFT of ``size`` points.

    Below ~64k points thread start-up costs more than it saves (measured: a
    4096-point line is no faster with 2 threads).
    """
    if size < 2**16:
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class FFTPlan:
    """Forward and backward complex FFTs over all axes of ``self.buffer``, in place.

    Parameters
    ----------
    shape
        Grid shape, e.g. ``(4096,)`` or ``(512, 512)``.
    threads
        FFT threads; default from :func:`default_threads`.
    backend
        ``"fftw"`` (default where pyFFTW is installed) or ``"scipy"``.
    measure
        Plan with ``FFTW_MEASURE`` (slower planning, faster transforms) rather
        than ``FFTW_ESTIMATE``. ``FFTW_ESTIMATE`` plans ignore the wisdom that
        ``FFTW_MEASURE`` plans made through this class leave in the process, so
        their results are the same bits in any process. Ignored by the scipy backend.

    Examples
    --------
    >>> plan = FFTPlan((8,))
    >>> plan.buffer[:] = 1.0
    >>> plan.forward(); plan.buffer[0]
    (8+0j)
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        threads: int | None = None,
        backend: Backend | None = None,
        measure: bool = True,
    ) -> None:
        self.shape = tuple(int(n) for n in shape)
        size = int(np.prod(self.shape))
        self.threads = default_threads(size) if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.backend: Backend = backend or available_backends()[0]  # type: ignore[assignment]
        if self.backend not in available_backends():
            raise ValueError(f"backend must be one of {available_backends()}, got {backend!r}")
        axes = tuple(range(len(self.shape)))
        if self.backend == "fftw":
            self.buffer = _pyfftw.empty_aligned(self.shape, dtype="complex128")
            flags = ("FFTW_MEASURE" if measure else "FFTW_ESTIMATE", "FFTW_DESTROY_INPUT")
            common = {"axes": axes, "threads": self.threads, "flags": flags}
            # ESTIMATE would reuse wisdom left by an earlier MEASURE plan of the same shape in this process,
            # and so give other last bits than in a fresh process: plan it without wisdom, then restore it
            # (only then: exporting and importing wisdom costs ~1.5 ms, 50x the ESTIMATE planning itself).
            wisdom = _pyfftw.export_wisdom() if not measure and self.shape in _MEASURED_SHAPES else None
            if measure:
                _MEASURED_SHAPES.add(self.shape)
            if wisdom is not None:
                _pyfftw.forget_wisdom()
            # Planning with FFTW_MEASURE scribbles on the buffer; it is zeroed after.
            self._fwd = _pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_FORWARD", **common)
            self._bwd = _pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_BACKWARD", **common)
            if wisdom is not None:
                _pyfftw.import_wisdom(wisdom)
            self.buffer[...] = 0.0
            # execute() skips pyFFTW's argument checks and its 1/N normalisation.
            self.forward = self._fwd.execute
            self.backward = self._bwd.execute
        else:
            import scipy.fft

            self.buffer = np.zeros(self.shape, dtype=np.complex128)
            self._scipy = scipy.fft
            self._axes = axes

    def forward(self) -> None:  # replaced per instance by the fftw backend
        """Replace ``buffer`` by its unnormalised forward DFT."""
        self.buffer[...] = self._scipy.fftn(self.buffer, axes=self._axes, workers=self.threads, overwrite_x=True)

    def backward(self) -> None:  # replaced per instance by the fftw backend
        """Replace ``buffer`` by its unnormalised inverse DFT (no ``1/N``)."""
        self.buffer[...] = self._scipy.ifftn(
            self.buffer, axes=self._axes, workers=self.threads, overwrite_x=True, norm="forward"
        )
