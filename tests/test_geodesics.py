"""Kerr geodesics: the DOP853 kernel (order, agreement with scipy), ISCO, Mercury's perihelion advance, light
bending at the Sun's limb, precession against closed forms and quadrature, conservation laws, bad input.

Tolerances come from the method. DOP853 holds the local error per step below
``rtol |y|``; over ``n`` steps the constants of motion drift by about
``n rtol`` at worst (measured over 100 orbits: mass shell 8e-13, Carter's Q
7e-12 relative, with 1.8e4 steps at ``rtol = 1e-13``). Precession and deflection are
differences of order ``1e-7`` and ``1e-5`` of sweeps of ``2 pi`` and ``pi``, so
their relative error is the sweep's absolute error over the effect: measured
1.6e-7 (Mercury, rtol 1e-13, against the exact Schwarzschild value) and 3.4e-9
(Sun, against Darwin's exact value), far inside the 0.1% asked of 42.98" and 1.7512".
Reference values: /work/shared/REFERENCES.md, "Geodesics and shadows".
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from physml.kernels.dop853 import DOP853
from physml.kernels.dormand_prince import dormand_prince
from physml.simulators.spacetime.geodesic_circular import isco_radius_numerical
from physml.simulators.spacetime.geodesic_equations import covariant_metric, kerr_rhs
from physml.simulators.spacetime.geodesic_lensing import deflection_angle, schwarzschild_deflection
from physml.simulators.spacetime.geodesics import (
    CAPTURED,
    ESCAPED,
    FINISHED,
    initial_state,
    integrate_geodesic,
    state_from_velocity,
)
from physml.simulators.spacetime.kerr import Kerr
from physml.simulators.spacetime.kerr_orbits import (
    circular_orbit,
    circular_photon_orbit,
    circular_ut,
    isco_radius,
    keplerian_omega,
)
from physml.simulators.spacetime.orbits import (
    bound_orbit_constants,
    equatorial_precession,
    periapsis_precession,
    schwarzschild_precession,
    turning_points,
)

GM_SUN = 1.32712440018e20  # m^3 s^-2
C_LIGHT = 299792458.0  # m s^-1
M_SUN = GM_SUN / C_LIGHT**2  # gravitational radius GM/c^2 in metres (1476.6 m)
R_SUN = 6.957e8  # m
ARCSEC = math.degrees(1.0) * 3600.0
MERCURY_A, MERCURY_E, MERCURY_P_DAYS = 5.7909e10, 0.20563, 87.969
CENTURY_DAYS = 36525.0


def _inclined_orbit():
    """Kerr a = 0.9 M, prograde, r between 8 M and 16 M, Carter Q = 12 M^2 (inclined, theta in ~[0.9, 2.2])."""
    hole = Kerr(spin=0.9)
    energy, ang = bound_orbit_constants(hole, 8.0, 16.0, carter_q=12.0)
    return hole, energy, ang, 12.0


# --- the integrator -------------------------------------------------------------------------------


def test_dop853_converges_at_eighth_order():
    hole, energy, ang, q = _inclined_orbit()
    y0 = initial_state(hole, r=12.0, theta=1.3, energy=energy, angular_momentum=ang, carter_q=q)
    params = np.array([hole.mass, hole.a, energy, ang])
    f0, k, y1 = np.empty(6), np.empty((13, 6)), np.empty(6)
    step = dormand_prince(DOP853, 6).step

    def fixed_steps(n: int, span: float = 200.0) -> np.ndarray:
        y, h = y0.copy(), span / n
        for i in range(n):
            kerr_rhs(i * h, y, params, f0)
            step(kerr_rhs, i * h, y, f0, h, params, k, y1)
            y = y1.copy()
        return y

    reference = fixed_steps(2048)
    ns = np.array([16, 24, 32, 48])
    errors = [np.max(np.abs(fixed_steps(n) - reference)[1:]) for n in ns]  # t grows without bound: skip it
    order = -np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert 7.6 < order < 8.6, (order, errors)


def test_step_sequence_and_end_state_match_scipy_dop853():
    hole, energy, ang, q = _inclined_orbit()
    y0 = initial_state(hole, r=12.0, theta=1.3, energy=energy, angular_momentum=ang, carter_q=q)
    params = np.array([hole.mass, hole.a, energy, ang])

    def fun(lam, y):
        out = np.empty(6)
        kerr_rhs(lam, np.ascontiguousarray(y), params, out)
        return out

    lam_end = 500.0
    ref = solve_ivp(fun, (0.0, lam_end), y0, method="DOP853", rtol=1e-10, atol=1e-12)
    ours = integrate_geodesic(hole, y0, energy=energy, angular_momentum=ang, lam_end=lam_end, rtol=1e-10, atol=1e-12)
    # Same controller and starting step: the same accepted steps. Their sizes differ by ~1e-7 relative: the error
    # estimate (~rtol |y|) is a difference of stage sums whose rounding (~1e-16 |y|, summation order) is 1e-6 of it.
    assert ours.steps == ref.t.size - 1
    np.testing.assert_allclose(ours.lam, ref.t, rtol=1e-5)
    np.testing.assert_allclose(ours.states[-1], ref.y[:, -1], rtol=1e-8)


# --- ISCO -----------------------------------------------------------------------------------------


def test_isco_closed_form_reference_values():
    assert isco_radius(Kerr(spin=0.0)) == pytest.approx(6.0, abs=1e-14)
    assert isco_radius(Kerr(spin=1.0), prograde=True) == pytest.approx(1.0, abs=1e-14)
    assert isco_radius(Kerr(spin=1.0), prograde=False) == pytest.approx(9.0, abs=1e-14)
    assert isco_radius(Kerr(mass=3.0, spin=-1.0), prograde=True) == pytest.approx(3.0, abs=1e-13)
    assert circular_photon_orbit(Kerr()) == pytest.approx(3.0, abs=1e-14)


@pytest.mark.parametrize("spin", [0.0, 0.3, -0.5, 0.9, 0.998, 1.0 - 1e-6])
@pytest.mark.parametrize("prograde", [True, False])
def test_isco_from_marginal_stability_matches_closed_form(spin, prograde):
    hole = Kerr(mass=2.0, spin=spin)
    assert isco_radius_numerical(hole, prograde=prograde) == pytest.approx(
        isco_radius(hole, prograde=prograde), rel=1e-11
    )


@pytest.mark.parametrize("spin", [0.0, 0.6, -0.9])
@pytest.mark.parametrize("prograde", [True, False])
def test_circular_orbit_closed_forms_agree(spin, prograde):
    """BPT's E, L (eqs. 2.12-2.13) are -u_t and u_phi of u = u^t (1, 0, 0, Omega) with Omega from eq. 2.16."""
    hole = Kerr(mass=2.0, spin=spin)
    r = np.linspace(isco_radius(hole, prograde=prograde), 40.0, 5)
    energy, ang = circular_orbit(hole, r, prograde=prograde)
    omega = keplerian_omega(hole, r, prograde=prograde)
    sense = (1.0 if spin >= 0 else -1.0) * (1.0 if prograde else -1.0)  # the orbit turns towards sense * phi
    assert np.all(np.sign(omega) == sense) and np.all(np.sign(ang) == sense)
    for ri, e, ell, om in zip(r, energy, ang, omega):
        g = covariant_metric(ri, 0.5 * math.pi, hole.mass, hole.a)
        ut = 1.0 / math.sqrt(-(g[0, 0] + 2 * g[0, 3] * om + g[3, 3] * om * om))  # u.u = -1
        assert -(g[0, 0] + g[0, 3] * om) * ut == pytest.approx(e, rel=1e-12)
        assert (g[0, 3] + g[3, 3] * om) * ut == pytest.approx(ell, rel=1e-12)
        # The ray tracer's raw kernel (M = 1, the orbit turning towards +phi): mirror the hole by the orbit's sense.
        assert circular_ut(ri / hole.mass, sense * hole.spin) == pytest.approx(ut, rel=1e-12)


