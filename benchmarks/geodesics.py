"""Kerr geodesics: orbits per second of physml's Numba DOP853 against scipy's ``solve_ivp(method="DOP853")``.

In one run on one machine, the same bound timelike orbits (Kerr a/M = 0.9,
periapsis 7-10 M, apoapsis 14-20 M, Carter Q 0-12 M^2, prograde), each
integrated over the same affine-parameter span (about 10 radial periods), by

  * scipy's ``solve_ivp(method="DOP853")`` on the same Hamiltonian equations
    written in plain Python (``math`` on scalars), and
  * physml's :func:`~physml.simulators.spacetime.geodesics.integrate_geodesic`
    (Numba, same tableau, error norm and controller, periapsides located on the way),

both at the same ``rtol``/``atol``. The script checks that the end states agree.
Prints a markdown table and the ratio; record it with the machine in docs/benchmarks.md.

    python benchmarks/geodesics.py [--rtol 1e-10] [--span 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _report import machine, markdown_table
from scipy.integrate import solve_ivp

from physml.simulators.spacetime import Kerr
from physml.simulators.spacetime.geodesics import integrate_geodesic
from physml.simulators.spacetime.orbits import bound_orbit_constants

SPIN = 0.9
ORBITS = [(7.0, 14.0, 0.0), (8.0, 16.0, 12.0), (9.0, 18.0, 6.0), (10.0, 20.0, 3.0),
          (7.5, 15.0, 9.0), (8.5, 17.0, 2.0), (9.5, 19.0, 10.0), (8.0, 14.0, 5.0)]  # fmt: skip


def python_rhs(m: float, a: float, e: float, ell: float):
    """``dy/dlambda`` of :func:`physml.simulators.spacetime.geodesic_equations.kerr_rhs`, in plain Python."""

    def f(_lam: float, y: np.ndarray) -> list[float]:
        r, th, pr, pth = y[1], y[2], y[4], y[5]
        s, c = math.cos(0.5 * math.pi - th), math.sin(0.5 * math.pi - th)
        s2 = s * s
        sigma = r * r + a * a * c * c
        delta = r * r - 2 * m * r + a * a
        ddelta = 2 * r - 2 * m
        ra2 = r * r + a * a
        w = 2 * m * r * (e * e * ra2 - 2 * a * e * ell) + a * a * ell * ell
        dw = 2 * m * (e * e * (3 * r * r + a * a) - 2 * a * e * ell)
        g = delta * pr * pr + pth * pth + ell * ell / s2 - w / delta
        dg_dr = ddelta * pr * pr - dw / delta + w * ddelta / (delta * delta)
        return [
            e + 2 * m * r * (e * ra2 - a * ell) / (sigma * delta),
            delta * pr / sigma,
            pth / sigma,
            (ell / s2 + a * (2 * m * r * e - a * ell) / delta) / sigma,
            -dg_dr / (2 * sigma) + g * r / (sigma * sigma),
            ell * ell * c / (s2 * s * sigma) - g * a * a * s * c / (sigma * sigma),
        ]

    return f


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
    parser.add_argument("--rtol", type=float, default=1e-10, help="relative tolerance of both (default: 1e-10)")
    parser.add_argument("--span", type=float, default=5000.0, help="affine span per orbit, in M (default: 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of physml; the best is kept")
    args = parser.parse_args()
    rtol, atol = args.rtol, args.rtol * 1e-2
    hole = Kerr(spin=SPIN)
    cases = []
    for r_p, r_a, q in ORBITS:
        energy, ang = bound_orbit_constants(hole, r_p, r_a, carter_q=q)
        y0 = np.array([0.0, r_p, 0.5 * math.pi, 0.0, 0.0, math.sqrt(q)])
        cases.append((y0, energy, ang))

    start = time.perf_counter()
    ref = [solve_ivp(python_rhs(hole.mass, hole.a, e, ell), (0.0, args.span), y0, method="DOP853", rtol=rtol, atol=atol)
           for y0, e, ell in cases]  # fmt: skip
    scipy_seconds = time.perf_counter() - start

    def physml_all():
        return [integrate_geodesic(hole, y0, energy=e, angular_momentum=ell, lam_end=args.span, rtol=rtol, atol=atol)
                for y0, e, ell in cases]  # fmt: skip

    ours = physml_all()
    ends, ref_ends = np.array([o.states[-1] for o in ours]), np.array([s.y[:, -1] for s in ref])
    difference = float(np.max(np.abs(ends - ref_ends) / np.maximum(np.abs(ref_ends), 1.0)))
    steps, ref_steps = sum(o.steps for o in ours), sum(s.t.size - 1 for s in ref)
    radial_periods = sum(o.periapsides.shape[0] for o in ours)
    drift = max(o.drift() for o in ours)
    physml_seconds = best_time(physml_all, args.repeat)

    n = len(cases)
    rate_scipy, rate_physml = n / scipy_seconds, n / physml_seconds
    print(machine())
    print(f"Kerr a/M = {SPIN}, {n} bound orbits, affine span {args.span:g} M each ({radial_periods} periapsides); "
          f"rtol = {rtol:g}, atol = {atol:g} (DOP853, same error norm and controller, both)")  # fmt: skip
    print(f"accepted steps: scipy {ref_steps}, physml {steps}; max end-state difference {difference:.2e} "
          f"(relative to max(|y|, 1)); physml drift of mu^2 and Q {drift:.1e}\n")  # fmt: skip
    rows = [
        ["scipy solve_ivp DOP853, Python RHS", f"{n}", f"{scipy_seconds:.2f} s", f"{rate_scipy:,.1f}",
         f"{ref_steps / scipy_seconds:,.0f}", "1"],
        ["physml Numba DOP853", f"{n}", f"{physml_seconds * 1e3:.2f} ms", f"{rate_physml:,.0f}",
         f"{steps / physml_seconds:,.0f}", f"{rate_physml / rate_scipy:,.0f}"],
    ]  # fmt: skip
    print(markdown_table(["integrator", "orbits", "time", "orbits/s", "steps/s", "speed-up"], rows))
    print(f"\nratio physml / scipy: {rate_physml / rate_scipy:,.0f}x")
    if difference > 1e-6:
        raise SystemExit("the two integrators disagree: the comparison is void")


if __name__ == "__main__":
    main()
