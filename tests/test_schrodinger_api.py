"""Potentials, observables, bad input and unstable runs."""

from __future__ import annotations

import numpy as np
import pytest

from physml.simulators import Grid, UnstableRunError
from physml.simulators.schrodinger import (
    POTENTIALS,
    AbsorbingLayer,
    DoubleWell,
    Driven,
    Free,
    FunctionPotential,
    GaussianBarrier,
    Harmonic,
    Lattice,
    SchrodingerState,
    SchrodingerSystem,
    SoftCoulomb,
    SquareBarrier,
    eigenstates,
    gaussian_packet,
    make_stepper,
    observables,
    simulate,
    superpose,
)

GRID = Grid(n=64, length=16.0)


def test_potential_formulas():
    x = GRID.coords[0]
    assert DoubleWell(barrier=2.0, separation=3.0)(GRID)[np.argmin(np.abs(x - 3.0))] == pytest.approx(0.0)
    assert DoubleWell(barrier=2.0, separation=3.0)(GRID)[np.argmin(np.abs(x))] == pytest.approx(2.0)
    np.testing.assert_allclose(Harmonic(omega=2.0)(GRID, mass=3.0), 0.5 * 3.0 * 4.0 * x**2)
    assert SquareBarrier(height=5.0, width=2.0)(GRID).sum() * GRID.dx[0] == pytest.approx(5.0 * 2.0, rel=0.15)
    assert GaussianBarrier(height=1.5, width=0.5)(GRID).max() == pytest.approx(1.5)
    np.testing.assert_allclose(Lattice(depth=1.0, period=2.0)(GRID), np.cos(np.pi * x / 2.0) ** 2)
    assert SoftCoulomb(charge=2.0, softening=0.5)(GRID).min() == pytest.approx(-4.0)
    g2 = Grid(n=(16, 16), length=8.0)
    v = Harmonic(omega=1.0, omega_y=3.0)(g2)
    assert v[8, 12] == pytest.approx(0.5 * 9.0 * g2.axes[1][12] ** 2)
    assert Lattice()(g2).shape == (16, 16) and SoftCoulomb()(g2)[8, 8] == pytest.approx(-1.0)


def test_driven_potential_is_time_dependent():
    drive = Driven(Free(), field_strength=0.5, frequency=2.0)
    assert drive.time_dependent and not Free().time_dependent
    np.testing.assert_allclose(drive(GRID, t=np.pi / 4), 0.5 * GRID.coords[0])
    user = FunctionPotential(lambda x, t: t * x, is_time_dependent=True)
    np.testing.assert_allclose(user(GRID, 2.0), 2.0 * GRID.coords[0])


def test_potential_catalogue_covers_the_cli_names():
    assert set(POTENTIALS) == {
        "free",
        "harmonic",
        "double-well",
        "square-barrier",
        "gaussian-barrier",
        "lattice",
        "soft-coulomb",
    }


def test_user_array_and_callable_potentials_match_builtin():
    psi0 = gaussian_packet(GRID, center=1.0, width=0.8)
    runs = [
        simulate(SchrodingerSystem(GRID, potential), psi0, dt=0.01, t_final=1.0, n_saves=1).psi[-1]
        for potential in (Harmonic(), 0.5 * GRID.coords[0] ** 2, lambda x: 0.5 * x**2)
    ]
    np.testing.assert_allclose(runs[1], runs[0], atol=1e-14)
    np.testing.assert_allclose(runs[2], runs[0], atol=1e-14)


def test_observables_of_a_moving_packet():
    grid = Grid(n=(96, 96), length=30.0)
    system = SchrodingerSystem(grid, Free())
    psi = gaussian_packet(grid, center=(1.0, -2.0), momentum=(0.5, 1.0), width=(1.0, 1.5))
    obs = observables(system, psi)
    assert obs["norm"] == pytest.approx(1.0, abs=1e-14)
    assert (obs["x_mean"], obs["y_mean"]) == pytest.approx((1.0, -2.0), abs=1e-12)
    assert (obs["px_mean"], obs["py_mean"]) == pytest.approx((0.5, 1.0), abs=1e-12)
    # <x^2 + y^2> = x0^2 + y0^2 + sx^2 + sy^2; E = p^2/2 + hbar^2/(8 s^2) per axis.
    assert obs["r2_mean"] == pytest.approx(1.0 + 4.0 + 1.0 + 2.25, rel=1e-12)
    assert obs["energy"] == pytest.approx(0.125 + 0.5 + 1 / 8 + 1 / (8 * 2.25), rel=1e-12)


