"""Analytic spacetimes: curvature against closed forms, vacuum and Friedmann equations,
finite-difference Christoffels at order 4, bad inputs, and the ``spacetime`` dataset family."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import h5py
import numpy as np
import pytest

from physml.simulators.spacetime import (
    FLRW,
    DeSitter,
    Friedmann,
    Kerr,
    ReissnerNordstrom,
    Schwarzschild,
    circular_photon_orbit,
    finite_difference_christoffel,
    horizon_radius,
    integrate_geodesic,
    isco_radius,
    kerr_newman_kretschmann,
    meridional_slice,
)

RNG = np.random.default_rng(20240611)


def spherical_points(n: int, r_min: float, r_max: float) -> np.ndarray:
    """``(n, 4)`` random ``(t, r, θ, φ)`` with ``r_min < r < r_max``, off the axis."""
    return np.stack(
        [RNG.uniform(-1, 1, n), RNG.uniform(r_min, r_max, n), RNG.uniform(0.2, 2.9, n), RNG.uniform(0, 6, n)], axis=-1
    )


def cartesian_points(n: int, r_min: float, r_max: float) -> np.ndarray:
    """``(n, 4)`` random ``(t, x, y, z)`` with ``r_min < |(x, y, z)| < r_max``."""
    direction = RNG.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    radius = RNG.uniform(r_min, r_max, (n, 1))
    return np.concatenate([RNG.uniform(-1, 1, (n, 1)), radius * direction], axis=-1)


def points_for(metric, n: int = 40) -> np.ndarray:
    if isinstance(metric, DeSitter):
        return (
            cartesian_points(n, 0.5, 3.0) if metric.chart == "flat" else spherical_points(n, 0.3, 0.9 * metric.radius)
        )
    if metric.chart == "kerr-schild":
        return cartesian_points(n, 1.2, 10.0)  # through the horizon: Kerr-Schild is regular there
    if metric.chart == "painleve-gullstrand":
        return spherical_points(n, 0.8, 10.0)
    if metric.chart == "isotropic":
        return spherical_points(n, 0.6 * metric.mass, 10.0)
    if isinstance(metric, Kerr):
        return spherical_points(n, metric.horizon + 0.2, 10.0)
    return spherical_points(n, 2.1 * metric.mass, 10.0)


SCHWARZSCHILD = [Schwarzschild(mass=1.3, chart=chart) for chart in Schwarzschild.charts]
KERR = [Kerr(mass=1.0, spin=0.9, chart=chart) for chart in Kerr.charts]
LAMBDA = 0.4
DE_SITTER = [DeSitter(LAMBDA, chart=chart) for chart in DeSitter.charts]


def label(metric) -> str:
    return f"{type(metric).__name__}-{metric.chart}"


# -- vacuum and closed forms ---------------------------------------------------------------


@pytest.mark.parametrize("metric", SCHWARZSCHILD + KERR + DE_SITTER, ids=label)
def test_vacuum_metrics_solve_einstein_equations(metric):
    """R_ab = Λ g_ab (Λ = 0 for the black holes) to round-off, and g_ab g^bc = δ_a^c."""
    points = points_for(metric)
    out = metric.evaluate(points, "metric", "inverse_metric", "ricci", "riemann")
    lam = metric.cosmological_constant if isinstance(metric, DeSitter) else 0.0
    scale = np.abs(out["riemann"]).max()  # curvature scale of the sample
    assert scale > 1e-3
    np.testing.assert_allclose(out["ricci"], lam * out["metric"], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(
        out["metric"] @ out["inverse_metric"], np.broadcast_to(np.eye(4), (len(points), 4, 4)), atol=1e-12
    )


@pytest.mark.parametrize("metric", SCHWARZSCHILD, ids=label)
def test_schwarzschild_kretschmann_is_48m2_over_r6_in_every_chart(metric):
    points = points_for(metric)
    r = metric.areal_radius(points)
    np.testing.assert_allclose(metric.kretschmann(points), 48 * metric.mass**2 / r**6, rtol=1e-12)


def test_de_sitter_kretschmann_and_scalar():
    for metric in DE_SITTER:
        out = metric.evaluate(points_for(metric), "kretschmann", "ricci_scalar")
        np.testing.assert_allclose(out["kretschmann"], 8 * LAMBDA**2 / 3, rtol=1e-12)
        np.testing.assert_allclose(out["ricci_scalar"], 4 * LAMBDA, rtol=1e-12)


def test_kerr_at_zero_spin_is_schwarzschild():
    pairs = (("boyer-lindquist", "schwarzschild"), ("kerr-schild", "kerr-schild"))
    for kerr_chart, schwarzschild_chart in pairs:
        kerr, schwarzschild = Kerr(mass=1.3, spin=0.0, chart=kerr_chart), Schwarzschild(1.3, chart=schwarzschild_chart)
        points = points_for(schwarzschild)
        for name in ("metric", "christoffel", "kretschmann"):
            expected = schwarzschild.evaluate(points, name)[name]
            np.testing.assert_allclose(kerr.evaluate(points, name)[name], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("spin", [0.5, 0.99, -0.7])
@pytest.mark.parametrize("chart", Kerr.charts)
def test_kerr_kretschmann_matches_the_closed_form(chart, spin):
    """48M²(r⁶ − 15a²r⁴c² + 15a⁴r²c⁴ − a⁶c⁶)/(r² + a²c²)⁶, c = cos θ."""
    bh = Kerr(mass=1.0, spin=spin, chart=chart)
    points = points_for(bh)
    r, c = bh.radius_and_cos_theta(points)
    a2c2 = (spin * c) ** 2
    closed = 48 * (r**6 - 15 * a2c2 * r**4 + 15 * a2c2**2 * r**2 - a2c2**3) / (r**2 + a2c2) ** 6
    np.testing.assert_allclose(bh.kretschmann(points), closed, rtol=0, atol=1e-12 * np.abs(closed).max())


@pytest.mark.parametrize("chart", Kerr.charts)
def test_kerr_newman_is_electrovacuum(chart):
    """Henry's Kretschmann scalar, R = 0 (traceless Maxwell stress) but R_ab != 0."""
    bh = Kerr(mass=1.0, spin=0.6, charge=0.7, chart=chart)
    points = points_for(bh)
    out = bh.evaluate(points, "kretschmann", "ricci_scalar", "ricci")
    r, c = bh.radius_and_cos_theta(points)
    closed = kerr_newman_kretschmann(r, c, 1.0, 0.6, 0.7)
    np.testing.assert_allclose(out["kretschmann"], closed, rtol=0, atol=1e-12 * np.abs(closed).max())
    assert np.abs(out["ricci_scalar"]).max() < 1e-13 and np.abs(out["ricci"]).max() > 1e-3