def test_black_hole_is_a_deprecated_alias_of_kerr():
    from physml.simulators.spacetime import BlackHole

    with pytest.warns(DeprecationWarning, match="BlackHole is deprecated .* use Kerr"):
        hole = BlackHole(mass=2.0, spin=0.5)
    assert hole == Kerr(mass=2.0, spin=0.5) and hole.a == 1.0


def test_isco_at_extremal_spin_numerically():
    """Retrograde, a = M exactly: 9M. Prograde, a = M - eps: r_isco - M = (4 eps)^(1/3) (1 + o(1)) -> 0, so 1M."""
    assert isco_radius_numerical(Kerr(spin=1.0), prograde=False) == pytest.approx(9.0, abs=1e-12)
    excess = [isco_radius_numerical(Kerr(spin=1.0 - eps)) - 1.0 for eps in (1e-4, 1e-6, 1e-8)]
    ratios = [x / (4 * eps) ** (1 / 3) for x, eps in zip(excess, (1e-4, 1e-6, 1e-8))]
    assert excess[0] > excess[1] > excess[2] > 0 and excess[2] < 4e-3
    assert ratios[0] > ratios[1] > ratios[2] > 1.0 and ratios[2] < 1.004, ratios
    with pytest.raises(ValueError, match="merges with the horizon"):
        isco_radius_numerical(Kerr(spin=1.0), prograde=True)


