"""Kerr ray tracer: rays per second of physml's Numba kernel against scipy's solve_ivp, and image time.

In one run on one machine:
  * the same rays (an 8 x 8 grid over a 30 M image plane, a/M = 0.9, i = 60 deg,
    camera at 1000 M, no disk) traced by scipy's ``solve_ivp(method="RK45")``
    on the same Hamiltonian equations written in Python, and by physml;
    both use the Dormand-Prince 5(4) pair with the same error norm and
    controller at the same ``rtol``/``atol``, and both end a ray at the same
    events (capture radius, or back out at the camera radius), located within
    the step; the script checks that every ray has the same fate and that the
    end states agree;
  * physml's rate on a 128 x 128 grid over the same plane (all cores);
  * a 512 x 512 image with the disk at the default tolerance.
Prints a markdown table and the ratio; record it with the machine in docs/benchmarks.md.

    python benchmarks/raytrace.py [--rtol 1e-8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _report import machine, markdown_table
from scipy.integrate import solve_ivp

from physml.simulators.bh_images import CAPTURED, ESCAPED, Camera, Disk, Kerr, Scene, Tolerance, render
from physml.simulators.bh_images.geodesic import initial_state
from physml.simulators.bh_images.tracer import _radii, trace_rays

SPIN, INCLINATION, FOV, R_OBS = 0.9, 60.0, 30.0, 1000.0


def python_rhs(a: float, xi: float):
    """``dy/dlambda`` of :func:`physml.simulators.bh_images.geodesic.null_rhs`, in plain Python."""

    def f(_lam: float, y: np.ndarray) -> list[float]:
        r, th, pr, pth = y
        s, c = math.sin(th), math.cos(th)
        s2 = s * s
        sigma = r * r + a * a * c * c
        delta = r * r - 2 * r + a * a
        w = r * r + a * a - a * xi
        v = a * a * s2 - 2 * a * xi + xi * xi / s2
        dv = 2 * a * a * s * c - 2 * xi * xi * c / (s2 * s)
        big_f = delta * pr * pr + pth * pth - w * w / delta + v
        df_dr = (2 * r - 2) * (pr * pr + w * w / (delta * delta)) - 4 * r * w / delta
        return [
            delta * pr / sigma,
            pth / sigma,
            -df_dr / (2 * sigma) + big_f * r / (sigma * sigma),
            -dv / (2 * sigma) - big_f * a * a * c * s / (sigma * sigma),
        ]

    return f


def scipy_trace(alpha: np.ndarray, beta: np.ndarray, r_capture: float, r_escape: float, tol: Tolerance):
    """Fates and end states of the rays with ``solve_ivp(RK45)`` and terminal events."""

    def captured(_lam, y):
        return y[0] - r_capture

    def escaped(_lam, y):
        return y[0] - r_escape

    captured.terminal, captured.direction = True, -1
    escaped.terminal, escaped.direction = True, 1
    status, ends = [], []
    for al, be in zip(alpha, beta):
        y0 = np.empty(4)
        xi = initial_state(al, be, SPIN, math.radians(INCLINATION), R_OBS, y0)
        sol = solve_ivp(python_rhs(SPIN, xi), (0.0, 1e6), y0, method="RK45", rtol=tol.rtol, atol=tol.atol,
                        events=(captured, escaped))  # fmt: skip
        if sol.y_events[0].size:
            status.append(CAPTURED)
            ends.append(sol.y_events[0][0])
        else:
            status.append(ESCAPED)
            ends.append(sol.y_events[1][0])
    return np.array(status), np.array(ends)


def best_time(fn, repeat: int) -> float:
    fn()  # warm-up: compilation or cache load
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance of both (default: 1e-8)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions; the best is kept (default: 3)")
    args = parser.parse_args()
    tol = Tolerance(rtol=args.rtol, atol=args.rtol / 100)
    scene = Scene(Kerr(spin=SPIN), Camera(inclination=INCLINATION, fov=FOV, r_obs=R_OBS), disk=None)
    r_capture, *_ = _radii(scene, disk=False)
    small = np.linspace(-FOV / 2, FOV / 2, 8)
    alpha, beta = (g.ravel() for g in np.meshgrid(small, small))

    start = time.perf_counter()
    ref_status, ref_end = scipy_trace(alpha, beta, r_capture, R_OBS, tol)
    scipy_seconds = time.perf_counter() - start

    def physml_trace(a, b):
        return trace_rays(scene, a, b, tolerance=tol, disk=False, r_escape=R_OBS)

    rays = physml_trace(alpha, beta)
    same_fate = bool(np.array_equal(rays.status, ref_status))
    # End states: r is the event radius in both; compare theta, p_r, p_theta relative to their scale.
    scale = np.maximum(np.abs(ref_end), 1.0)
    end_difference = float(np.max(np.abs(rays.end - ref_end) / scale))
    physml_small = best_time(lambda: physml_trace(alpha, beta), args.repeat)
    large = np.linspace(-FOV / 2, FOV / 2, 128)
    la, lb = np.meshgrid(large, large)
    physml_large = best_time(lambda: physml_trace(la, lb), args.repeat)

    image_scene = Scene(Kerr(spin=SPIN), Camera(inclination=INCLINATION, fov=FOV, resolution=512, r_obs=R_OBS), Disk())
    render(Scene(image_scene.black_hole, Camera(inclination=INCLINATION, resolution=8), Disk()))  # compile/cache
    start = time.perf_counter()
    image = render(image_scene)
    image_seconds = time.perf_counter() - start

    rate_scipy = len(alpha) / scipy_seconds
    rate_small, rate_large = len(alpha) / physml_small, la.size / physml_large
    print(machine())
    print(f"Kerr a/M = {SPIN}, i = {INCLINATION} deg, camera at {R_OBS:g} M, fov {FOV:g} M; "
          f"rtol = {tol.rtol:g}, atol = {tol.atol:g} (DP5(4), same error norm, both)")  # fmt: skip
    print(f"same fate for all {len(alpha)} rays: {same_fate}; max end-state difference {end_difference:.2e} "
          f"(relative to max(|y|, 1)); mean steps per ray (physml) {rays.steps.mean():.0f}\n")  # fmt: skip
    rows = [
        ["scipy solve_ivp RK45, Python RHS", f"{len(alpha)}", f"{scipy_seconds:.2f} s", f"{rate_scipy:,.0f}", "1"],
        ["physml Numba, same rays", f"{len(alpha)}", f"{physml_small * 1e3:.2f} ms", f"{rate_small:,.0f}",
         f"{rate_small / rate_scipy:,.0f}"],
        ["physml Numba, 128 x 128 grid", f"{la.size}", f"{physml_large:.3f} s", f"{rate_large:,.0f}",
         f"{rate_large / rate_scipy:,.0f}"],
        ["physml render, 512 x 512 with disk", f"{image.intensity.size}", f"{image_seconds:.2f} s",
         f"{image.intensity.size / image_seconds:,.0f}", ""],
    ]  # fmt: skip
    print(markdown_table(["tracer", "rays", "time", "rays/s", "speed-up"], rows))
    print(f"\nratio physml / scipy (128 x 128 grid rate over scipy rate): {rate_large / rate_scipy:,.0f}x")
    if not same_fate or end_difference > 1e-4:
        raise SystemExit("the two tracers disagree: the comparison is void")


if __name__ == "__main__":
    main()
