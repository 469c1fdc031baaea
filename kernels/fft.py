"""Planned, in-place, unnormalised FFTs over every axis of a fixed buffer.

The split-operator steppers spend nearly all of their time in FFTs, so the
backend was chosen by measurement (``benchmarks/schrodinger_step.py``, results
in ``docs/benchmarks.md``): FFTW, planned once with ``FFTW_MEASURE`` and
executed in place, is 3x faster than ``numpy.fft`` on a 4096-point line and
4-5x faster on a 512x512 grid; ``scipy.fft`` with ``workers`` and
``overwrite_x`` sits between the two and is the fallback when pyFFTW cannot be
imported.

FFTW is the library that pyFFTW is built on, driven directly through
``ctypes`` so that a plan is a C pointer: compiled code (Numba) can then run
whole time steps — transforms and pointwise passes — without coming back to
Python, and can run its pointwise passes on the OpenMP thread team that
FFTW's threads use (:class:`NativeFFT`). A second OpenMP runtime (Numba's own
``parallel=True``) would spin against FFTW's team on the same cores.

Both transforms are unnormalised (``backward(forward(a)) == a.size * a``) so
that callers can fold the ``1/N`` into a multiplier they apply anyway.
"""

from __future__ import annotations

import ctypes
import functools
import os
import weakref
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["FFTPlan", "NativeFFT", "available_backends", "default_threads"]

Backend = Literal["fftw", "scipy"]

try:  # pyFFTW is a dependency, but wheels do not exist for every platform.
    import pyfftw as _pyfftw
    import pyfftw.pyfftw as _pyfftw_extension
except ImportError:  # pragma: no cover - exercised only where pyFFTW is missing
    _pyfftw = _pyfftw_extension = None

#: FFTW planner flags and signs (fftw3.h).
_MEASURE, _DESTROY_INPUT, _ESTIMATE = 0, 1, 1 << 6
_FORWARD, _BACKWARD = -1, 1

#: Shapes planned with FFTW_MEASURE in this process (their wisdom would change ESTIMATE plans).
_MEASURED_SHAPES: set[tuple[int, ...]] = set()


@dataclass(frozen=True)
class NativeFFT:
    """C addresses that let compiled code run a plan's transforms and share its threads.

    ``execute`` is ``void fftw_execute_dft(plan, in, out)``; ``forward`` and
    ``backward`` are the plans of :attr:`FFTPlan.buffer`, planned for
    ``threads`` threads. ``team`` is ``GOMP_parallel`` of the OpenMP runtime
    that those threads belong to and ``thread_num``/``num_threads`` its
    ``omp_get_thread_num``/``omp_get_num_threads``; all three are 0 for a
    one-thread plan and where the ``GOMP_*`` symbols cannot be found in the
    library pyFFTW loaded (then the passes run on one thread).
    """

    execute: int
    forward: int
    backward: int
    threads: int
    team: int
    thread_num: int
    num_threads: int


class _FFTWLibrary:
    """The double-precision FFTW that pyFFTW runs on, found through its extension module's dependencies."""

    def __init__(self) -> None:
        # dlsym on the extension's handle searches the libraries it links (FFTW, its threads, libgomp): these
        # are the very copies pyFFTW uses, whatever their file names, so wisdom and threads are shared.
        lib = ctypes.CDLL(_pyfftw_extension.__file__)
        self.plan_dft = lib.fftw_plan_dft
        self.plan_dft.restype = ctypes.c_void_p
        self.plan_dft.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p, ctypes.c_void_p,
                                  ctypes.c_int, ctypes.c_uint]  # fmt: skip
        self.execute_dft = lib.fftw_execute_dft
        self.execute_dft.restype = None
        self.execute_dft.argtypes = [ctypes.c_void_p] * 3
        self.destroy_plan = lib.fftw_destroy_plan
        self.destroy_plan.argtypes = [ctypes.c_void_p]
        self.plan_with_nthreads = lib.fftw_plan_with_nthreads
        self.plan_with_nthreads.argtypes = [ctypes.c_int]
        if _address(lib, "fftw_make_planner_thread_safe"):  # FFTW >= 3.3.5
            lib.fftw_make_planner_thread_safe()  # pyFFTW's own planner lock does not cover these plans
        self.team = tuple(
            _address(lib, name) for name in ("GOMP_parallel", "omp_get_thread_num", "omp_get_num_threads")
        )
        if 0 in self.team:
            self.team = (0, 0, 0)
        self.execute = _address(lib, "fftw_execute_dft")