def test_orbits_inside_the_isco_are_unstable_outside_stable():
    hole = Kerr()

    def excursion(r: float) -> float:
        energy, ang = circular_orbit(hole, r)
        y0 = np.array([0.0, r, 0.5 * math.pi, 0.0, 0.0, 0.0])
        y0[4] = 1e-6  # a small radial kick
        orbit = integrate_geodesic(hole, y0, energy=float(energy), angular_momentum=float(ang), lam_end=5e3)
        return float(np.max(np.abs(orbit.states[:, 1] - r)))

    assert excursion(6.5) < 1e-3
    assert excursion(5.5) > 0.5


# --- precession -----------------------------------------------------------------------------------


def _mercury():
    a, e = MERCURY_A / M_SUN, MERCURY_E
    hole = Kerr()
    energy, ang = bound_orbit_constants(hole, a * (1 - e), a * (1 + e))
    return hole, energy, ang, a, e


@pytest.mark.parametrize("rtol, n_orbits", [(1e-13, 2), pytest.param(3e-14, 20, marks=pytest.mark.slow)])
def test_mercury_perihelion_advance(rtol, n_orbits):
    hole, energy, ang, a, e = _mercury()
    result = periapsis_precession(hole, energy, ang, n_orbits=n_orbits, rtol=rtol, periapsis=a * (1 - e))
    per_century = result.per_orbit * CENTURY_DAYS / MERCURY_P_DAYS * ARCSEC
    assert per_century == pytest.approx(42.98, rel=1e-3)
    # The measured sweep against the exact Schwarzschild value for this (a, e): numerical error only.
    assert result.per_orbit == pytest.approx(schwarzschild_precession(a * (1 - e * e), e), rel=1e-6)
    # Leading order 6 pi M / (a (1 - e^2)); the exact value differs at O(M / a) ~ 1e-7.
    assert result.per_orbit == pytest.approx(6 * math.pi / (a * (1 - e * e)), rel=1e-6)
    # The coordinate-time radial period is Mercury's year (Kepler's third law with these a, M).
    assert result.coordinate_period * M_SUN / C_LIGHT / 86400 == pytest.approx(MERCURY_P_DAYS, rel=1e-5)


