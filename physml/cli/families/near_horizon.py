"""``physml simulate near-horizon``: options -> parameters of the ``near_horizon`` dataset family.

The perturbation and pulse options are shared with ``physml qnm`` (:func:`add_perturbation_arguments`).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from physml.cli.arguments import floats, integer, number
from physml.cli.families import Target

__all__ = ["DIRECTIONS", "EQUATIONS", "SCHEMES", "TARGET", "UNITS", "add_perturbation_arguments"]

# The simulator's vocabularies (physml.simulators.near_horizon), named here so that help needs no import.
EQUATIONS = ("regge-wheeler", "zerilli")
DIRECTIONS = ("ingoing", "outgoing", "time-symmetric")
SCHEMES = ("double-null", "mol")

UNITS = (
    "Units: G = c = 1; lengths and times (--center, --width, --h, --r-star, --t-final, windows) are in the "
    "unit --mass is given in, so with the default M = 1 they are multiples of M; frequencies are reported "
    "as M*omega."
)


def add_perturbation_arguments(parser: argparse.ArgumentParser, *, scheme_default: str) -> None:
    """The field, the hole, the initial pulse and the numerics (``--s --l --mass --equation --center ... --h``)."""
    field = parser.add_argument_group("perturbation")
    field.add_argument("--s", type=integer, default=2,
                       help="spin: 0 scalar, 1 electromagnetic, 2 gravitational (default: 2)")  # fmt: skip
    field.add_argument("--l", type=integer, default=2, help="multipole index, l >= s (default: 2)")
    field.add_argument("--mass", type=number, default=1.0, help="black-hole mass M > 0 (default: 1)")
    field.add_argument("--equation", choices=EQUATIONS, default="regge-wheeler",
                       help="Regge-Wheeler (any s) or Zerilli (s = 2) (default: regge-wheeler)")  # fmt: skip
    pulse = parser.add_argument_group("initial pulse (Gaussian in r*)")
    pulse.add_argument("--center", type=number, default=20.0, help="centre in r* at t = 0 [M] (default: 20)")
    pulse.add_argument("--width", type=number, default=2.0, help="standard deviation in r* [M] (default: 2)")
    pulse.add_argument("--amplitude", type=number, default=1.0, help="amplitude (default: 1)")
    pulse.add_argument("--direction", choices=DIRECTIONS, default="ingoing",
                       help="ingoing, outgoing or time-symmetric (MOL only) (default: ingoing)")  # fmt: skip
    num = parser.add_argument_group("numerics")
    num.add_argument("--scheme", choices=SCHEMES, default=scheme_default,
                     help=f"mol (order 4) or double-null (GPP, order 2) (default: {scheme_default})")  # fmt: skip
    num.add_argument("--h", type=number, default=0.1, help="grid spacing in r* (or u, v) [M] (default: 0.1)")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_perturbation_arguments(parser, scheme_default="mol")
    run = parser.add_argument_group("run")
    run.add_argument("--t-final", type=number, default=300.0, help="duration [M] (default: 300)")
    run.add_argument("--extract-at", type=floats, default=[-20.0, 10.0, 100.0],
                     help="r* of the waveforms, comma-separated [M] (default: -20,10,100)")  # fmt: skip
    run.add_argument("--save-every", type=number, default=0.5, help="time between saves [M] (default: 0.5)")
    run.add_argument("--window", type=floats, default=[-50.0, 150.0],
                     help="r* range of the stored snapshots (MOL) [M] (default: -50,150)")  # fmt: skip


def _configure(args: argparse.Namespace) -> tuple[dict[str, Any], float, int]:
    if not (args.save_every > 0 and len(args.window) == 2):
        raise ValueError(f"save_every = {args.save_every!r} / window = {args.window!r} are invalid: need > 0 and lo,hi")
    params = {
        "ndim": 1, "s": args.s, "l": args.l, "mass": args.mass, "equation": args.equation,
        "center": args.center, "width": args.width, "amplitude": args.amplitude, "direction": args.direction,
        "scheme": args.scheme, "h": args.h, "extract_at": args.extract_at,
        "r_star_min": args.window[0], "r_star_max": args.window[1], "stride": 1,
    }  # fmt: skip
    from physml.simulators.limits import MAX_STEPS

    saves = args.t_final / args.save_every
    if not saves <= MAX_STEPS:  # the file and memory checks need a count they can hold
        raise ValueError(f"t_final = {args.t_final!r}, save_every = {args.save_every!r} are invalid: {saves:.3g} saves")
    return params, args.t_final, max(1, round(saves))


def _summary(run: Any) -> str:
    params = run.params
    perturbation = run.family.perturbation(params, params["l"])
    radii = ", ".join(f"{x:g}" for x in params["extract_at"])
    return f"{perturbation.describe()}, {params['scheme']}, {len(run.times)} saves, waveforms at r* = {radii}"


TARGET = Target(
    family="near_horizon",
    help="Regge-Wheeler/Zerilli perturbation of a Schwarzschild black hole",
    description=textwrap.fill(
        "Evolve one multipole of a scalar, electromagnetic or gravitational perturbation of a "
        "Schwarzschild black hole, -psi_tt + psi_r*r* - V(r) psi = 0, from a Gaussian pulse, and write a "
        "Well-layout HDF5 file: psi(t, r*) snapshots with V (method of lines) or psi at the "
        "extraction radii (double null), and the waveforms as scalar series. The run is repeated at 2h for the "
        "file's error estimate. " + UNITS,
        100,
    ),
    epilog="example:\n  physml simulate near-horizon --s 2 --l 2 --t-final 300 --extract-at=-20,10,100 "
    "--out rw.h5 --plot rw.png",
    add_arguments=_add_arguments,
    configure=_configure,
    summary=_summary,
)
