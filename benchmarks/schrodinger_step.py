"""Split-operator step cost against plain NumPy and against the FFTs alone.

Times, in one run on one machine:
  * physml's Strang step (FFTW plan + Numba pointwise kernels, fused kicks);
  * a plain NumPy implementation of the same scheme (numpy.fft, array ops);
  * the FFT pair alone on the same grid, with physml's FFT plan and with numpy.fft;
  * FFT backends side by side (numpy.fft, scipy.fft with workers, pyFFTW);
  * the Numba compile time of the kernels, cold and from cache.
Prints ratios; record them with the machine in docs/benchmarks.md.

    python benchmarks/schrodinger_step.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.fft

from physml.kernels import FFTPlan
from physml.simulators import Grid
from physml.simulators.schrodinger import Harmonic, SchrodingerState, SchrodingerSystem, gaussian_packet, make_stepper


def best_time(fn, n_calls: int, repeat: int) -> float:
    """Best-of-``repeat`` seconds per call (the least disturbed measurement)."""
    fn()  # warm-up: compilation, page faults, FFTW wisdom
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n_calls):
            fn()
        best = min(best, (time.perf_counter() - start) / n_calls)
    return best


def plain_numpy_stepper(system: SchrodingerSystem, dt: float):
    """The textbook Strang step in NumPy: half kick, FFT, drift, inverse FFT, half kick."""
    half_kick = np.exp(-0.5j * dt * system.static_potential / system.hbar)
    drift = np.exp(-1j * dt * system.kinetic / system.hbar)

    def step(psi: np.ndarray) -> np.ndarray:
        psi = half_kick * psi
        psi = np.fft.ifftn(drift * np.fft.fftn(psi))
        return half_kick * psi

    return step


def bench_grid(shape: tuple[int, ...], n_steps: int, repeat: int) -> dict[str, float]:
    grid = Grid(n=shape, length=40.0)
    system = SchrodingerSystem(grid, Harmonic(omega=1.0))
    psi0 = gaussian_packet(grid, center=2.0, width=1.0)
    dt = 1e-3
    stepper = make_stepper(system)
    state = SchrodingerState(psi0)
    physml_step = best_time(lambda: stepper.advance(state, dt, n_steps), 1, repeat) / n_steps

    plain = plain_numpy_stepper(system, dt)
    holder = [psi0.copy()]

    def run_plain() -> None:
        psi = holder[0]
        for _ in range(n_steps):
            psi = plain(psi)

    numpy_step = best_time(run_plain, 1, repeat) / n_steps
    plan = stepper.plan
    fft_pair = best_time(lambda: (plan.forward(), plan.backward()), n_steps, repeat)
    numpy_fft_pair = best_time(lambda: np.fft.ifftn(np.fft.fftn(psi0)), max(1, n_steps // 4), repeat)
    return {"physml": physml_step, "numpy": numpy_step, "fft": fft_pair, "numpy_fft": numpy_fft_pair}


def bench_backends(shape: tuple[int, ...], n_calls: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    workers = len(os.sched_getaffinity(0))
    out = {"numpy.fft": best_time(lambda: np.fft.ifftn(np.fft.fftn(data)), n_calls, repeat)}
    buf = data.copy()
    out[f"scipy.fft workers={workers} overwrite_x"] = best_time(
        lambda: scipy.fft.ifftn(
            scipy.fft.fftn(buf, workers=workers, overwrite_x=True), workers=workers, overwrite_x=True
        ),
        n_calls,
        repeat,
    )
    plan = FFTPlan(shape)  # pyFFTW where importable
    plan.buffer[...] = data
    out[f"{plan.backend} in-place plan, {plan.threads} thread(s)"] = best_time(
        lambda: (plan.forward(), plan.backward()), n_calls, repeat
    )
    return out


COMPILE_PROBE = """
import time, numpy as np
start = time.perf_counter()
from physml.kernels import multiply_inplace, exp_multiply_inplace, nonfinite_count
a = np.ones(8, complex); multiply_inplace(a, a); exp_multiply_inplace(a, a, 1j); nonfinite_count(a)
print(time.perf_counter() - start)
"""


def compile_times() -> tuple[float, float]:
    """Seconds to import the kernels and call each once: with an empty Numba cache, then from it."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}

        def probe() -> float:
            result = subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env, capture_output=True, text=True)
            return float(result.stdout)

        return probe(), probe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    print("\nFFT pair (forward + inverse), microseconds:")
    for shape, calls in (((4096,), 2000), ((512, 512), 50)):
        for name, seconds in bench_backends(shape, calls, args.repeat).items():
            print(f"  {shape!s:11s} {name:38s} {seconds * 1e6:10.1f}")
    print("\nStrang step, microseconds (ratios: step / FFT-only, plain NumPy / physml):")
    for shape, steps in (((4096,), 2000), ((512, 512), 50)):
        r = bench_grid(shape, steps, args.repeat)
        print(f"  {shape!s:11s} physml {r['physml'] * 1e6:9.1f}  plain NumPy {r['numpy'] * 1e6:9.1f}  "
              f"FFT pair {r['fft'] * 1e6:9.1f} (numpy.fft {r['numpy_fft'] * 1e6:9.1f})  "
              f"steps/s {1 / r['physml']:9.0f}  step/FFT {r['physml'] / r['fft']:.3f}  "
              f"NumPy/physml {r['numpy'] / r['physml']:.2f}")  # fmt: skip
    cold, cached = compile_times()
    print(f"\nNumba kernels, import + first call: cold {cold:.2f} s, from cache {cached:.2f} s")


if __name__ == "__main__":
    main()