def _address(lib: ctypes.CDLL, name: str) -> int:
    try:
        return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value or 0
    except AttributeError:
        return 0


@functools.cache
def _library() -> _FFTWLibrary | None:
    if _pyfftw is None:  # pragma: no cover - exercised only where pyFFTW is missing
        return None
    try:
        return _FFTWLibrary()
    except (OSError, AttributeError):  # pragma: no cover - a pyFFTW build whose FFTW symbols are not reachable
        return None


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

    Attributes
    ----------
    native
        :class:`NativeFFT` for compiled callers (fftw backend), else ``None``
        (also where a pyFFTW build's FFTW cannot be reached through ``ctypes``:
        then its plan objects run the transforms, from Python).

    Planning is not thread-safe: make plans in one thread at a time (running them is).

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
        self.native: NativeFFT | None = None
        if self.backend == "fftw":
            self._plan_fftw(measure)
        else:
            import scipy.fft

            self.buffer = np.zeros(self.shape, dtype=np.complex128)
            self._scipy = scipy.fft
            self._axes = tuple(range(len(self.shape)))

    def _plan_fftw(self, measure: bool) -> None:
        self.buffer = _pyfftw.empty_aligned(self.shape, dtype="complex128")
        # ESTIMATE would reuse wisdom left by an earlier MEASURE plan of the same shape in this process,
        # and so give other last bits than in a fresh process: plan it without wisdom, then restore it
        # (only then: exporting and importing wisdom costs ~1.5 ms, 50x the ESTIMATE planning itself).
        wisdom = _pyfftw.export_wisdom() if not measure and self.shape in _MEASURED_SHAPES else None
        if measure:
            _MEASURED_SHAPES.add(self.shape)
        if wisdom is not None:
            _pyfftw.forget_wisdom()
        # Planning with FFTW_MEASURE scribbles on the buffer; it is zeroed after.
        lib = _library()
        if lib is not None:
            self._plan_native(lib, measure)
        else:  # a pyFFTW build whose FFTW cannot be reached through ctypes
            self._plan_objects(measure)
        if wisdom is not None:
            _pyfftw.import_wisdom(wisdom)
        self.buffer[...] = 0.0

    def _plan_native(self, lib: _FFTWLibrary, measure: bool) -> None:
        dims = (ctypes.c_int * len(self.shape))(*self.shape)
        flags = (_MEASURE if measure else _ESTIMATE) | _DESTROY_INPUT
        address = self.buffer.ctypes.data
        lib.plan_with_nthreads(self.threads)
        forward = lib.plan_dft(len(dims), dims, address, address, _FORWARD, flags)
        backward = lib.plan_dft(len(dims), dims, address, address, _BACKWARD, flags)
        if not forward or not backward:  # pragma: no cover - FFTW returns NULL only for impossible problems
            raise RuntimeError(f"FFTW could not plan a transform of shape {self.shape}")
        weakref.finalize(self, _destroy, lib, forward, backward)
        team = lib.team if self.threads > 1 else (0, 0, 0)
        self.native = NativeFFT(lib.execute, forward, backward, self.threads, *team)
        self.forward = functools.partial(lib.execute_dft, forward, address, address)
        self.backward = functools.partial(lib.execute_dft, backward, address, address)

    def _plan_objects(self, measure: bool) -> None:
        # pyFFTW's plan objects: the same transforms, callable from Python only (native stays None).
        flags = ("FFTW_MEASURE" if measure else "FFTW_ESTIMATE", "FFTW_DESTROY_INPUT")
        common = {"axes": tuple(range(len(self.shape))), "threads": self.threads, "flags": flags}
        # execute() skips pyFFTW's argument checks and its 1/N normalisation.
        self.forward = _pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_FORWARD", **common).execute
        self.backward = _pyfftw.FFTW(self.buffer, self.buffer, direction="FFTW_BACKWARD", **common).execute

    def forward(self) -> None:  # replaced per instance by the fftw backend
        """Replace ``buffer`` by its unnormalised forward DFT."""
        self.buffer[...] = self._scipy.fftn(self.buffer, axes=self._axes, workers=self.threads, overwrite_x=True)

    def backward(self) -> None:  # replaced per instance by the fftw backend
        """Replace ``buffer`` by its unnormalised inverse DFT (no ``1/N``)."""
        self.buffer[...] = self._scipy.ifftn(
            self.buffer, axes=self._axes, workers=self.threads, overwrite_x=True, norm="forward"
        )


def _destroy(lib: _FFTWLibrary, *plans: int) -> None:
    for plan in plans:
        lib.destroy_plan(plan)
