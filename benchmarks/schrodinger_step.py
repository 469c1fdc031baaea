"""Split-operator step cost against the FFTs alone, against plain NumPy and against the previous design.

Times, in one run on one machine (variants of a grid timed in turn, best of ``--repeat``), on a 4096-point
line and a 512² grid with their default FFT threads (1 and all cores), and on 512² with one thread (a
one-core machine):
  * physml's Strang step, ``advance(state, dt, n) / n``: all ``n`` steps in one compiled call, the
    closing half kick of each step fused with the next step's opening one (one kick and one drift per
    step). This is the figure the goal "step <= 1.3x the FFT pair" refers to: it is what a rollout
    pays between saves;
  * the single-step cost, ``step(state, dt)`` called ``n`` times: copy in, two half kicks, the FFT pair,
    the drift, copy out and the finiteness check, every step;
  * the previous design: the same stages driven from Python (pyFFTW plan objects, one Numba call per
    pass, passes on one thread);
  * a plain NumPy implementation of the same scheme (numpy.fft, array ops);
  * the FFT pair alone: physml's FFTW plans run from compiled code (no Python between transforms: the
    floor a step can reach) and as pyFFTW plan objects called from Python;
  * one pointwise pass (``a *= b``) on one thread and on the FFT plan's thread team, and a plain copy of
    the same array (``np.copyto``) for the memory-bandwidth scale;
  * FFT backends side by side (numpy.fft, scipy.fft with workers, pyFFTW);
  * the Numba compile time of the kernels, cold and from cache.
Prints the machine (CPU, caches, threads), the load average before and after (other processes on the
cores make the FFT threads wait for each other), and ratios; record them in docs/benchmarks.md.

    python benchmarks/schrodinger_step.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np
import pyfftw
import scipy.fft
from _report import best_of, machine
from numba import njit

from physml.kernels.fft import FFTPlan
from physml.kernels.pointwise import multiply_inplace, multiply_parts_inplace
from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerState, SchrodingerSystem, gaussian_packet, make_stepper
from physml.simulators.schrodinger.fused import call_native, make_team, team_multiply

GRIDS = (((4096,), 2000, None), ((512, 512), 50, None), ((512, 512), 50, 1))  # shape, steps per call, FFT threads


@njit(nogil=True)
def fft_pairs(psi: np.ndarray, fft: tuple, n: int) -> None:
    """``n`` forward + backward transforms of the plan buffer ``psi``, without returning to Python."""
    p = psi.ctypes.data
    for _ in range(n):
        call_native(fft[0], (fft[1], p, p))
        call_native(fft[0], (fft[2], p, p))


def pyfftw_pair(plan: FFTPlan):
    """The same transforms as pyFFTW plan objects (what physml ran before), on a copy of the buffer."""
    buffer = pyfftw.empty_aligned(plan.shape, dtype="complex128")
    common = {"axes": tuple(range(len(plan.shape))), "threads": plan.threads,
              "flags": ("FFTW_MEASURE", "FFTW_DESTROY_INPUT")}  # fmt: skip
    forward = pyfftw.FFTW(buffer, buffer, direction="FFTW_FORWARD", **common)
    backward = pyfftw.FFTW(buffer, buffer, direction="FFTW_BACKWARD", **common)
    buffer[...] = plan.buffer
    return buffer, forward.execute, backward.execute


def plain_numpy_stepper(system: SchrodingerSystem, dt: float):
    """The textbook Strang step in NumPy: half kick, FFT, drift, inverse FFT, half kick."""
    half_kick = np.exp(-0.5j * dt * system.static_potential / system.hbar)
    drift = np.exp(-1j * dt * system.kinetic / system.hbar)

    def step(psi: np.ndarray) -> np.ndarray:
        psi = half_kick * psi
        psi = np.fft.ifftn(drift * np.fft.fftn(psi))
        return half_kick * psi

    return step


def bench_grid(shape: tuple[int, ...], n_steps: int, threads: int | None, repeat: int) -> dict[str, float]:
    """Seconds per step (or per FFT pair, per pass) of every variant on one grid."""
    grid = Grid(n=shape, length=40.0)
    system = SchrodingerSystem(grid, Harmonic(omega=1.0))
    psi0 = gaussian_packet(grid, center=2.0, width=1.0)
    dt = 1e-3
    stepper = make_stepper(system, fft_threads=threads)
    state = SchrodingerState(psi0)
    plan, native = stepper.plan, stepper.plan.native
    flat = plan.buffer.reshape(-1)
    plan.buffer[...] = psi0
    kick = np.exp(-1j * dt * system.static_potential / system.hbar).reshape(-1)
    drift = (np.exp(-1j * dt * system.kinetic / system.hbar) / grid.size).reshape(-1)
    old_buffer, old_forward, old_backward = pyfftw_pair(plan)
    old_flat = old_buffer.reshape(-1)

    def previous_design() -> None:  # the stage loop as physml ran it before, kicks fused the same way
        for _ in range(n_steps):
            old_forward()
            multiply_inplace(old_flat, drift)
            old_backward()
            multiply_inplace(old_flat, kick)

    def single_steps() -> None:
        for _ in range(n_steps):
            stepper(state, dt)

    plain = plain_numpy_stepper(system, dt)

    def plain_numpy() -> None:
        psi = psi0
        for _ in range(n_steps):
            psi = plain(psi)

    fft = (native.execute, native.forward, native.backward)
    team = make_team(native)
    parts = np.stack((kick.real, kick.imag))
    other = np.empty_like(flat)
    runs = {
        "physml": lambda: stepper.advance(state, dt, n_steps),
        "single": single_steps,
        "previous": previous_design,
        "numpy": plain_numpy,
        "fft": lambda: fft_pairs(flat, fft, n_steps),
        "fft_pyfftw": lambda: [(old_forward(), old_backward()) for _ in range(n_steps)],
        "pass_complex": lambda: [multiply_inplace(flat, kick) for _ in range(n_steps)],
        "pass_serial": lambda: [multiply_parts_inplace(flat, parts[0], parts[1]) for _ in range(n_steps)],
        "pass_team": lambda: [team_multiply(flat, flat, parts[0], parts[1], False, team) for _ in range(n_steps)],
        "copy": lambda: [np.copyto(other, flat) for _ in range(n_steps)],
    }
    seconds = best_of(runs, 1, repeat)
    return {name: value / n_steps for name, value in seconds.items()} | {"threads": plan.threads}


def bench_backends(shape: tuple[int, ...], n_calls: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    workers = len(os.sched_getaffinity(0))
    buf = data.copy()
    plan = FFTPlan(shape)  # FFTW where importable
    plan.buffer[...] = data
    runs = {
        "numpy.fft": lambda: np.fft.ifftn(np.fft.fftn(data)),
        f"scipy.fft workers={workers} overwrite_x": lambda: scipy.fft.ifftn(
            scipy.fft.fftn(buf, workers=workers, overwrite_x=True), workers=workers, overwrite_x=True
        ),
        f"{plan.backend} in-place plan, {plan.threads} thread(s)": lambda: (plan.forward(), plan.backward()),
    }
    return best_of(runs, n_calls, repeat)


COMPILE_PROBE = """
import time, numpy as np
start = time.perf_counter()
from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerState, SchrodingerSystem, gaussian_packet, make_stepper
system = SchrodingerSystem(Grid(n=256, length=20.0), Harmonic())
state = SchrodingerState(gaussian_packet(system.grid, width=1.0))
make_stepper(system).advance(state, 0.01, 2); make_stepper(system, fft_threads=2).advance(state, 0.01, 2)
print(time.perf_counter() - start)
"""


def compile_times() -> tuple[float, float]:
    """Seconds to import the stepper and advance a 1- and a 2-thread one: with an empty Numba cache, then from it."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}

        def probe() -> float:
            result = subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env, capture_output=True, text=True)
            return float(result.stdout)

        return probe(), probe()