def test_superposition_of_eigenstates_beats_at_level_spacing():
    system = SchrodingerSystem(GRID, Harmonic())
    levels = eigenstates(system, 2)
    psi0 = superpose(GRID, list(levels.states), [1.0, 1.0])
    run = simulate(system, psi0, dt=np.pi / 200, t_final=np.pi, n_saves=2, scheme="yoshida4")
    # <x> oscillates at E1 - E0 = omega: it changes sign after half a period.
    assert run.observables["x_mean"][2] == pytest.approx(-run.observables["x_mean"][0], abs=1e-8)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: SchrodingerSystem(GRID, Free(), hbar=0.0), r"hbar = 0.0 is invalid: must be finite and > 0"),
        (lambda: SchrodingerSystem(GRID, Free(), mass=-1.0), r"mass = -1.0 is invalid"),
        (lambda: SchrodingerSystem(GRID, np.full(GRID.shape, np.inf)), r"potential is invalid .* non-finite"),
        (lambda: SchrodingerSystem(GRID, np.zeros(10)), r"potential array has shape \(10,\)"),
        (lambda: Harmonic(omega=-1.0), r"Harmonic.omega = -1.0 is invalid"),
        (lambda: SquareBarrier(width=0.0), r"SquareBarrier.width = 0.0"),
        (lambda: AbsorbingLayer(width=-2.0), r"AbsorbingLayer.width = -2.0"),
        (lambda: SchrodingerSystem(GRID, Free(), absorber=AbsorbingLayer(width=9.0)), r"width = 9.0 .* width < 8.0"),
        (lambda: gaussian_packet(GRID, center=6.0, width=1.0), r"center = 6.0, width = 1.0 is invalid: .* box edge"),
        (lambda: gaussian_packet(GRID, momentum=12.0, width=1.0), r"momentum = 12.0, width = 1.0 is invalid"),
        (lambda: gaussian_packet(GRID, width=0.0), r"width = 0.0 is invalid"),
        (lambda: gaussian_packet(GRID, center=(0.0, 1.0)), r"center = \(0.0, 1.0\) is invalid: need 1 value"),
        (lambda: eigenstates(SchrodingerSystem(GRID, Harmonic()), 0), r"n_states = 0 is invalid"),
        (lambda: eigenstates(SchrodingerSystem(GRID, Driven(Harmonic())), 1), r"potential must be static"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(("dt", "match"), [(0.0, "dt = 0.0 is invalid"), (-0.1, "dt = -0.1"), (np.nan, "dt = nan")])
def test_non_positive_time_step_is_rejected(dt, match):
    step = make_stepper(SchrodingerSystem(GRID, Harmonic()))
    with pytest.raises(ValueError, match=match):
        step(SchrodingerState(gaussian_packet(GRID, width=1.0)), dt)


def test_time_step_must_divide_the_save_interval():
    with pytest.raises(ValueError, match=r"dt = 0.3 is invalid: it must divide the save interval"):
        simulate(SchrodingerSystem(GRID, Harmonic()), gaussian_packet(GRID), dt=0.3, t_final=1.0, n_saves=1)


def test_stepper_is_pure():
    step = make_stepper(SchrodingerSystem(GRID, Harmonic()))
    state = SchrodingerState(gaussian_packet(GRID, center=0.5, width=0.8))
    before = state.psi.copy()
    a, b = step(state, 0.01), step(state, 0.01)
    np.testing.assert_array_equal(state.psi, before)
    np.testing.assert_array_equal(a.psi, b.psi)
    assert a.t == pytest.approx(0.01)


def test_yoshida_is_refused_in_imaginary_time():
    from physml.simulators.schrodinger import SplitOperator

    with pytest.raises(ValueError, match="negative drifts"):
        SplitOperator(SchrodingerSystem(GRID, Harmonic()), "yoshida4", imaginary=True)


def test_time_dependent_potential_turning_non_finite_stops_the_run():
    def v(x, t):
        return np.full_like(x, np.inf) if t > 0.045 else 0.0 * x

    system = SchrodingerSystem(GRID, FunctionPotential(v, is_time_dependent=True))
    with pytest.raises(ValueError, match=r"potential is invalid at t = 0.05"):
        simulate(system, gaussian_packet(GRID), dt=0.01, t_final=0.1, n_saves=1)


def test_non_finite_wave_function_stops_with_the_step():
    from physml.simulators.schrodinger import SplitOperator

    # Imaginary time in a deep well grows psi by exp(|V| dtau) = e^250 per step:
    # past the float64 range (e^709) at step 3.
    deep = SchrodingerSystem(GRID, -250.0 * np.ones(GRID.shape))
    grow = SplitOperator(deep, imaginary=True)
    with pytest.raises(UnstableRunError, match=r"non-finite at step 3 of 5 \(t = 3") as info:
        grow.advance(SchrodingerState(gaussian_packet(GRID)), 1.0, 5)
    assert (info.value.step, info.value.t) == (3, 3.0)
