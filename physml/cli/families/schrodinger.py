"""``physml simulate schrodinger``: options -> parameters of the ``schrodinger`` dataset family."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from physml.cli.arguments import floats, integer, number
from physml.cli.families import Target

__all__ = ["SCHEMES", "TARGET", "parse_potential"]

#: The splitting schemes (:data:`physml.simulators.schrodinger.SCHEMES`), named here so that help needs no import.
SCHEMES = ("strang", "yoshida4")

UNITS = (
    "Units: any consistent set; hbar and mass fix them (hbar = m = 1 by default). "
    "[length], [time] and [energy] below refer to that set, [momentum] = hbar/[length]."
)

_EXAMPLE = """

example:
  physml simulate schrodinger --potential square-barrier:height=2,width=1 --center -10 --momentum 2 \\
      --out barrier.h5 --plot barrier.png"""


def parse_potential(spec: str) -> dict[str, Any]:
    """``NAME[:key=value,...]`` -> the family's ``potential_kind`` and the potential's parameters.

    E.g. ``square-barrier:height=2,width=1`` -> ``{"potential_kind": "square-barrier", "height": 2.0, "width": 1.0}``.
    """
    from physml.simulators.schrodinger import POTENTIALS
    from physml.simulators.schrodinger.potentials import parameter_docs

    name, _, options = spec.partition(":")
    if name not in POTENTIALS:
        raise ValueError(f"potential = {name!r} is invalid: choose one of {', '.join(POTENTIALS)}")
    allowed = {row[0] for row in parameter_docs(POTENTIALS[name])}
    params: dict[str, Any] = {"potential_kind": name}
    for item in filter(None, options.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise ValueError(
                f"potential parameter {item!r} is invalid for {name}: use key=value with key in {sorted(allowed)}"
            )
        try:
            params[key] = float(value)
        except ValueError:
            raise ValueError(f"potential parameter {key} = {value!r} is invalid: must be a number") from None
    return params


def _epilog() -> str:
    from physml.simulators.schrodinger import POTENTIALS
    from physml.simulators.schrodinger.potentials import parameter_docs

    lines = ["potentials (--potential NAME[:key=value,...]):"]
    for name, cls in POTENTIALS.items():
        lines.append(f"  {name}: {(cls.__doc__ or '').strip().splitlines()[0]}")
        for key, unit, default, text in parameter_docs(cls):
            lines.append(f"      {key} [{unit}] = {default}: {text}")
    return "\n".join(lines) + _EXAMPLE


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    grid = parser.add_argument_group("grid and constants")
    grid.add_argument("--dim", type=integer, choices=(1, 2), default=1, help="spatial dimensions (default: 1)")
    grid.add_argument("--n", type=integer, default=512, help="grid points per axis, >= 8 (default: 512)")
    grid.add_argument("--length", type=number, default=40.0, help="box length per axis [length] (default: 40)")
    grid.add_argument("--hbar", type=number, default=1.0, help="reduced Planck constant [energy*time] (default: 1)")
    grid.add_argument("--mass", type=number, default=1.0, help="particle mass [mass] (default: 1)")

    pot = parser.add_argument_group("potential")
    pot.add_argument("--potential", type=str, default="harmonic",
                     help="NAME[:key=value,...]; see the list below (default: harmonic)")  # fmt: skip
    pot.add_argument(
        "--drive-field",
        type=number,
        default=0.0,
        help="drive amplitude E0 in V + E0 x sin(Omega t + phi) [energy/length] (default: 0, no drive)",
    )
    pot.add_argument("--drive-frequency", type=number, default=1.0,
                     help="drive angular frequency Omega [1/time] (default: 1)")  # fmt: skip
    pot.add_argument("--drive-phase", type=number, default=0.0, help="drive phase phi [rad] (default: 0)")
    pot.add_argument("--absorber-width", type=number, default=0.0,
                     help="complex absorbing layer width at each edge [length] (default: 0, none)")  # fmt: skip
    pot.add_argument("--absorber-strength", type=number, default=4.0,
                     help="peak absorption rate W0 of the layer [energy]; best near the kinetic energy absorbed "
                          "(default: 4)")  # fmt: skip

    init = parser.add_argument_group("initial state")
    init.add_argument("--initial", choices=("packet", "eigenstate"), default="packet",
                      help="Gaussian packet, or eigenstates of the static potential from imaginary time "
                           "(default: packet)")  # fmt: skip
    init.add_argument("--center", type=floats, default=[0.0], help="packet centre x0[,y0] [length] (default: 0)")
    init.add_argument("--momentum", type=floats, default=[0.0], help="packet momentum p0[,py0] [momentum] (default: 0)")
    init.add_argument("--width", type=floats, default=[1.0], help="std of |psi|^2, s[,sy] [length] (default: 1)")
    init.add_argument(
        "--eigenstates",
        type=lambda s: [int(v) for v in s.split(",")],
        default=[0],
        help="with --initial eigenstate: equal superposition of these levels, e.g. 0,1 (default: 0)",
    )

    time = parser.add_argument_group("time stepping")
    time.add_argument("--dt", type=number, default=0.01,
                      help="time step [time]; must divide t_final/n_saves (default: 0.01)")  # fmt: skip
    time.add_argument("--t-final", type=number, default=10.0, help="duration [time] (default: 10)")
    time.add_argument("--n-saves", type=integer, default=100, help="snapshots after the initial one (default: 100)")
    time.add_argument("--scheme", choices=SCHEMES, default="strang",
                      help="splitting: strang (order 2) or yoshida4 (order 4) (default: strang)")  # fmt: skip


def _per_axis(name: str, values: list[float], ndim: int) -> list[float]:
    if len(values) not in (1, ndim):
        raise ValueError(f"{name} = {','.join(map(str, values))} is invalid: give one value or one per axis ({ndim})")
    return values * ndim if len(values) == 1 else values


def _configure(args: argparse.Namespace) -> tuple[dict[str, Any], float, int]:
    center = _per_axis("center", args.center, args.dim)
    momentum = _per_axis("momentum", args.momentum, args.dim)
    width = _per_axis("width", args.width, args.dim)
    params = {
        "ndim": args.dim, "n": args.n, "length": args.length, "dt": args.dt, "scheme": args.scheme,
        "hbar": args.hbar, "mass": args.mass, **parse_potential(args.potential),
        "drive_field": args.drive_field, "drive_frequency": args.drive_frequency, "drive_phase": args.drive_phase,
        "absorber_width": args.absorber_width, "absorber_strength": args.absorber_strength,
        "initial": args.initial, "eigenstates": args.eigenstates,
        "x0": center[0], "px": momentum[0], "sigma": width[0],
    }  # fmt: skip
    if args.dim == 2:
        params.update(y0=center[1], py=momentum[1], sigma_y=width[1])
    return params, args.t_final, args.n_saves


def _summary(run: Any) -> str:
    norm = run.trajectory.scalars["norm"]
    return f"{len(run.times)} snapshots on grid {run.layout.shape}, norm change {abs(norm[-1] - norm[0]):.2e}"


TARGET = Target(
    family="schrodinger",
    help="time-dependent Schrödinger equation, 1D or 2D, split-operator",
    description=textwrap.fill(
        "Evolve a wave packet or eigenstate under i hbar dpsi/dt = [-hbar^2/(2m) laplacian + V] psi "
        "on a periodic box with a spectral split-operator scheme, write a Well-layout HDF5 file "
        "(psi as re/im pairs, V, observables) and optionally a summary plot. " + UNITS,
        100,
    ),
    epilog=_epilog,
    add_arguments=_add_arguments,
    configure=_configure,
    summary=_summary,
)
