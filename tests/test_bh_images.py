"""Kerr ray tracing: reference radii, the shadow against sqrt(27) M and Bardeen's curve, conservation laws,
disk-image symmetries and Doppler asymmetry, bad inputs, the dataset family and the CLI parser.

Tolerances come from the method. The shadow edge from bisection on camera rays
is within the bisection tolerance ``tol`` of the traced captured/escaping
transition, and the tracing moves that transition by the integrator's global
error: per step the error is held below ``rtol |y|`` (RMS), a ray takes a few
hundred steps, and the global error of such a run is a small multiple of
``rtol`` (measured: 1-2 ``rtol rho``; bound used: ``10 rtol rho``). Constants of
motion drift by at most the sum of the local errors: ``n_steps rtol`` relative.

Image-plane coordinates are Bardeen's celestial coordinates, i.e. the apparent
impact parameters of a distant observer; they are constants of the ray, so the
shadow in that plane is exactly the critical curve (``sqrt(27) M`` for
Schwarzschild) whatever the camera radius ``r_obs`` where tracing starts. No
finite-distance correction applies (a static observer at ``r_obs`` would see
the angle ``sin theta = b sqrt(1 - 2M/r_obs) / r_obs`` for impact parameter ``b``).
"""

from __future__ import annotations

import copy
import dataclasses
import math

import h5py
import numpy as np
import pytest

from physml.simulators.bh_images import (
    CAPTURED,
    DISK,
    ESCAPED,
    SCHWARZSCHILD_SHADOW_RADIUS,
    Camera,
    Disk,
    Kerr,
    Scene,
    Tolerance,
    carter_constant,
    critical_curve,
    critical_radius,
    disk_isco,
    disk_redshift,
    null_hamiltonian,
    render,
    shadow_boundary,
    trace_path,
)
from physml.simulators.spacetime.kerr_orbits import circular_photon_orbit, circular_ut, horizon_radius, isco_radius

#: Global error of a DP5 run with per-step control at ``rtol``, in units of ``rtol |y|`` (see module docstring).
GLOBAL_ERROR_FACTOR = 10.0


def scene(spin: float = 0.0, inclination: float = 60.0, *, disk: Disk | None = None, **camera) -> Scene:
    return Scene(Kerr(1.0, spin), Camera(inclination=inclination, **camera), disk)


# -- closed forms -------------------------------------------------------------------


def test_reference_radii_of_kerr():
    """BPT 1972: ISCO 6M (a = 0), 1M / 9M (a = M, prograde / retrograde); photon orbits 3M, 1M / 4M.

    The disk turns about +z: its ISCO is the prograde one for spin >= 0, the retrograde one for spin < 0.
    """
    assert disk_isco(Kerr(spin=0.0)) == pytest.approx(6.0, abs=1e-14)
    assert disk_isco(Kerr(spin=1.0)) == pytest.approx(1.0, abs=1e-12)
    assert disk_isco(Kerr(spin=-1.0)) == pytest.approx(9.0, abs=1e-12)
    assert circular_photon_orbit(Kerr(spin=0.0)) == pytest.approx(3.0, abs=1e-14)
    assert circular_photon_orbit(Kerr(spin=1.0)) == pytest.approx(1.0, abs=1e-12)
    assert circular_photon_orbit(Kerr(spin=-1.0), prograde=False) == pytest.approx(4.0, abs=1e-12)
    assert horizon_radius(Kerr()) == 2.0 and horizon_radius(Kerr(spin=0.6)) == pytest.approx(1.8, abs=1e-15)
    bh = Kerr(mass=2.0, spin=0.5)
    assert disk_isco(bh) == pytest.approx(2 * isco_radius(Kerr(spin=0.5)), rel=1e-15)
    assert circular_photon_orbit(bh) < 6.0 < circular_photon_orbit(bh, prograde=False)