def describe_machine() -> None:
    print(machine())
    caches = Path("/sys/devices/system/cpu/cpu0/cache")
    if caches.is_dir():
        sizes = [
            f"L{(index / 'level').read_text().strip()}{(index / 'type').read_text().strip()[0].lower()} "
            f"{(index / 'size').read_text().strip()}"
            for index in sorted(caches.glob("index*"))
        ]
        print("caches per core (L3 shared):", ", ".join(sizes))
    print(f"numba {numba.__version__}: threading layer {numba.config.THREADING_LAYER!r}, "
          f"{numba.config.NUMBA_NUM_THREADS} threads; pyFFTW {pyfftw.__version__}: plans "
          "FFTW_MEASURE | FFTW_DESTROY_INPUT, in place, OpenMP threads as listed per grid")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions; the best is kept (default: 7)")
    args = parser.parse_args()
    describe_machine()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("\nFFT pair (forward + inverse), microseconds:")
    for shape, steps, _ in GRIDS[:2]:
        for name, seconds in bench_backends(shape, steps, args.repeat).items():
            print(f"  {shape!s:11s} {name:38s} {seconds * 1e6:10.1f}")
    print("\nStrang step, microseconds per step; FFT pair = physml's plans run from compiled code:")
    for shape, steps, threads in GRIDS:
        r = bench_grid(shape, steps, threads, args.repeat)
        fft = r["fft"]
        print(f"  {shape!s:11s} FFT threads {r['threads']}")
        print(f"    advance(n)/n {r['physml'] * 1e6:9.1f}   step/FFT {r['physml'] / fft:.3f}   "
              f"steps/s {1 / r['physml']:7.0f}   <- the goal figure")  # fmt: skip
        print(f"    single step  {r['single'] * 1e6:9.1f}   step/FFT {r['single'] / fft:.3f}")
        print(f"    previous     {r['previous'] * 1e6:9.1f}   step/FFT {r['previous'] / fft:.3f}   "
              f"(vs its own pyFFTW pair {r['previous'] / r['fft_pyfftw']:.3f})")  # fmt: skip
        print(f"    plain NumPy  {r['numpy'] * 1e6:9.1f}   NumPy/physml {r['numpy'] / r['physml']:.2f}")
        print(f"    FFT pair     {fft * 1e6:9.1f}   (pyFFTW plan objects from Python {r['fft_pyfftw'] * 1e6:.1f})")
        print(f"    one pass a*=b: complex b {r['pass_complex'] * 1e6:.1f}, b as parts {r['pass_serial'] * 1e6:.1f}, "
              f"parts on the FFT team {r['pass_team'] * 1e6:.1f}; np.copyto {r['copy'] * 1e6:.1f}")  # fmt: skip
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    cold, cached = compile_times()
    print(f"Numba kernels, import + first steps: cold {cold:.2f} s, from cache {cached:.2f} s")


if __name__ == "__main__":
    main()