def test_strong_field_precession_three_ways():
    hole = Kerr()
    energy, ang = bound_orbit_constants(hole, 8.0, 16.0)
    exact = schwarzschild_precession(2 * 8 * 16 / 24, 8 / 24)
    assert periapsis_precession(hole, energy, ang, n_orbits=5, rtol=1e-13).per_orbit == pytest.approx(exact, rel=1e-11)
    assert equatorial_precession(hole, 8.0, 16.0) == pytest.approx(exact, rel=1e-13)


@pytest.mark.parametrize("spin", [0.9, -0.5])
@pytest.mark.parametrize("prograde", [True, False])
def test_kerr_equatorial_precession_against_quadrature(spin, prograde):
    hole = Kerr(spin=spin)
    energy, ang = bound_orbit_constants(hole, 8.0, 16.0, prograde=prograde)
    assert turning_points(hole, energy, ang) == pytest.approx((8.0, 16.0), rel=1e-12)
    measured = periapsis_precession(hole, energy, ang, n_orbits=3, rtol=1e-13)
    assert np.ptp(measured.advances) < 1e-10  # equatorial: every radial period alike
    expected = equatorial_precession(hole, 8.0, 16.0, prograde=prograde)
    assert measured.per_orbit == pytest.approx(expected, rel=1e-11)
    # Frame dragging: co-rotating orbits precess less than counter-rotating ones.
    other = equatorial_precession(hole, 8.0, 16.0, prograde=not prograde)
    assert (expected < other) == prograde


# --- light bending ---------------------------------------------------------------------------------


def test_light_deflection_at_the_sun_limb():
    b = R_SUN / M_SUN
    alpha = deflection_angle(Kerr(), b, rtol=1e-13)
    assert alpha * ARCSEC == pytest.approx(1.7512, rel=1e-3)
    exact = schwarzschild_deflection(b)
    assert alpha == pytest.approx(exact, rel=1e-7)
    # Exact vs weak field 4M/b: the next term is (15 pi / 4)(M/b)^2, relative (15 pi / 16) M/b = 6e-6.
    assert exact / (4 / b) - 1 == pytest.approx(15 * math.pi / 16 / b, rel=1e-3)


@pytest.mark.parametrize("b", [5.4, 10.0, 1e3])
def test_deflection_integrated_matches_darwin_exact(b):
    assert deflection_angle(Kerr(mass=2.0), 2.0 * b) == pytest.approx(schwarzschild_deflection(b), rel=1e-10)


def test_kerr_deflection_independent_of_start_radius_and_mirror_symmetric():
    hole, mirror = Kerr(spin=0.9), Kerr(spin=-0.9)
    values = [deflection_angle(hole, 10.0, r_start=r) for r in (200.0, 1e3, 1e5)]
    assert np.ptp(values) < 1e-11 * values[0]
    assert deflection_angle(mirror, -10.0) == pytest.approx(values[1], rel=1e-12)
    assert deflection_angle(hole, -10.0) > values[1]  # counter-rotating rays bend more


# --- conservation ----------------------------------------------------------------------------------