def test_reissner_nordstrom_kretschmann_and_einstein_tensor():
    """K = (48M²r² − 96MQ²r + 56Q⁴)/r⁸ and G^a_b = (Q²/r⁴) diag(−1, −1, 1, 1) = 8π T^a_b of E = Q/r²."""
    m, q = 2.0, 1.6  # charge = Q/M = 0.8
    rn = ReissnerNordstrom(mass=m, charge=q / m)
    assert rn.q == q and rn.horizon == m + np.sqrt(m * m - q * q)
    points = spherical_points(30, rn.horizon + 0.05, 12.0)
    r = points[:, 1]
    out = rn.evaluate(points, "kretschmann", "einstein", "inverse_metric")
    np.testing.assert_allclose(
        out["kretschmann"], (48 * m**2 * r**2 - 96 * m * q**2 * r + 56 * q**4) / r**8, rtol=1e-12
    )
    mixed = np.einsum("...ab,...bc->...ac", out["inverse_metric"], out["einstein"])
    expected = (q**2 / r**4)[:, None, None] * np.diag([-1.0, -1.0, 1.0, 1.0])
    np.testing.assert_allclose(mixed, expected, rtol=0, atol=1e-13)


# -- cosmology -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("omega_m", "omega_r", "omega_lambda", "k"),
    [(0.25, 0.25, 0.5, 0), (0.25, 0.05, 0.5, -1), (2.0, 0.1, 0.3, 1)],
)
def test_flrw_einstein_tensor_gives_friedmann_density_and_pressure(omega_m, omega_r, omega_lambda, k):
    """G = c = 1: G_tt = 8πρ, G_ij = 8πp g_ij with ρ, p of dust, radiation (w = 1/3) and Λ (w = −1)."""
    model = Friedmann(hubble=0.7, omega_m=omega_m, omega_r=omega_r, omega_lambda=omega_lambda)
    universe = FLRW(model)
    assert model.k == k
    t = np.linspace(0.5 * model.big_bang, min(1.5, 0.5 * model.big_crunch), 7)
    points = np.stack([t, RNG.uniform(0.1, 0.6, 7), RNG.uniform(0.3, 2.8, 7), RNG.uniform(0, 6, 7)], axis=-1)
    out = universe.evaluate(points, "einstein", "metric")
    a, _, _ = model.scale_factor(t)
    rho, p = model.density_and_pressure(a)
    np.testing.assert_allclose(out["einstein"][:, 0, 0], 8 * math.pi * rho, rtol=1e-10)
    spatial = 8 * math.pi * p[:, None, None] * out["metric"][:, 1:, 1:]
    np.testing.assert_allclose(
        out["einstein"][:, 1:, 1:], spatial, rtol=0, atol=1e-10 * np.abs(8 * math.pi * rho).max()
    )
    assert np.abs(out["einstein"][:, 0, 1:]).max() < 1e-12


