"""Split-operator steps run inside one compiled call, on the FFT plan's own threads.

With a static potential every factor is tabulated, so ``n`` steps of a
splitting scheme are a fixed sequence of stages (forward FFT, drift, backward
FFT, kick). :func:`run_steps` performs all of them in Numba: FFTW runs through
its plans' C addresses (:class:`~physml.kernels.fft.NativeFFT`, called with
:func:`call_native`), which removes Python's ~1 µs per FFT or kernel call.

A pointwise pass over a grid larger than one core's cache is bound by that
core's memory bandwidth, so the ``team_*`` kernels split it over the threads
of the FFT plan: they run on the same OpenMP team as the transforms
(``GOMP_parallel`` of FFTW's runtime). Numba's own ``parallel=True`` would
start a second OpenMP runtime whose idle threads spin against FFTW's on the
same cores (measured: a 512² step 7x slower, ``docs/benchmarks.md``).

C addresses are arguments, never globals, so every kernel stays cacheable.
All code that shares the raw argument block lives in this module because
Numba's cache does not notice changes in the modules a kernel calls into.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from physml.kernels.fft import NativeFFT
from physml.kernels.pointwise import exp_multiply_inplace, multiply_parts_into

__all__ = ["call_native", "drift", "make_team", "run_steps", "team_exp_multiply", "team_multiply"]


# -- calling C by address ------------------------------------------------------
@intrinsic
def call_native(typingctx, address, args):
    """``(*address)(*args)`` for a C function returning ``void``; ``args`` is a tuple of integers.

    Pass pointers as ``intp`` (e.g. ``a.ctypes.data``) and C ``unsigned`` as ``np.uint32``.
    """
    if not (isinstance(address, types.Integer) and isinstance(args, types.BaseTuple)):
        return None
    if not all(isinstance(arg, types.Integer) for arg in args):
        return None

    def codegen(context, builder, signature, llargs):
        values = cgutils.unpack_tuple(builder, llargs[1], len(args))
        function_type = ir.FunctionType(ir.VoidType(), [value.type for value in values])
        builder.call(builder.inttoptr(llargs[0], function_type.as_pointer()), values)
        return context.get_dummy_value()

    return types.none(address, args), codegen


@intrinsic
def _call_int(typingctx, address):
    """``(*address)()`` for a C function returning ``int``."""

    def codegen(context, builder, signature, llargs):
        function_type = ir.FunctionType(ir.IntType(32), [])
        return builder.call(builder.inttoptr(llargs[0], function_type.as_pointer()), [])

    return types.int32(address), codegen


@intrinsic
def _pointer(typingctx, address):
    def codegen(context, builder, signature, llargs):
        return builder.inttoptr(llargs[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


# -- passes split over FFTW's OpenMP team ---------------------------------------
# Every thread of GOMP_parallel gets the same block of int64 words: 0 the input a, 1 the output (may be a),
# 2 and 3 the factor's parts (or 2 the potential v), 4 the length, 5 omp_get_thread_num, 6
# omp_get_num_threads, 7 whether to count non-finite results, 8-9 z as two float64, then thread k's count.
_WORDS = 10


@njit(inline="always")
def _part(n: int, thread_num: int, num_threads: int) -> tuple[int, int, int]:
    k, m = _call_int(thread_num), _call_int(num_threads)
    lo = (n * k // m) & ~7  # whole cache lines per thread
    hi = n if k == m - 1 else (n * (k + 1) // m) & ~7
    return k, lo, hi


def _multiply_part(block):
    args = carray(block, _WORDS, np.int64)
    n = args[4]
    k, lo, hi = _part(n, args[5], args[6])
    a = carray(_pointer(args[0]), n, np.complex128)[lo:hi]
    out = carray(_pointer(args[1]), n, np.complex128)[lo:hi]
    re = carray(_pointer(args[2]), n, np.float64)[lo:hi]
    im = carray(_pointer(args[3]), n, np.float64)[lo:hi]
    bad = multiply_parts_into(out, a, re, im, args[7] != 0)
    carray(block, _WORDS + k + 1, np.int64)[_WORDS + k] = bad


def _exp_multiply_part(block):
    args = carray(block, _WORDS, np.int64)
    z = carray(block, _WORDS, np.float64)
    n = args[4]
    _, lo, hi = _part(n, args[5], args[6])
    a = carray(_pointer(args[0]), n, np.complex128)[lo:hi]
    v = carray(_pointer(args[2]), n, np.complex128)[lo:hi]
    exp_multiply_inplace(a, v, complex(z[8], z[9]))


@functools.cache
def _parts() -> tuple:
    # Compiled (or loaded from the cache) on first use, not on import; kept here so their code stays loaded.
    return tuple(cfunc(types.void(types.voidptr), cache=True)(part) for part in (_multiply_part, _exp_multiply_part))


def make_team(native: NativeFFT) -> tuple[int, ...]:
    """The ``team`` argument of the ``team_*`` kernels: the OpenMP team of an FFT plan's threads.

    A plan with one thread, or whose threads are not OpenMP ones, gives a team
    of one: the kernels then run serially in the calling thread.
    """
    if not native.team or native.threads == 1:
        return (0, 0, 0, 1, 0, 0)
    return (native.team, native.thread_num, native.num_threads, native.threads, *(part.address for part in _parts()))


@njit(cache=True, nogil=True)
def _run(part: int, a: np.ndarray, out: np.ndarray, b: np.ndarray, c: np.ndarray, z: complex, count: bool,
         team: tuple) -> int:  # fmt: skip
    args = np.zeros(_WORDS + team[3], np.int64)
    args[0], args[1], args[2], args[3], args[4] = a.ctypes.data, out.ctypes.data, b.ctypes.data, c.ctypes.data, a.size
    args[5], args[6], args[7] = team[1], team[2], count
    zs = args.view(np.float64)
    zs[8], zs[9] = z.real, z.imag
    call_native(team[0], (part, args.ctypes.data, np.uint32(team[3]), np.uint32(0)))
    return args[_WORDS:].sum()


@njit(cache=True, nogil=True)
def team_multiply(out: np.ndarray, a: np.ndarray, re: np.ndarray, im: np.ndarray, count: bool, team: tuple) -> int:
    """:func:`~physml.kernels.pointwise.multiply_parts_into` split over ``team`` (from :func:`make_team`).

    ``a`` and ``out`` (which may be ``a``) are flat complex128, ``re`` and ``im`` flat float64.
    """
    if team[3] <= 1:
        return multiply_parts_into(out, a, re, im, count)
    return _run(team[4], a, out, re, im, 0j, count, team)


@njit(cache=True, nogil=True)
def team_exp_multiply(a: np.ndarray, v: np.ndarray, z: complex, team: tuple) -> None:
    """:func:`~physml.kernels.pointwise.exp_multiply_inplace` (flat complex128 ``a`` and ``v``) split over ``team``."""
    if team[3] <= 1:
        exp_multiply_inplace(a, v, z)
    else:
        _run(team[5], a, a, v, v, z, False, team)


@njit(cache=True, nogil=True)
def drift(psi: np.ndarray, fft: tuple, team: tuple, factor: np.ndarray) -> None:
    """Forward FFT of the plan buffer ``psi`` (flat), ``psi *= factor[0] + 1j factor[1]``, backward FFT.

    ``fft`` is ``(execute, forward, backward)`` of a :class:`~physml.kernels.fft.NativeFFT`;
    ``team`` comes from :func:`make_team`; ``factor`` is ``(2, psi.size)`` float64, the real and
    imaginary parts (see :func:`~physml.kernels.pointwise.multiply_parts_into`).
    """
    p = psi.ctypes.data
    call_native(fft[0], (fft[1], p, p))
    team_multiply(psi, psi, factor[0], factor[1], False, team)
    call_native(fft[0], (fft[2], p, p))


@njit(cache=True, nogil=True)
def run_steps(
    source: np.ndarray,
    out: np.ndarray,
    psi: np.ndarray,
    fft: tuple,
    team: tuple,
    n_steps: int,
    kicks: np.ndarray,
    first: int,
    inner: np.ndarray,
    last: np.ndarray,
    drifts: np.ndarray,
) -> int:
    """``n_steps >= 1`` steps of a tabulated splitting scheme from ``source`` into ``out``; non-finite count of ``out``.

    The first kick reads ``source`` into the plan buffer and the last writes ``out`` from it (and counts
    its non-finite values), so the copies in and out and the finiteness check cost no passes of their own.

    Parameters
    ----------
    source, out
        Flat complex128 wave functions before and after (distinct from ``psi``).
    psi, fft, team
        The plan buffer (flat) and its transforms and threads, as for :func:`drift`.
    kicks
        ``(n_kicks, 2, psi.size)`` kick factors ``exp(-z a V)`` (real and imaginary parts), one per
        distinct coefficient ``a``.
    first
        Row of ``kicks`` applied before the first drift.
    inner, last
        ``(n_drifts,)`` rows of the kick after drift ``j`` of a step, and of the final step: ``inner`` fuses
        each step's closing kick with the next step's opening one.
    drifts
        ``(n_drifts, 2, psi.size)`` drift factors ``exp(-z b T) / psi.size`` in FFT order (parts as for kicks).
    """
    team_multiply(psi, source, kicks[first, 0], kicks[first, 1], False, team)
    for _ in range(n_steps - 1):
        for j in range(drifts.shape[0]):
            drift(psi, fft, team, drifts[j])
            team_multiply(psi, psi, kicks[inner[j], 0], kicks[inner[j], 1], False, team)
    for j in range(drifts.shape[0] - 1):
        drift(psi, fft, team, drifts[j])
        team_multiply(psi, psi, kicks[last[j], 0], kicks[last[j], 1], False, team)
    drift(psi, fft, team, drifts[-1])
    return team_multiply(out, psi, kicks[last[-1], 0], kicks[last[-1], 1], True, team)
