"""Dormand-Prince kernels: the tableau-driven DP5(4) step against a hand-unrolled one, on the ray tracer's equations.

:func:`physml.kernels.dormand_prince.dormand_prince` compiles a tableau (data) into a step whose
loops run over the stages; the reference is the same DP5(4) step written out stage by stage with
the coefficients as literals (how the ray tracer stepped before the kernels were shared). Both take
the same fixed steps of Kerr's null geodesic equations
(:func:`physml.simulators.bh_images.geodesic.null_rhs`, a/M = 0.9) from the same states, with the
same RMS error norm; the script checks that they give the same states and error norms (to rounding)
and prints the time per step of each and the ratio. One thread.

    python benchmarks/dormand_prince.py [--steps 200000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _report import best_of, machine, markdown_table
from numba import njit

from physml.kernels.dormand_prince import dormand_prince
from physml.kernels.dp54 import DP54
from physml.simulators.bh_images.geodesic import null_rhs

PARAMS = (0.9, 2.0)  # a/M and the ray's xi = L/E
RTOL, ATOL, H = 1e-8, 1e-10, 0.05

_dp = dormand_prince(DP54, 4)
_step, _error_norm = _dp.step, _dp.error_norm


@njit
def unrolled_step(y, f0, h, k, out):
    """DP5(4) with literal coefficients (Dormand & Prince 1980); ``k[6] = rhs(out)``; returns the error norm."""
    t = k[7]
    for i in range(4):
        t[i] = y[i] + h * (1 / 5) * f0[i]
    null_rhs(0.0, t, PARAMS, k[1])
    for i in range(4):
        t[i] = y[i] + h * (3 / 40 * f0[i] + 9 / 40 * k[1, i])
    null_rhs(0.0, t, PARAMS, k[2])
    for i in range(4):
        t[i] = y[i] + h * (44 / 45 * f0[i] - 56 / 15 * k[1, i] + 32 / 9 * k[2, i])
    null_rhs(0.0, t, PARAMS, k[3])
    for i in range(4):
        t[i] = y[i] + h * (19372 / 6561 * f0[i] - 25360 / 2187 * k[1, i] + 64448 / 6561 * k[2, i] - 212 / 729 * k[3, i])
    null_rhs(0.0, t, PARAMS, k[4])
    for i in range(4):
        t[i] = y[i] + h * (
            9017 / 3168 * f0[i] - 355 / 33 * k[1, i] + 46732 / 5247 * k[2, i] + 49 / 176 * k[3, i]
            - 5103 / 18656 * k[4, i]
        )  # fmt: skip
    null_rhs(0.0, t, PARAMS, k[5])
    for i in range(4):
        out[i] = y[i] + h * (
            35 / 384 * f0[i] + 500 / 1113 * k[2, i] + 125 / 192 * k[3, i] - 2187 / 6784 * k[4, i] + 11 / 84 * k[5, i]
        )
    null_rhs(0.0, out, PARAMS, k[6])
    e = 0.0
    for i in range(4):
        err = h * (
            -71 / 57600 * f0[i] + 71 / 16695 * k[2, i] - 71 / 1920 * k[3, i] + 17253 / 339200 * k[4, i]
            - 22 / 525 * k[5, i] + 1 / 40 * k[6, i]
        )  # fmt: skip
        e += (err / (ATOL + RTOL * max(abs(y[i]), abs(out[i])))) ** 2
    return math.sqrt(0.25 * e)


@njit
def run_unrolled(states, out, norms):
    k, f0 = np.empty((8, 4)), np.empty(4)
    for j in range(states.shape[0]):
        null_rhs(0.0, states[j], PARAMS, f0)
        norms[j] = unrolled_step(states[j], f0, H, k, out[j])


@njit
def run_kernels(states, out, norms):
    k, f0 = np.empty((7, 4)), np.empty(4)
    for j in range(states.shape[0]):
        null_rhs(0.0, states[j], PARAMS, f0)
        _step(null_rhs, 0.0, states[j], f0, H, PARAMS, k, out[j])
        norms[j] = _error_norm(k, H, states[j], out[j], RTOL, ATOL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200_000, help="steps per timed call (default: 200000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions; the best is kept (default: 7)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)  # states of rays between 3 M and 30 M, off the axis, p_r of either sign
    states = np.stack([rng.uniform(3.0, 30.0, args.steps), rng.uniform(0.3, 2.8, args.steps),
                       rng.uniform(-1.0, 1.0, args.steps), rng.uniform(-3.0, 3.0, args.steps)], axis=1)  # fmt: skip
    out = {name: np.empty_like(states) for name in ("unrolled", "kernels")}
    norms = {name: np.empty(args.steps) for name in ("unrolled", "kernels")}
    runs = {
        "unrolled": lambda: run_unrolled(states, out["unrolled"], norms["unrolled"]),
        "kernels": lambda: run_kernels(states, out["kernels"], norms["kernels"]),
    }
    best = best_of(runs, 1, args.repeat)
    state_difference = float(np.max(np.abs(out["kernels"] - out["unrolled"]) / np.maximum(np.abs(states), 1.0)))
    # An error estimate is a difference of stage sums ~1e7 times larger than itself (at rtol 1e-8), so the two
    # summation orders give norms that differ ~1e-7 relative; tiny norms (estimates at rounding) are compared to 1e-3.
    norm_difference = float(np.max(np.abs(norms["kernels"] - norms["unrolled"]) / np.maximum(norms["unrolled"], 1e-3)))
    print(machine())
    print(f"DP5(4) steps of Kerr null geodesics (a/M = 0.9), h = {H} M, {args.steps} states, one thread; differences: "
          f"states {state_difference:.1e} (relative to max(|y|, 1)), error norms {norm_difference:.1e} (relative "
          "to max(norm, 1e-3))\n")  # fmt: skip
    rows = [[name, f"{best[name] / args.steps * 1e9:.1f} ns", f"{best[name] / best['unrolled']:.3f}"] for name in runs]
    print(markdown_table(["DP5(4) step + error norm", "time per step", "time / unrolled"], rows))
    print(f"\nratio kernels / unrolled: {best['kernels'] / best['unrolled']:.3f}")
    if state_difference > 1e-13 or norm_difference > 1e-5:
        raise SystemExit("the two steps disagree: the comparison is void")


if __name__ == "__main__":
    main()