def test_friedmann_closed_forms():
    """Einstein–de Sitter a = (1 + 3H₀t/2)^(2/3), age 2/(3H₀); closed dust lives π Ω/(H₀ (Ω − 1)^(3/2)); ΛCDM age."""
    eds = Friedmann(hubble=2.0, omega_m=1.0)
    t = np.array([-0.3, -0.1, 0.4, 3.0])
    a, adot, _ = eds.scale_factor(t)
    np.testing.assert_allclose(a, (1 + 3.0 * t) ** (2 / 3), rtol=1e-10)
    np.testing.assert_allclose(adot, 2.0 * (1 + 3.0 * t) ** (-1 / 3), rtol=1e-10)
    assert eds.big_bang == pytest.approx(-1 / 3, rel=1e-12) and eds.big_crunch == math.inf
    closed = Friedmann(hubble=1.0, omega_m=3.0)
    assert closed.big_crunch - closed.big_bang == pytest.approx(math.pi * 3 / 2**1.5, rel=1e-10)
    assert Friedmann(hubble=1.0, omega_m=0.3, omega_lambda=0.7).big_bang == pytest.approx(-0.964099, abs=1e-6)
    assert Friedmann(hubble=1.0, omega_lambda=1.0).big_bang == -math.inf  # flat de Sitter: no big bang