@pytest.mark.parametrize("spin", [0.0, 0.5, 0.99, -0.7])
def test_emitter_four_velocity_and_redshift(spin):
    """u^t of a Keplerian orbit, BPT eq. (2.12)-(2.13): (r^1.5 + a) / (r^0.75 sqrt(r^1.5 - 3 r^0.5 + 2a))."""
    r = np.linspace(disk_isco(Kerr(spin=spin)), 30.0, 7)
    closed = (r**1.5 + spin) / (r**0.75 * np.sqrt(r**1.5 - 3 * r**0.5 + 2 * spin))
    ut = np.array([circular_ut(x, spin) for x in r])
    np.testing.assert_allclose(ut, closed, rtol=1e-13)
    # A photon with no angular momentum sees only time dilation and gravity; for a = 0, g = sqrt(1 - 3M/r).
    g0 = np.array([disk_redshift(x, spin, 0.0) for x in r])
    np.testing.assert_allclose(g0, 1 / closed, rtol=1e-13)
    if spin == 0.0:
        np.testing.assert_allclose(g0, np.sqrt(1 - 3 / r), rtol=1e-13)


def test_critical_curve_forms_agree_and_reduce_to_schwarzschild():
    bh = Kerr(spin=0.9)
    alpha, beta = critical_curve(bh, 60.0, n=201)
    rho = critical_radius(bh, 60.0, np.arctan2(beta, alpha))
    np.testing.assert_allclose(np.hypot(alpha, beta), rho, rtol=1e-12)
    # The shadow's prograde side is flattened towards the centre: alpha_min ~ -2.5 M, alpha_max ~ 6.4 M here.
    assert alpha.min() > -3.5 and alpha.max() > 6.0
    # a -> 0: the circle of radius sqrt(27) M, shifted by O(a).
    small = critical_radius(Kerr(spin=1e-6), 45.0, np.linspace(0, 2 * np.pi, 9))
    np.testing.assert_allclose(small, SCHWARZSCHILD_SHADOW_RADIUS, atol=1e-5)


def test_old_names_are_deprecated_aliases():
    """KerrBlackHole, and the closed forms of spin alone, warn and give what the new names give."""
    from physml.simulators.bh_images import KerrBlackHole, emitter_ut
    from physml.simulators.bh_images import kerr as old

    with pytest.warns(DeprecationWarning, match="KerrBlackHole is deprecated .* use physml.simulators.spacetime.Kerr"):
        assert KerrBlackHole(mass=2.0, spin=0.5) == Kerr(mass=2.0, spin=0.5)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=r"spin = 1.0 is invalid for ray tracing"):
        KerrBlackHole(spin=1.0)  # the old class's range
    for spin in (0.7, -0.7):
        with pytest.warns(DeprecationWarning, match=r"isco_radius\(spin\) is deprecated"):
            assert old.isco_radius(spin) == disk_isco(Kerr(spin=spin))
        with pytest.warns(DeprecationWarning, match="circular_photon_orbit"):
            assert old.circular_photon_orbit(spin) == circular_photon_orbit(Kerr(spin=spin), prograde=spin >= 0)
        with pytest.warns(DeprecationWarning, match="emitter_ut"):
            assert emitter_ut(8.0, spin) == circular_ut(8.0, spin)
    with pytest.warns(DeprecationWarning, match="horizon_radius"):
        assert old.horizon_radius(0.6) == horizon_radius(Kerr(spin=0.6))


# -- the shadow from camera rays --------------------------------------------------------


@pytest.mark.parametrize("r_obs", [1000.0, 30.0])
def test_schwarzschild_shadow_radius_is_sqrt27(r_obs):
    """sqrt(27) M = 5.196152 M (far better than the 0.1 % asked), for a far and a near camera alike."""
    tol, tolerance = 1e-9, Tolerance(rtol=1e-10, atol=1e-12)
    edge = shadow_boundary(scene(0.0, 60.0, r_obs=r_obs, fov=10.0), n_directions=12, tol=tol, tolerance=tolerance)
    bound = tol + GLOBAL_ERROR_FACTOR * tolerance.rtol * SCHWARZSCHILD_SHADOW_RADIUS
    assert np.max(np.abs(edge.rho - SCHWARZSCHILD_SHADOW_RADIUS)) <= bound
    assert abs(SCHWARZSCHILD_SHADOW_RADIUS - 5.196152) < 5e-7


