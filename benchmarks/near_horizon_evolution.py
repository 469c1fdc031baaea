"""Perturbation evolution: grid-point updates per second of both integrators, against NumPy.

One grid-point update is one point advanced by one full step: a null cell of
the Gundlach–Price–Pullin scheme, or one ``r*`` point advanced by a whole RK4
step (four stages) in the method of lines.

  * physml: the Numba kernels ``march_double_null`` and ``mol_advance`` as
    ``evolve`` calls them (one thread).
  * Reference: the same schemes in vectorised NumPy. The double-null march is
    recursive along each row, so NumPy sweeps the anti-diagonals ``i + j = m``
    (all cells on one are independent); the method of lines is written with
    array slices. Both references are checked to give the same numbers.

    python benchmarks/near_horizon_evolution.py [--h 0.1] [--t-final 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _report import machine, markdown_table

from physml.simulators.near_horizon import Perturbation, gaussian_pulse
from physml.simulators.near_horizon.double_null import march_double_null
from physml.simulators.near_horizon.method_of_lines import mol_advance


def numpy_double_null(on_u0, on_v0, potential, h):
    """The GPP scheme by anti-diagonals; returns the full ``(n_u, n_v)`` field."""
    n_u, n_v = len(on_v0), len(on_u0)
    psi = np.zeros((n_u, n_v))
    psi[0], psi[:, 0] = on_u0, on_v0
    c = h * h / 8
    for m in range(2, n_u + n_v - 1):  # cells whose north corner (i, j) has i + j = m
        i = np.arange(max(1, m - n_v + 1), min(n_u - 1, m - 1) + 1)
        j = m - i
        west, east, south = psi[i, j - 1], psi[i - 1, j], psi[i - 1, j - 1]
        psi[i, j] = west + east - south - c * potential[(j - 1) - (i - 1) + n_u - 1] * (west + east)
    return psi


def numpy_mol(psi, pi, potential, h, dt, n_steps):
    """RK4 with the fourth-order Laplacian in NumPy slices (the two end points on each side fixed)."""
    c = 1 / (12 * h * h)

    def rhs(p, q):
        d2 = np.zeros_like(p)
        d2[2:-2] = (-p[:-4] + 16 * p[1:-3] - 30 * p[2:-2] + 16 * p[3:-1] - p[4:]) * c
        dq = d2 - potential * p
        dq[[0, 1, -2, -1]] = 0
        dp = q.copy()
        dp[[0, 1, -2, -1]] = 0
        return dp, dq

    for _ in range(n_steps):
        k1 = rhs(psi, pi)
        k2 = rhs(psi + 0.5 * dt * k1[0], pi + 0.5 * dt * k1[1])
        k3 = rhs(psi + 0.5 * dt * k2[0], pi + 0.5 * dt * k2[1])
        k4 = rhs(psi + dt * k3[0], pi + dt * k3[1])
        psi = psi + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        pi = pi + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return psi, pi


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--h", type=float, default=0.1, help="grid spacing (default: 0.1 M)")
    parser.add_argument("--t-final", type=float, default=400.0, help="evolution time (default: 400 M)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default: 3)")
    args = parser.parse_args()
    h, t_final = args.h, args.t_final
    perturbation, pulse = Perturbation(s=2, l=2), gaussian_pulse(center=30.0, width=3.0)

    # Double null: an (n, n) quadrant covering t_final.
    n = round(t_final / h) + 1
    u = -60.0 + h * np.arange(n)
    v = 0.0 + h * np.arange(n)
    on_u0, on_v0 = pulse.null_data(u, v)
    potential = perturbation.potential_at(0.5 * (v[0] - u[0]) + 0.5 * h * np.arange(-(n - 1), n))
    diagonals = np.array([0, 200])
    march_double_null(on_u0, on_v0, potential, h, diagonals)  # compile
    fast = march_double_null(on_u0, on_v0, potential, h, diagonals)
    reference = numpy_double_null(on_u0, on_v0, potential, h)
    rows = np.arange(n - 200)
    assert np.allclose(fast[1, : n - 200], reference[rows, rows + 200], rtol=1e-12, atol=1e-14)
    t_fast = best(lambda: march_double_null(on_u0, on_v0, potential, h, diagonals), args.repeats)
    t_ref = best(lambda: numpy_double_null(on_u0, on_v0, potential, h), 1)
    cells = (n - 1) ** 2

    # Method of lines: a domain of 2 t_final, t_final / dt steps.
    grid = h * np.arange(-int(t_final / h), int(t_final / h) + 1)
    psi0, pi0 = pulse.cauchy(grid)
    psi0[[0, 1, -2, -1]] = pi0[[0, 1, -2, -1]] = 0
    v_grid = perturbation.potential_at(grid)
    dt = 0.5 * h
    steps = round(t_final / dt)
    index = np.zeros((1, 6), dtype=np.int64) + len(grid) // 2
    weight = np.zeros((1, 6))
    weight[0, 0] = 1.0

    def run_fast(n_steps=steps):
        p, q = psi0.copy(), pi0.copy()
        mol_advance(p, q, v_grid, h, dt, n_steps, 2, index, weight, np.zeros((1, n_steps // 2 + 1)), 0, 0)
        return p

    run_fast(10)
    ref_steps = max(1, steps // 20)  # NumPy is timed on a twentieth of the steps and scaled
    p_fast = run_fast(ref_steps)
    p_ref, _ = numpy_mol(psi0.copy(), pi0.copy(), v_grid, h, dt, ref_steps)
    assert np.allclose(p_fast, p_ref, rtol=1e-11, atol=1e-13)
    m_fast = best(run_fast, args.repeats)
    m_ref = best(lambda: numpy_mol(psi0.copy(), pi0.copy(), v_grid, h, dt, ref_steps), 1) * steps / ref_steps
    updates = len(grid) * steps

    print(machine())
    print(f"h = {h} M, t_final = {t_final} M; best of {args.repeats} (NumPy: 1 run)")
    rows_out = [
        [
            "double null (GPP, order 2)",
            f"{cells:.3g} cells",
            f"{t_fast:.3f} s",
            f"{cells / t_fast / 1e6:.0f} M/s",
            f"{cells / t_ref / 1e6:.2f} M/s",
            f"**{t_ref / t_fast:.0f}×**",
        ],
        [
            "method of lines (FD4 + RK4)",
            f"{len(grid)} pts × {steps} steps",
            f"{m_fast:.3f} s",
            f"{updates / m_fast / 1e6:.0f} M/s",
            f"{updates / m_ref / 1e6:.2f} M/s",
            f"**{m_ref / m_fast:.1f}×**",
        ],
    ]
    print(
        markdown_table(
            ["integrator", "work", "physml time", "physml updates/s", "NumPy updates/s", "physml / NumPy"], rows_out
        )
    )


if __name__ == "__main__":
    main()