# -- finite differences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metric",
    [
        Kerr(mass=1.0, spin=0.8, chart="kerr-schild"),
        Kerr(mass=1.0, spin=0.8, charge=0.3),
        Schwarzschild(1.0, chart="painleve-gullstrand"),
        Schwarzschild(1.0, chart="isotropic"),
        FLRW(Friedmann(hubble=1.0, omega_m=0.5, omega_r=0.1, omega_lambda=0.7)),
    ],
    ids=label,
)
def test_finite_difference_christoffels_converge_at_fourth_order(metric):
    if isinstance(metric, FLRW):
        points = np.array([[0.3, 0.4, 1.0, 0.5], [-0.2, 0.7, 2.0, 1.0]])
        steps = np.array([0.08, 0.04, 0.02, 0.01])
    else:
        points = np.array([[0.3, 2.0, 1.5, 1.0], [0.0, -3.0, 1.0, 2.0]])
        if metric.chart != "kerr-schild":
            points = np.array([[0.3, 4.0, 1.0, 0.5], [0.0, 3.0, 2.0, 1.0]])
        steps = np.array([0.2, 0.1, 0.05, 0.025])
    exact = metric.christoffel(points)
    errors = np.array([np.abs(finite_difference_christoffel(metric, points, h) - exact).max() for h in steps])
    order = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    print(f"{label(metric)}: errors {errors}, order {order:.3f}")
    assert order == pytest.approx(4.0, abs=0.3), errors
    assert errors[-1] < 1e-6 * np.abs(exact).max()


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Schwarzschild(mass=0.0), r"mass = 0\.0 is invalid"),
        (lambda: Schwarzschild(mass=-1.0, chart="isotropic"), r"mass = -1\.0 is invalid"),
        (lambda: Schwarzschild(chart="polar"), r"chart = 'polar' is invalid"),
        (lambda: Kerr(mass=1.0, spin=1.01), r"spin = 1\.01 is invalid: need \|spin\| <= 1 \(spin = a/M"),
        (lambda: Kerr(mass=2.0, spin=-1.5), r"spin = -1\.5 is invalid: need \|spin\| <= 1"),
        (lambda: Kerr(mass=1.0, spin=0.8, charge=0.7), r"charge = 0\.7 is invalid: need spin² \+ charge² <= 1"),
        (lambda: Kerr(mass=0.0, spin=0.5), r"mass = 0\.0 is invalid: must be finite and > 0"),
        (lambda: Kerr(spin=math.nan), r"spin = nan is invalid: must be finite"),
        (lambda: ReissnerNordstrom(mass=1.0, charge=1.2), r"charge = 1\.2 is invalid"),
        (lambda: Friedmann(omega_m=-0.1), r"omega_m = -0\.1 is invalid: must be >= 0"),
        (lambda: Friedmann(omega_r=-1e-3), r"omega_r = -0\.001 is invalid"),
        (lambda: Friedmann(hubble=0.0), r"hubble = 0\.0 is invalid"),
        (lambda: DeSitter(cosmological_constant=-1.0), r"cosmological_constant = -1\.0 is invalid"),
        (
            lambda: Schwarzschild().metric([0.0, 2.0, 1.0, 0.0]),
            r"r = 2\.0 is invalid: Schwarzschild coordinates need r > 2M",
        ),
        (lambda: Schwarzschild(chart="isotropic").metric([0.0, 0.4, 1.0, 0.0]), r"rho = 0\.4 is invalid"),
        (lambda: Schwarzschild().metric([0.0, 3.0, 0.0, 0.0]), r"theta = 0\.0 is invalid"),
        (
            lambda: Kerr(spin=0.6).kretschmann([0.0, 1.7, 1.0, 0.0]),
            r"r = 1\.7 is invalid: Boyer-Lindquist coordinates need r > r\+",
        ),
        (lambda: Kerr(spin=0.6, chart="kerr-schild").kretschmann([0.0, 0.3, 0.2, 0.0]), r"r = 0\.0 is invalid"),
        (lambda: Schwarzschild(chart="kerr-schild").metric([0.0, 0.0, 0.0, 0.0]), r"r = 0\.0 is invalid"),
        (lambda: ReissnerNordstrom(1.0, 0.6).metric([0.0, 1.8, 1.0, 0.0]), r"r = 1\.8 is invalid"),
        (lambda: DeSitter(3.0).metric([0.0, 1.0, 1.0, 0.0]), r"r = 1\.0 is invalid: the static chart needs 0 < r < l"),
        (lambda: FLRW(Friedmann(omega_m=1.0)).metric([-0.7, 0.5, 1.0, 0.0]), r"t = -0\.7 is invalid: .*big bang"),
        (lambda: FLRW(Friedmann(omega_m=3.0)).metric([2.9, 0.5, 1.0, 0.0]), r"t = 2\.9 is invalid: .*recollapses"),
        (lambda: FLRW(Friedmann(omega_m=3.0)).metric([0.0, 0.8, 1.0, 0.0]), r"r = 0\.8 is invalid: a closed universe"),
        (lambda: Schwarzschild().evaluate(np.zeros(3), "metric"), r"points shape \(3,\) is invalid"),
        (lambda: Schwarzschild().evaluate(np.zeros(4), "torsion"), r"name = 'torsion' is invalid"),
    ],
)
def test_bad_input_raises_with_the_reason(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_regular_charts_accept_points_inside_the_horizon():
    """Kerr-Schild and Painlevé-Gullstrand are regular at and inside r = 2M (and between Kerr's horizons)."""
    assert np.isfinite(Schwarzschild(chart="painleve-gullstrand").kretschmann([0.0, 1.0, 1.0, 0.0]))
    assert np.isfinite(Kerr(spin=0.9, chart="kerr-schild").kretschmann([0.0, 0.3, 0.0, 0.8]))


def test_derivation_is_done_once_per_class_and_chart():
    a, b = Kerr(spin=0.3), Kerr(spin=0.7, charge=0.1)
    assert a.symbolic() is b.symbolic() and a.symbolic() is not Kerr(chart="kerr-schild").symbolic()
    assert [str(s) for s in a.symbolic().line_element.coordinates] == ["t", "r", "theta", "phi"]


def test_kerr_is_dimensionless_in_spin_and_charge():
    """spin = a/M and charge = Q/M: a hole of mass 2 and spin 0.5 is the mass-1, spin-0.5 hole scaled by 2."""
    big, unit = Kerr(mass=2.0, spin=0.5, charge=0.3), Kerr(mass=1.0, spin=0.5, charge=0.3)
    assert (big.a, big.q) == (1.0, 0.6) and big.horizon == pytest.approx(2 * unit.horizon, rel=1e-15)
    assert unit.horizon == pytest.approx(1 + math.sqrt(1 - 0.25 - 0.09), rel=1e-15)
    assert horizon_radius(big, inner=True) == pytest.approx(2 * (1 - math.sqrt(1 - 0.25 - 0.09)), rel=1e-15)
    # Curvature scales as M^-2 (Kretschmann M^-4) at scaled points.
    points = spherical_points(10, 2.5, 9.0)
    scaled = points * np.array([2.0, 2.0, 1.0, 1.0])
    np.testing.assert_allclose(big.kretschmann(scaled), unit.kretschmann(points) / 16, rtol=1e-12)
    assert Kerr(spin=1.0).horizon == 1.0 and Kerr(spin=0.6, charge=0.8).horizon == 1.0  # extremal: allowed


def test_orbit_formulas_refuse_a_charged_hole():
    """Orbits, ISCO and geodesics are Kerr's: Kerr-Newman is refused with the reason, the metric itself works."""
    rn = Kerr(mass=1.0, spin=0.0, charge=0.5)
    for call in (
        lambda: isco_radius(rn),
        lambda: circular_photon_orbit(rn),
        lambda: integrate_geodesic(rn, np.array([0.0, 10.0, 1.0, 0.0, 0.0, 0.0]), energy=0.95, angular_momentum=3.5),
    ):
        with pytest.raises(ValueError, match=r"charge = 0\.5 is invalid for .*: must be 0 \(Kerr-Newman"):
            call()
    assert np.isfinite(rn.kretschmann([0.0, 3.0, 1.0, 0.0]))


def test_package_names_load_lazily():
    """Every public name resolves; the ray tracer's Kerr loads neither sympy nor the geodesics nor scipy."""
    import physml.simulators.spacetime as spacetime

    for name in spacetime.__all__:
        assert getattr(spacetime, name) is not None, name
    assert set(spacetime.__all__) <= set(dir(spacetime)) and "BlackHole" not in spacetime.__all__
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        spacetime.nope  # noqa: B018
    heavy = ("sympy", "scipy.integrate", "physml.simulators.spacetime.geodesic")
    code = f"import sys, physml.simulators.bh_images; print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


# -- images and the dataset family --------------------------------------------------------------


def test_meridional_slice_masks_the_horizon_and_shows_the_ergoregion():
    bh = Kerr(mass=1.1, spin=0.9, charge=1 / 11, chart="kerr-schild")  # a = 0.99, Q = 0.1 in length units
    axis = np.linspace(-5.9, 5.9, 60)
    image = meridional_slice(bh, axis, axis)
    xx, zz = np.meshgrid(axis, axis, indexing="ij")
    r, c = bh.radius_and_cos_theta(np.stack([0 * xx, xx, 0 * xx, zz], axis=-1))
    np.testing.assert_array_equal(image.outside, r > bh.horizon)
    ergo = r < bh.mass + np.sqrt(bh.mass**2 - (bh.a * c) ** 2 - bh.q**2)  # g_tt > 0 exactly there
    assert np.array_equal(image.fields["g_tt"] > 0, ergo & image.outside) and (ergo & image.outside).any()
    assert all(np.all(f[~image.outside] == 0) and np.all(np.isfinite(f)) for f in image.fields.values())
    assert image.ricci_residual < 1e-12 and image.kretschmann_error < 1e-12
    np.testing.assert_allclose(image.fields["g_ty"], -image.fields["g_ty"][::-1], atol=1e-15)  # odd in x


def test_family_builds_a_valid_static_dataset(tmp_path):
    from physml.datasets import BuildConfig, build_dataset, load_config, validate
    from physml.datasets.build import resolve_plan
    from physml.datasets.families import FAMILIES, register_family
    from physml.datasets.families.spacetime import SpacetimeFamily

    if "spacetime" not in FAMILIES:
        register_family(SpacetimeFamily())
    family = FAMILIES["spacetime"]
    shipped = load_config("spacetime-2d")
    _, plan, _ = resolve_plan(shipped)  # every shipped trajectory's parameters pass the simulator's checks
    assert len(plan) == shipped.n_trajectories and {p["pixels"] for p in plan.parameters} == {128}
    raw = copy.deepcopy(shipped.source)
    raw.update(n_trajectories=3, fixed={**raw["fixed"], "pixels": 16})
    config = BuildConfig.from_dict(raw)
    path = build_dataset(config, tmp_path / "spacetime.h5", workers=1, progress=False).path
    assert validate(path).ok
    _, plan, _ = resolve_plan(config)
    with h5py.File(path) as f:
        assert f.attrs["dataset_name"] == "spacetime"
        assert list(f["dimensions"].attrs["spatial_dims"]) == ["x", "z"]
        g_tt = f["t0_fields/g_tt"][...]
        assert g_tt.shape == (3, 16, 16) and not f["t0_fields/g_tt"].attrs["time_varying"]
        assert f["boundary_conditions/x_open"].attrs["bc_type"] == "OPEN"
        for name, check in family.checks.items():
            assert np.all(f["physml/verification"][name][...] <= check.threshold), name
    params = plan.parameters[1]
    axis = SpacetimeFamily.axis(params)
    expected = meridional_slice(SpacetimeFamily.black_hole(params), axis, axis).fields["g_tt"]
    np.testing.assert_array_equal(g_tt[1], expected.astype(g_tt.dtype))


def test_family_rejects_beyond_extremal_and_a_too_small_window():
    from physml.datasets.families.spacetime import SpacetimeFamily

    family = SpacetimeFamily()
    with pytest.raises(ValueError, match=r"charge = 0\.8 is invalid"):
        family.resolve({"spin": 0.7, "charge": 0.8})
    with pytest.raises(ValueError, match=r"extent = 2\.0 is invalid"):
        family.resolve({"extent": 2.0, "mass": 1.5})