def _bardeen_deviation(spin: float, inclination: float, rtol: float, n_directions: int, tol: float) -> tuple:
    edge = shadow_boundary(
        scene(spin, inclination), n_directions=n_directions, tol=tol, tolerance=Tolerance(rtol=rtol, atol=rtol / 100)
    )
    exact = critical_radius(Kerr(spin=spin), inclination, edge.psi)
    return np.max(np.abs(edge.rho - exact)), tol + GLOBAL_ERROR_FACTOR * rtol * exact.max()


@pytest.mark.parametrize(
    ("spin", "inclination"), [(0.5, 17.0), (0.5, 90.0), (0.9, 60.0), (0.99, 17.0), (0.99, 90.0), (-0.9, 60.0)]
)
def test_kerr_shadow_matches_bardeen_curve(spin, inclination):
    deviation, bound = _bardeen_deviation(spin, inclination, rtol=1e-8, n_directions=16, tol=1e-9)
    assert deviation <= bound


def test_shadow_edge_converges_with_the_integrator_tolerance():
    """The traced edge approaches Bardeen's curve as rtol shrinks (about linearly: 100x rtol, >= 10x closer)."""
    coarse, _ = _bardeen_deviation(0.99, 60.0, rtol=1e-8, n_directions=8, tol=1e-11)
    fine, bound = _bardeen_deviation(0.99, 60.0, rtol=1e-10, n_directions=8, tol=1e-11)
    assert fine <= bound and fine < coarse / 10


