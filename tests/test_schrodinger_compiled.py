"""The split-operator stepper (compiled loop, FFT thread team, Python fallback) against plain NumPy.

The reference applies every stage separately (no fused kicks, ``numpy.fft``,
``V(t)`` evaluated at each kick), so agreement to round-off checks the fused
kick rows, the tabulated factors, the thread split and the time bookkeeping.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from physml.kernels import fft as fft_module
from physml.kernels.fft import FFTPlan
from physml.kernels.pointwise import exp_multiply_inplace, multiply_inplace, multiply_parts_inplace
from physml.simulators import Grid
from physml.simulators.schrodinger import (
    AbsorbingLayer,
    Driven,
    Harmonic,
    SchrodingerState,
    SchrodingerSystem,
    SoftCoulomb,
    SplitOperator,
    gaussian_packet,
)
from physml.simulators.schrodinger import propagator as propagator_module
from physml.simulators.schrodinger.fused import make_team, team_exp_multiply, team_multiply
from physml.simulators.schrodinger.splitting import get_scheme

GRIDS = {"1d": Grid(n=256, length=32.0), "2d-odd": Grid(n=(45, 32), length=(24.0, 22.0))}
SYSTEMS = {
    "harmonic": lambda grid: SchrodingerSystem(grid, Harmonic(omega=1.3), hbar=0.8, mass=1.5),
    "absorber": lambda grid: SchrodingerSystem(grid, SoftCoulomb(), absorber=AbsorbingLayer(width=3.0)),
    "driven": lambda grid: SchrodingerSystem(grid, Driven(Harmonic(), field_strength=0.7, frequency=2.0)),
}


def numpy_split_steps(system, psi, t0, dt, n_steps, scheme, *, imaginary=False):
    """``n_steps`` steps of the palindromic product, one stage at a time: kick a_0, drift b_0, kick a_1, ..."""
    scheme = get_scheme(scheme)
    z = (1.0 if imaginary else 1j) / system.hbar
    for step in range(n_steps):
        t = t0 + step * dt
        psi = np.exp(-z * scheme.kicks[0] * dt * system.effective_potential(t)) * psi
        for j, b in enumerate(scheme.drifts):
            psi = np.fft.ifftn(np.exp(-z * b * dt * system.kinetic) * np.fft.fftn(psi))
            t = t0 + (step + 1) * dt if j == len(scheme.drifts) - 1 else t + b * dt
            psi = np.exp(-z * scheme.kicks[j + 1] * dt * system.effective_potential(t)) * psi
    return psi


def packet(grid):
    return gaussian_packet(grid, center=(0.5,) * grid.ndim, momentum=(0.8,) * grid.ndim, width=(1.2,) * grid.ndim)


@pytest.mark.parametrize("backend", ["fftw", "fftw-objects", "scipy"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("scheme", ["strang", "yoshida4"])
@pytest.mark.parametrize("kind", sorted(SYSTEMS))
@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_stepper_matches_the_splitting_written_out_in_numpy(monkeypatch, grid, kind, scheme, threads, backend):
    # fftw: static potentials run in one compiled call, driven ones stage by stage. fftw-objects (FFTW not
    # reachable through ctypes) and scipy: the Python loop.
    if backend == "fftw-objects":
        monkeypatch.setattr(fft_module, "_library", lambda: None)
    monkeypatch.setattr(
        propagator_module, "FFTPlan", functools.partial(FFTPlan, backend=backend.removesuffix("-objects"))
    )
    system = SYSTEMS[kind](GRIDS[grid])
    psi0 = packet(system.grid)
    stepper = SplitOperator(system, scheme, fft_threads=threads, fft_measure=False)
    assert (stepper.plan.native is not None) == (backend == "fftw")
    psi0.setflags(write=False)  # the input is only read
    result = stepper.propagate(psi0, 0.3, 0.02, 9)
    expected = numpy_split_steps(system, psi0, 0.3, 0.02, 9, scheme)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert np.abs(result - psi0).max() > 0.01  # the comparison is not between two unchanged packets


@pytest.mark.parametrize("threads", [1, 2])
def test_imaginary_time_matches_numpy(threads):
    system = SYSTEMS["harmonic"](GRIDS["2d-odd"])
    psi0 = packet(system.grid)
    stepper = SplitOperator(system, "strang", imaginary=True, fft_threads=threads, fft_measure=False)
    expected = numpy_split_steps(system, psi0, 0.0, 0.05, 12, "strang", imaginary=True)
    np.testing.assert_allclose(stepper.propagate(psi0, 0.0, 0.05, 12), expected, rtol=0, atol=1e-12)
    assert np.abs(expected).max() < 0.8 * np.abs(psi0).max()  # the norm decays in imaginary time


def test_a_changed_step_size_retabulates_the_factors():
    system = SYSTEMS["harmonic"](GRIDS["1d"])
    psi0 = packet(system.grid)
    stepper = SplitOperator(system, "yoshida4", fft_measure=False)
    for dt in (0.02, 0.05, 0.02):
        expected = numpy_split_steps(system, psi0, 0.0, dt, 4, "yoshida4")
        np.testing.assert_allclose(stepper.propagate(psi0, 0.0, dt, 4), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 1001, 4099])
def test_team_kernels_give_the_bits_of_the_serial_ones(n):
    plan = FFTPlan((64, 64), threads=2, measure=False)
    team = make_team(plan.native)
    if team[3] != 2:
        pytest.skip("FFTW's threads are not OpenMP threads in this pyFFTW build")
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    b = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    v = rng.standard_normal(n) - 0.1j * rng.random(n)
    re, im = b.real.copy(), b.imag.copy()
    expected = a.copy()
    multiply_inplace(expected, b)
    np.testing.assert_allclose(expected, a * b, rtol=1e-15)
    parts = a.copy()
    multiply_parts_inplace(parts, re, im)
    assert np.array_equal(parts, expected)
    a[n // 2] = np.nan  # one bad input, counted by the passes that count
    expected[n // 2] = np.nan * 1j
    for members in (team, (0, 0, 0, 1, 0, 0)):  # the FFT team, and one thread
        teamed = a.copy()
        assert team_multiply(teamed, teamed, re, im, False, members) == 0
        assert np.array_equal(teamed, expected, equal_nan=True)
        out = np.zeros_like(a)
        assert team_multiply(out, a, re, im, True, members) == 1
        assert np.array_equal(out, expected, equal_nan=True)
    a[n // 2] = 0.5
    expected = a.copy()
    exp_multiply_inplace(expected, v, -0.3j)
    teamed = a.copy()
    team_exp_multiply(teamed, v, -0.3j, team)
    assert np.array_equal(teamed, expected)
    np.testing.assert_allclose(expected, a * np.exp(-0.3j * v), rtol=1e-14)


@pytest.mark.parametrize("threads", [1, 2])
def test_single_steps_and_zero_steps(threads):
    system = SYSTEMS["absorber"](GRIDS["2d-odd"])
    psi0 = packet(system.grid)
    step = SplitOperator(system, "yoshida4", fft_threads=threads, fft_measure=False)
    state = SchrodingerState(psi0, 0.3)
    for _ in range(5):
        state = step(state, 0.02)
    expected = numpy_split_steps(system, psi0, 0.3, 0.02, 5, "yoshida4")
    np.testing.assert_allclose(state.psi, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    assert state.t == pytest.approx(0.4, abs=1e-15)
    assert np.array_equal(step.propagate(psi0, 0.0, 0.02, 0), psi0)
