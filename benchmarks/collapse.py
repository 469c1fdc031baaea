"""Critical collapse: wall time of one near-critical run and grid-point updates per second, against NumPy.

One grid-point update is one radial point advanced by one full RK4 step (four
right-hand sides, each with an outward integration of the constraints for a, α).

  * physml: the Numba kernel ``advance`` as ``evolve`` calls it (one thread), on the grid used for γ
    (800 intervals, sinh stretch 9, r_max = 12, cfl = 1), one run at p = p* (1 + 1e-5) from t = 0 until
    it forms its black hole.
  * Reference: the same scheme in NumPy: derivatives, dissipation and RK4 with array slices; the
    constraint ODEs (sequential in r, no vector form) as a Python loop of RK4 steps. It is timed on
    a few steps and checked to agree with the kernel.

  * Refinement: the runs the 1e-12 bisection takes, with the grid zooming on the centre and local time
    steps (``Refinement``; base grid 400 intervals, stretch 6, cfl = 0.5), at p = p* (1 + 1e-5) and
    p = p* (1 + 1e-11); a fixed grid cannot do the second (its echoes fall below the central spacing).

    python benchmarks/collapse.py [--n 800] [--stretch 9] [--reference-steps 5]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _report import machine, markdown_table

from physml.simulators.collapse import Detection, RadialGrid, Refinement, evolve, gaussian_shell
from physml.simulators.collapse.method_of_lines import RECORDED, advance
from physml.simulators.collapse.run import _geometry
from physml.simulators.collapse.stencils import GHOSTS, ghosted

#: p* of the benchmark shell (Gaussian, r0 = 5, σ = 1, at rest) on the benchmark grid (bisection to 5e-8).
P_STAR = 0.04490070

#: p* on the refinement benchmark's base grid (n = 400, s = 6; bisection with refinement to 5e-13).
P_STAR_REFINED = 0.04490108842


def numpy_metric(Phi, Pi, geometry, h):
    """(H) and (S) by RK4 in x, one interval at a time (the ODE is sequential)."""
    m = Phi.shape[0]
    n = m - GHOSTS - 1
    r, drdx, r_mid, drdx_mid = geometry[0], geometry[1], geometry[4, :n], geometry[5, :n]
    rho = Phi**2 + Pi**2
    rho_mid = np.empty(n)
    j = np.arange(GHOSTS, m - 2)
    rho_mid[: n - 1] = (-rho[j - 1] + 9 * rho[j] + 9 * rho[j + 1] - rho[j + 2]) / 16
    jl = m - 2
    rho_mid[n - 1] = (rho[jl - 2] - 5 * rho[jl - 1] + 15 * rho[jl] + 5 * rho[jl + 1]) / 16

    def slopes(rr, dr, q, a):
        shear = 0.0 if rr == 0 else (a * a - 1) / (2 * rr)
        src = 2 * math.pi * rr * q
        return dr * a * (src - shear), dr * (src + shear)

    a, la = np.ones(m), np.zeros(m)
    for i in range(n):
        jj = GHOSTS + i
        k1 = slopes(r[jj], drdx[jj], rho[jj], a[jj])
        k2 = slopes(r_mid[i], drdx_mid[i], rho_mid[i], a[jj] + 0.5 * h * k1[0])
        k3 = slopes(r_mid[i], drdx_mid[i], rho_mid[i], a[jj] + 0.5 * h * k2[0])
        k4 = slopes(r[jj + 1], drdx[jj + 1], rho[jj + 1], a[jj] + h * k3[0])
        a[jj + 1] = a[jj] + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        la[jj + 1] = la[jj] + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    alpha = np.exp(la - la[-1] - np.log(a[-1]))
    return a, alpha


def numpy_rhs(state, geometry, h):
    phi, Phi, Pi = state.copy()
    for f, parity in ((phi, 1.0), (Phi, -1.0), (Pi, 1.0)):
        f[:GHOSTS] = parity * f[2 * GHOSTS : GHOSTS : -1]
    a, alpha = numpy_metric(Phi, Pi, geometry, h)
    r, inv_drdx, ko = geometry[0], geometry[2], geometry[3]
    flux_pi, flux_phi = alpha * Pi / a, alpha * Phi / a
    flux_r2 = r**2 * flux_phi
    for f, parity in ((flux_pi, 1.0), (flux_phi, -1.0), (flux_r2, -1.0)):
        f[:GHOSTS] = parity * f[2 * GHOSTS : GHOSTS : -1]

    def ddx(f):
        d = np.zeros_like(f)
        d[GHOSTS:-2] = (f[GHOSTS - 2 : -4] - 8 * f[GHOSTS - 1 : -3] + 8 * f[GHOSTS + 1 : -1] - f[GHOSTS + 2 :]) / (
            12 * h
        )
        d[-2] = (-f[-5] + 6 * f[-4] - 18 * f[-3] + 10 * f[-2] + 3 * f[-1]) / (12 * h)
        d[-1] = (3 * f[-5] - 16 * f[-4] + 36 * f[-3] - 48 * f[-2] + 25 * f[-1]) / (12 * h)
        return d

    out = np.zeros_like(state)
    out[0] = flux_pi
    out[1] = ddx(flux_pi) * inv_drdx
    d_r2 = ddx(flux_r2)
    out[2, GHOSTS + 1 :] = d_r2[GHOSTS + 1 :] * inv_drdx[GHOSTS + 1 :] / r[GHOSTS + 1 :] ** 2
    out[2, GHOSTS] = 3 * ddx(flux_phi)[GHOSTS] * inv_drdx[GHOSTS]
    c = alpha[-1] / a[-1]
    for v, f in enumerate((phi, Phi, Pi)):
        slope = (3 * f[-5] - 16 * f[-4] + 36 * f[-3] - 48 * f[-2] + 25 * f[-1]) / (12 * h)
        out[v, -1] = -c * (slope * inv_drdx[-1] + f[-1] / r[-1])
        sixth = f[:-6] - 6 * f[1:-5] + 15 * f[2:-4] - 20 * f[3:-3] + 15 * f[4:-2] - 6 * f[5:-1] + f[6:]
        out[v, GHOSTS:-3] += ko[GHOSTS:-3] * sixth
    out[:, :GHOSTS] = 0.0
    return out


def numpy_advance(state, geometry, h, dt, n_steps):
    y = state.copy()
    for _ in range(n_steps):
        k1 = numpy_rhs(y, geometry, h)
        k2 = numpy_rhs(y + 0.5 * dt * k1, geometry, h)
        k3 = numpy_rhs(y + 0.5 * dt * k2, geometry, h)
        k4 = numpy_rhs(y + dt * k3, geometry, h)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=800, help="grid intervals (default: 800)")
    parser.add_argument("--stretch", type=float, default=9.0, help="sinh stretch (default: 9)")
    parser.add_argument("--reference-steps", type=int, default=5, help="NumPy steps timed (default: 5)")
    args = parser.parse_args()
    grid = RadialGrid(n=args.n, r_max=12.0, stretch=args.stretch)
    data = gaussian_shell(amplitude=P_STAR * (1 + 1e-5), center=5.0, width=1.0)

    evolve(grid, data, t_final=0.01, cfl=1.0)  # compile (or load from cache)
    start = time.perf_counter()
    run = evolve(grid, data, t_final=40.0, cfl=1.0, detection=Detection())
    wall = time.perf_counter() - start
    steps = len(run.central["t"])
    updates = steps * (grid.n + 1)

    phi, Phi, Pi = data.fields(grid.r)
    state = np.stack([ghosted(phi, 1.0), ghosted(Phi, -1.0), ghosted(Pi, 1.0)])
    geometry = _geometry(grid, 0.5)
    fast = state.copy()
    m = state.shape[1]
    record = np.empty((args.reference_steps, len(RECORDED)))
    advance(
        fast,
        geometry,
        grid.h,
        run.dt,
        args.reference_steps,
        0.0,
        np.array([0.0, np.nan, 0.0, 0.0, run.dt]),
        np.array([0.99, 0.0, 0.0]),
        GHOSTS + 1,
        record,
        np.zeros(m),
        np.zeros(m),
    )
    start = time.perf_counter()
    slow = numpy_advance(state, geometry, grid.h, run.dt, args.reference_steps)
    reference = (time.perf_counter() - start) / (args.reference_steps * (grid.n + 1))
    assert np.allclose(fast[:, GHOSTS:], slow[:, GHOSTS:], rtol=1e-10, atol=1e-13), "NumPy reference disagrees"

    print(machine())
    print(
        f"grid: {grid.describe()}; run: {data.describe()}, {run.outcome} at t = {run.t_end:.3f}, "
        f"M = {run.black_hole_mass:.4g}"
    )
    rows = [
        [
            "near-critical run (FD4 + RK4, constraints each stage)",
            f"{grid.n + 1} pts × {steps} steps",
            f"{wall:.2f} s",
            f"{updates / wall / 1e6:.2f} M/s",
            f"{1 / reference / 1e6:.4f} M/s",
            f"**{reference * updates / wall:.0f}×**",
        ]
    ]
    print(markdown_table(["run", "work", "physml time", "physml updates/s", "NumPy updates/s", "physml / NumPy"], rows))

    base = RadialGrid(n=400, r_max=12.0, stretch=6.0)
    rows = []
    for eps in (1e-5, 1e-11):
        shell = gaussian_shell(amplitude=P_STAR_REFINED * (1 + eps), center=5.0, width=1.0)
        start = time.perf_counter()
        zoomed = evolve(base, shell, t_final=40.0, cfl=0.5, refinement=Refinement())
        seconds = time.perf_counter() - start
        finest = max(s for _, s, _ in zoomed.regrids) if zoomed.regrids else base.stretch
        work = f"{len(zoomed.central['t'])} steps, {len(zoomed.regrids)} regrids (s ≤ {finest:g})"
        rows.append([f"p*(1 + {eps:g})", work, f"{seconds:.2f} s", f"M = {zoomed.black_hole_mass:.3g}",
                     f"{wall / seconds:.0f}×"])  # fmt: skip
    print(f"refinement: base grid {base.describe()}")
    print(markdown_table(["run", "work", "time", "outcome", "fixed-grid 1e-5 run / this"], rows))


if __name__ == "__main__":
    main()
