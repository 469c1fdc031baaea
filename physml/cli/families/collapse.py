"""``physml simulate collapse``: options -> parameters of the ``collapse`` dataset family.

The shell and grid options are shared with ``physml critical`` (:func:`add_shell_and_grid_arguments`).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from physml.cli.arguments import integer, number
from physml.cli.families import Target

__all__ = ["DIRECTION_CHOICES", "PROFILE_CHOICES", "TARGET", "UNITS", "add_shell_and_grid_arguments"]

UNITS = "Units: G = c = 1; radii and times in the unit of --r-max and --center."
# The simulator's vocabularies (physml.simulators.collapse), named here so that help needs no import.
PROFILE_CHOICES = ("gaussian", "tanh")
DIRECTION_CHOICES = ("time-symmetric", "ingoing")


def add_shell_and_grid_arguments(parser: argparse.ArgumentParser, *, n: int = 800, stretch: float = 9.0) -> None:
    """The initial shell (``--profile --center --width --direction``) and the grid and stepping options."""
    shell = parser.add_argument_group("initial shell (phi at t = 0)")
    shell.add_argument("--profile", choices=PROFILE_CHOICES, default="gaussian", help="shell shape (default: gaussian)")
    shell.add_argument("--center", type=number, default=5.0, help="shell radius r0 >= 0 (default: 5)")
    shell.add_argument("--width", type=number, default=1.0, help="shell thickness sigma > 0 (default: 1)")
    shell.add_argument("--direction", choices=DIRECTION_CHOICES, default="time-symmetric",
                       help="Pi = 0 (time-symmetric) or an ingoing shell (default: time-symmetric)")  # fmt: skip
    grid = parser.add_argument_group("radial grid and time stepping")
    grid.add_argument("--n", type=integer, default=n, help=f"radial intervals (default: {n})")
    grid.add_argument("--r-max", type=number, default=12.0, help="outer radius (default: 12)")
    grid.add_argument(
        "--stretch",
        type=number,
        default=stretch,
        help=f"sinh stretch s of r = r_max sinh(s x)/sinh(s); 0: uniform (default: {stretch:g})",
    )
    grid.add_argument("--cfl", type=number, default=0.5,
                      help="Courant number in (0, 1]: dt / smallest dr, or with refinement dt / smallest local "
                           "light-crossing time dr a / alpha (default: 0.5)")  # fmt: skip
    grid.add_argument("--dissipation", type=number, default=0.5, help="Kreiss-Oliger strength (default: 0.5)")
    grid.add_argument("--t-final", type=number, default=40.0, help="longest run (default: 40)")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--amplitude", type=number, required=True, help="p = phi(r0) >= 0")
    add_shell_and_grid_arguments(parser)
    parser.add_argument("--n-saves", type=integer, default=60, help="saves after the initial one (default: 60)")


def _configure(args: argparse.Namespace) -> tuple[dict[str, Any], float, int]:
    params = {
        "n": args.n, "r_max": args.r_max, "stretch": args.stretch, "cfl": args.cfl, "dissipation": args.dissipation,
        "stride": 1, "profile": args.profile, "direction": args.direction, "center": args.center,
        "width": args.width, "amplitude": args.amplitude,
    }  # fmt: skip
    return params, args.t_final, args.n_saves


def _summary(run: Any) -> str:
    scalars = run.trajectory.scalars
    formed = scalars["black_hole"] > 0
    shell = run.family.data(run.params).describe()
    if formed.any():
        outcome = f"black hole by t = {run.times[formed.argmax()]:.4g}"
    else:
        outcome = f"dispersal: no black hole by t = {run.times[-1]:.4g}"
    return (
        f"{shell}: {outcome} (max 2m/r {scalars['max_compactness'].max():.3g}); "
        f"ADM mass {scalars['adm_mass'][0]:.6g}, {len(run.times)} saves"
    )


TARGET = Target(
    family="collapse",
    help="spherical Einstein-scalar collapse (polar-areal coordinates)",
    description=textwrap.fill(
        "Evolve a massless scalar field coupled to gravity in spherical symmetry (metric "
        "ds^2 = -alpha^2 dt^2 + a^2 dr^2 + r^2 dOmega^2) until --t-final, or until a black hole forms (the state "
        "is then held), and write a Well-layout HDF5 file: a, alpha, Phi, Pi, phi and the mass function m(r) at "
        "each save, on the radial grid. " + UNITS,
        100,
    ),
    epilog="example:\n  physml simulate collapse --amplitude 0.1 --out shell.h5 --plot shell.png",
    add_arguments=_add_arguments,
    configure=_configure,
    summary=_summary,
)