def test_constants_conserved_over_100_orbits():
    hole, energy, ang, q = _inclined_orbit()
    result = periapsis_precession(hole, energy, ang, q, n_orbits=100, rtol=1e-13)
    orbit = result.orbit
    assert orbit.periapsides.shape[0] == 100
    assert np.max(np.abs(orbit.mass_shell() - 1.0)) < 1e-10
    assert np.max(np.abs(orbit.carter_constant() - q)) < 1e-10 * q
    assert orbit.drift() < 1e-10
    # E = -p_t and L = p_phi are held exactly; the 4-velocity the equations produce carries them too.
    f = np.empty(6)
    params = np.array([hole.mass, hole.a, energy, ang])
    for y in orbit.states[:: max(1, len(orbit.states) // 200)]:
        kerr_rhs(0.0, y, params, f)
        g = covariant_metric(y[1], y[2], hole.mass, hole.a)
        assert -(g[0, 0] * f[0] + g[0, 3] * f[3]) == pytest.approx(energy, rel=1e-12)
        assert g[0, 3] * f[0] + g[3, 3] * f[3] == pytest.approx(ang, rel=1e-12)


def test_state_from_velocity_round_trip():
    hole = Kerr(spin=0.7)
    y, energy, ang = state_from_velocity(hole, position=(0.0, 9.0, 1.1, 0.0), velocity=(0.02, 0.01, 0.045))
    f = np.empty(6)
    kerr_rhs(0.0, y, np.array([hole.mass, hole.a, energy, ang]), f)
    np.testing.assert_allclose(f[[1, 2, 3]], [0.02, 0.01, 0.045], rtol=1e-13)
    orbit = integrate_geodesic(hole, y, energy=energy, angular_momentum=ang, lam_end=1e4)
    assert orbit.status == FINISHED and energy < 1.0  # bound, stays outside
    assert orbit.mu2 == pytest.approx(1.0, abs=1e-14)
    assert orbit.drift() < 1e-10


def test_capture_and_escape_events():
    hole = Kerr()
    inward = initial_state(hole, r=50.0, theta=0.5 * math.pi, energy=1.0, angular_momentum=3.0, mu2=0.0, outgoing=False)
    ray = integrate_geodesic(hole, inward, energy=1.0, angular_momentum=3.0)  # b = 3 < sqrt(27): captured
    assert ray.status == CAPTURED and ray.states[-1, 1] == pytest.approx(1.001 * 2.0, rel=1e-12)
    ray = integrate_geodesic(hole, inward, energy=1.0, angular_momentum=6.0, r_escape=50.0)
    assert ray.status == ESCAPED and ray.states[-1, 1] == pytest.approx(50.0, rel=1e-13)


# --- bad input -------------------------------------------------------------------------------------


def test_bad_input_raises_with_reason():
    with pytest.raises(ValueError, match=r"spin = 1\.01 is invalid: need \|spin\| <= 1"):
        Kerr(spin=1.01)
    for mass in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match=r"mass = .* is invalid: must be finite and > 0"):
            Kerr(mass=mass)
    hole = Kerr(spin=0.5)
    with pytest.raises(ValueError, match=r"r = 1.5 is invalid: must be outside the horizon"):
        initial_state(hole, r=1.5, theta=1.0, energy=0.95, angular_momentum=3.0)
    with pytest.raises(ValueError, match="outside the horizon"):
        integrate_geodesic(hole, np.array([0.0, 1.8, 1.0, 0.0, 0.0, 0.0]), energy=0.9, angular_momentum=3.0)
    with pytest.raises(ValueError, match="radial motion is forbidden"):
        initial_state(hole, r=100.0, theta=1.0, energy=0.9, angular_momentum=3.0)
    y0 = initial_state(hole, r=10.0, theta=0.5 * math.pi, energy=0.96, angular_momentum=3.5)
    with pytest.raises(ValueError, match=r"rtol = -1e-10 is invalid"):
        integrate_geodesic(hole, y0, energy=0.96, angular_momentum=3.5, lam_end=10.0, rtol=-1e-10)
    with pytest.raises(ValueError, match=r"atol = -1.0 is invalid: must be finite and >= 0"):
        integrate_geodesic(hole, y0, energy=0.96, angular_momentum=3.5, lam_end=10.0, atol=-1.0)
    with pytest.raises(ValueError, match=r"energy = 1.02 is invalid: .*unbound"):
        periapsis_precession(hole, 1.02, 4.0)
    with pytest.raises(ValueError, match="the orbit plunges"):
        periapsis_precession(hole, 0.97, 2.0)  # below the ISCO's L: nothing holds it off
    with pytest.raises(ValueError, match=r"no stable bound orbit|unstable"):
        bound_orbit_constants(Kerr(), 4.0, 10.0)
    with pytest.raises(ValueError, match="captured"):
        deflection_angle(Kerr(), 5.0)
    with pytest.raises(ValueError, match=r"circular timelike orbits need r > r_ph"):
        circular_orbit(Kerr(), 2.9)