@pytest.mark.slow
@pytest.mark.parametrize("spin", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("inclination", [17.0, 60.0, 90.0, 150.0])
def test_kerr_shadow_matches_bardeen_curve_finely(spin, inclination):
    deviation, bound = _bardeen_deviation(spin, inclination, rtol=1e-11, n_directions=64, tol=1e-10)
    assert deviation <= bound


# -- conservation -----------------------------------------------------------------------


@pytest.mark.parametrize("rtol", [1e-8, 1e-10])
def test_null_condition_and_carter_constant_are_conserved(rtol):
    """A ray 1e-3 M outside the critical curve winds round the photon shell; H and Q drift <= n_steps rtol."""
    sc = scene(0.9, 60.0)
    psi = 1.0
    rho = critical_radius(sc.black_hole, 60.0, psi) + 1e-3
    path = trace_path(sc, rho * math.cos(psi), rho * math.sin(psi), tolerance=Tolerance(rtol, rtol / 100), disk=False)
    assert path.status == ESCAPED and path.states[:, 0].min() < 3.5  # it came close to the photon orbits
    n = len(path.affine)
    hamiltonian = np.abs(null_hamiltonian(path.states, 0.9, path.xi))
    carter = carter_constant(path.states, 0.9, path.xi)
    assert hamiltonian.max() <= n * rtol
    assert np.max(np.abs(carter / carter[0] - 1)) <= n * rtol
    # Q at the camera is Bardeen's eta = beta^2 + (alpha^2 - a^2) cos^2 i.
    alpha, beta = rho * math.cos(psi), rho * math.sin(psi)
    eta = beta**2 + (alpha**2 - 0.81) * math.cos(math.radians(60.0)) ** 2
    assert carter[0] == pytest.approx(eta, rel=1e-12)


# -- disk images ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schwarzschild_image():
    return render(scene(0.0, 60.0, fov=30.0, resolution=48, disk=Disk(outer=15.0)))


def test_approaching_side_is_blueshifted_and_brighter(schwarzschild_image):
    """The disk turns about +z, so gas approaches on the alpha < 0 side (photons with L = xi > 0)."""
    image = schwarzschild_image
    left, right = image.alpha < 0, image.alpha > 0
    assert np.nanmax(image.redshift[:, left]) > 1.0 > np.nanmax(image.redshift[:, right])
    assert image.intensity[:, left].sum() > 2 * image.intensity[:, right].sum()


def test_schwarzschild_geometry_is_mirror_symmetric(schwarzschild_image):
    """For a = 0 a ray's path depends on xi^2 only: where it meets the disk is symmetric in alpha, its g is not."""
    image = schwarzschild_image
    np.testing.assert_array_equal(image.rays.status, image.rays.status[:, ::-1])
    np.testing.assert_allclose(image.radius, image.radius[:, ::-1], rtol=1e-12, equal_nan=True)
    assert not np.allclose(image.redshift, image.redshift[:, ::-1], equal_nan=True)


def test_shadow_pixels_are_dark_and_inside_the_critical_curve(schwarzschild_image):
    image = schwarzschild_image
    status = image.rays.status
    rho = np.hypot(*np.meshgrid(image.alpha, image.beta))
    assert np.all(image.intensity[status != DISK] == 0.0) and np.all(image.intensity[status == DISK] > 0.0)
    assert np.all(rho[status == CAPTURED] < SCHWARZSCHILD_SHADOW_RADIUS)
    assert np.all(rho[status == ESCAPED] > SCHWARZSCHILD_SHADOW_RADIUS)
    assert np.count_nonzero(status == CAPTURED) > 0


def test_view_from_below_is_the_mirror_image():
    """Reflection through the equator: inclination i -> 180 - i is beta -> -beta, for any spin."""
    disk = Disk(outer=12.0)
    above = render(scene(0.7, 60.0, fov=24.0, resolution=32, disk=disk))
    below = render(scene(0.7, 120.0, fov=24.0, resolution=32, disk=disk))
    np.testing.assert_array_equal(above.rays.status, below.rays.status[::-1])
    np.testing.assert_allclose(above.intensity, below.intensity[::-1], rtol=1e-6, atol=1e-12)


# -- bad inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: scene(1.0), r"spin = 1.0 is invalid for ray tracing: must be in \(-1, 1\), \|a\| < M"),
        (lambda: scene(-1.0), r"spin = -1.0 is invalid for ray tracing"),
        (lambda: Scene(Kerr(spin=0.5, charge=0.3)), r"charge = 0.3 is invalid for ray tracing: must be 0"),
        (lambda: Scene("kerr"), r"black_hole = 'kerr' is invalid: must be a Kerr"),
        (lambda: Kerr(spin=-1.2), r"spin = -1.2 is invalid"),
        (lambda: Kerr(mass=0.0), r"mass = 0.0 is invalid: must be finite and > 0"),
        (lambda: Kerr(mass=-1.0), r"mass = -1.0 is invalid"),
        (lambda: Kerr(mass=math.nan), r"mass = nan is invalid"),
        (lambda: critical_curve(Kerr(charge=0.5), 60.0), r"charge = 0.5 is invalid for the critical curve"),
        (lambda: Camera(inclination=0.0), r"inclination = 0.0 is invalid: must be in \(0, 180\) degrees"),
        (lambda: Camera(inclination=180.0), r"inclination = 180.0 is invalid"),
        (lambda: Camera(resolution=4), r"resolution = 4 is invalid: must be an int or \(nx, ny\) of ints >= 8"),
        (lambda: Camera(resolution=(64, 2.5)), r"resolution = \(64, 2.5\) is invalid"),
        (lambda: Camera(fov=0.0), r"fov = 0.0 is invalid: must be finite and > 0"),
        (lambda: scene(0.0, r_obs=2.9), r"r_obs = 2.9 is invalid: observer inside the photon sphere"),
        (lambda: scene(0.9, r_obs=3.5), r"r_obs = 3.5 is invalid: observer inside the photon sphere"),
        (lambda: scene(0.0, r_obs=100.0, fov=80.0), r"fov = 80.0 is invalid: the image plane's half-diagonal"),
        (lambda: scene(0.0, disk=Disk(inner=2.5)), r"disk inner = 2.5 is invalid: must be > 3, the circular photon"),
        (lambda: scene(0.0, disk=Disk(inner=12.0, outer=10.0)), r"disk outer = 10.0 is invalid"),
        (lambda: Disk(outer=-5.0), r"disk outer = -5.0 is invalid"),
        (lambda: Tolerance(rtol=0.5), r"rtol = 0.5 is invalid"),
        (lambda: shadow_boundary(scene(0.0), bracket=(6.0, 9.0)), r"bracket = \(6.0, 9.0\) is invalid"),
    ],
)
def test_bad_input_raises_with_the_reason(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# -- dataset family and CLI -------------------------------------------------------------


def test_family_builds_a_valid_static_image_dataset(tmp_path):
    from physml.datasets import BuildConfig, build_dataset, get_family, load_config, validate
    from physml.datasets.build import resolve_plan

    shipped = load_config("bh-images")
    _, plan, _ = resolve_plan(shipped)  # every shipped trajectory's parameters pass the simulator's checks
    assert len(plan) == shipped.n_trajectories and {p["resolution"] for p in plan.parameters} == {128}
    raw = copy.deepcopy(shipped.source)
    raw.update(n_trajectories=3, fixed={**raw["fixed"], "resolution": 16})
    config = BuildConfig.from_dict(raw)
    path = build_dataset(config, tmp_path / "bh.h5", workers=1, progress=False).path
    assert validate(path).ok
    family = get_family("bh_images")
    _, plan, _ = resolve_plan(config)
    with h5py.File(path) as f:
        assert f.attrs["dataset_name"] == "bh_images"
        assert list(f["dimensions"].attrs["spatial_dims"]) == ["alpha", "beta"]
        intensity = f["t0_fields/intensity"][...]
        assert intensity.shape == (3, 16, 16) and not f["t0_fields/intensity"].attrs["time_varying"]
        assert f["boundary_conditions/alpha_open"].attrs["bc_type"] == "OPEN"
        for name, check in family.checks.items():
            assert np.all(f["physml/verification"][name][...] <= check.threshold), name
    expected = render(family.scene(plan.parameters[1]), tolerance=Tolerance(1e-8, 1e-10)).intensity
    np.testing.assert_array_equal(intensity[1], expected.T.astype(intensity.dtype))  # stored as float32


def test_family_shadow_check_catches_a_misclassified_pixel(schwarzschild_image):
    """The verification figure is 0 for the traced image and flags a ray marked captured outside the shadow."""
    from physml.datasets.families.bh_images import BHImagesFamily

    image = schwarzschild_image
    assert BHImagesFamily.verify(image)["shadow_edge_error"] == 0.0
    status = image.rays.status.copy()
    row, col = np.argwhere(image.rays.status == ESCAPED)[0]
    status[row, col] = CAPTURED
    broken = dataclasses.replace(image, rays=dataclasses.replace(image.rays, status=status))
    rho = math.hypot(image.alpha[col], image.beta[row])
    figure = BHImagesFamily.verify(broken)["shadow_edge_error"]
    assert figure == pytest.approx(rho / SCHWARZSCHILD_SHADOW_RADIUS - 1, rel=1e-9)
    assert figure > BHImagesFamily.checks["shadow_edge_error"].threshold


def test_family_rejects_an_extremal_spin():
    from physml.datasets import get_family

    with pytest.raises(ValueError, match=r"spin = 1\.0 is invalid"):
        get_family("bh_images").resolve({"spin": 1.0})


def test_cli_writes_the_image_and_a_plot(tmp_path, capsys):
    from physml.cli import main
    from physml.datasets import read_parameters, validate

    out, plot = tmp_path / "bh.h5", tmp_path / "bh.png"
    argv = ["simulate", "bh-image", "--spin", "0.9", "--inclination", "70", "--resolution", "16", "--disk-inner", "3"]
    assert main([*argv, "--out", str(out), "--plot", str(plot)]) == 0 and plot.stat().st_size > 0
    assert "rays:" in capsys.readouterr().out
    with h5py.File(out) as f:  # a one-image file of the bh_images family, fields on (alpha, beta)
        assert f.attrs["dataset_name"] == "bh_images" and f["t0_fields/intensity"].shape == (1, 16, 16)
        intensity = f["t0_fields/intensity"][0]
        assert np.all(np.isfinite(intensity)) and intensity.max() > 0
    (params,) = read_parameters(out)
    assert (params["spin"], params["inclination"], params["disk"]) == (0.9, 70.0, "thin")
    # --disk-inner is a radius in units of M; the family keeps it in ISCO radii.
    assert params["disk_inner"] * disk_isco(Kerr(spin=0.9)) == pytest.approx(3.0, rel=1e-12)
    assert validate(out).ok
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "bh-image", "--r-obs", "2.5", "--out", str(tmp_path / "inside.h5")])
    assert exit_info.value.code == 2 and "observer inside the photon sphere" in capsys.readouterr().err
    assert main(["simulate", "bh-image", "--resolution", "16", "--no-disk", "--plot", str(plot)]) == 0
