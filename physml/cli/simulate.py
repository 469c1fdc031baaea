"""``physml simulate schrodinger``: run one simulation, write a Well-layout HDF5 file, optionally plot it."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

import numpy as np

from physml.cli import collapse, near_horizon, simulate_bh_image
from physml.cli.arguments import floats
from physml.simulators.schrodinger import POTENTIALS, SCHEMES
from physml.simulators.schrodinger.potentials import Potential, parameter_docs

__all__ = ["build_schrodinger_run", "parse_potential", "register"]

UNITS = (
    "Units: any consistent set; hbar and mass fix them (hbar = m = 1 by default). "
    "[length], [time] and [energy] below refer to that set, [momentum] = hbar/[length]."
)


def parse_potential(spec: str) -> Potential:
    """``NAME[:key=value,...]`` -> potential, e.g. ``square-barrier:height=2,width=1``."""
    name, _, options = spec.partition(":")
    if name not in POTENTIALS:
        raise ValueError(f"potential = {name!r} is invalid: choose one of {', '.join(POTENTIALS)}")
    cls = POTENTIALS[name]
    allowed = {row[0] for row in parameter_docs(cls)}
    kwargs: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise ValueError(
                f"potential parameter {item!r} is invalid for {name}: use key=value with key in {sorted(allowed)}"
            )
        try:
            kwargs[key] = float(value)
        except ValueError:
            raise ValueError(f"potential parameter {key} = {value!r} is invalid: must be a number") from None
    return cls(**kwargs)


def _potential_help() -> str:
    lines = ["potentials (--potential NAME[:key=value,...]):"]
    for name, cls in POTENTIALS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name}: {doc}")
        for key, unit, default, text in parameter_docs(cls):
            lines.append(f"      {key} [{unit}] = {default}: {text}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    simulate = subparsers.add_parser("simulate", help="run a simulator and write its fields to HDF5")
    families = simulate.add_subparsers(dest="family", required=True, metavar="FAMILY")
    parser = families.add_parser(
        "schrodinger",
        help="time-dependent Schrödinger equation, 1D or 2D, split-operator",
        description=textwrap.fill(
            "Evolve a wave packet or eigenstate under i hbar dpsi/dt = [-hbar^2/(2m) laplacian + V] psi "
            "on a periodic box with a spectral split-operator scheme, write a Well-layout HDF5 file "
            "(psi as re/im pairs, V, observables) and optionally a summary plot. " + UNITS,
            100,
        ),
        epilog=_potential_help()
        + "\n\nexample:\n  physml simulate schrodinger --potential square-barrier:height=2,width=1 "
        "--center -10 --momentum 2 --out barrier.h5 --plot barrier.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grid = parser.add_argument_group("grid and constants")
    grid.add_argument("--dim", type=int, choices=(1, 2), default=1, help="spatial dimensions (default: 1)")
    grid.add_argument("--n", type=int, default=512, help="grid points per axis, >= 8 (default: 512)")
    grid.add_argument("--length", type=float, default=40.0, help="box length per axis [length] (default: 40)")
    grid.add_argument("--hbar", type=float, default=1.0, help="reduced Planck constant [energy*time] (default: 1)")
    grid.add_argument("--mass", type=float, default=1.0, help="particle mass [mass] (default: 1)")

    pot = parser.add_argument_group("potential")
    pot.add_argument(
        "--potential", type=str, default="harmonic", help="NAME[:key=value,...]; see the list below (default: harmonic)"
    )
    pot.add_argument(
        "--drive-field",
        type=float,
        default=0.0,
        help="drive amplitude E0 in V + E0 x sin(Omega t + phi) [energy/length] (default: 0, no drive)",
    )
    pot.add_argument(
        "--drive-frequency", type=float, default=1.0, help="drive angular frequency Omega [1/time] (default: 1)"
    )
    pot.add_argument("--drive-phase", type=float, default=0.0, help="drive phase phi [rad] (default: 0)")
    pot.add_argument(
        "--absorber-width",
        type=float,
        default=0.0,
        help="complex absorbing layer width at each edge [length] (default: 0, none)",
    )
    pot.add_argument(
        "--absorber-strength",
        type=float,
        default=4.0,
        help="peak absorption rate W0 of the layer [energy]; best near the kinetic energy absorbed (default: 4)",
    )

    init = parser.add_argument_group("initial state")
    init.add_argument(
        "--initial",
        choices=("packet", "eigenstate"),
        default="packet",
        help="Gaussian packet, or eigenstates of the static potential from imaginary time (default: packet)",
    )
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
    time.add_argument(
        "--dt", type=float, default=0.01, help="time step [time]; must divide t_final/n_saves (default: 0.01)"
    )
    time.add_argument("--t-final", type=float, default=10.0, help="duration [time] (default: 10)")
    time.add_argument("--n-saves", type=int, default=100, help="snapshots after the initial one (default: 100)")
    time.add_argument(
        "--scheme",
        choices=sorted(SCHEMES),
        default="strang",
        help="splitting: strang (order 2) or yoshida4 (order 4) (default: strang)",
    )

    out = parser.add_argument_group("output")
    out.add_argument("--out", required=True, help="output HDF5 file (The Well layout)")
    out.add_argument("--plot", default=None, help="also save a summary figure (PNG/PDF)")
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_schrodinger)
    near_horizon.add_simulate_parser(families)
    simulate_bh_image.add_parser(families)
    collapse.add_simulate_parser(families)


def build_schrodinger_run(args: argparse.Namespace):
    """Turn parsed arguments into a finished :class:`SchrodingerRun` (no files touched)."""
    from physml.simulators import Grid
    from physml.simulators.schrodinger import (
        AbsorbingLayer,
        Driven,
        SchrodingerSystem,
        eigenstates,
        gaussian_packet,
        simulate,
        superpose,
    )

    grid = Grid(n=(args.n,) * args.dim, length=args.length)
    potential = parse_potential(args.potential)
    absorber = AbsorbingLayer(args.absorber_width, args.absorber_strength) if args.absorber_width > 0 else None
    if args.initial == "packet":
        psi0 = gaussian_packet(grid, center=args.center, momentum=args.momentum, width=args.width, hbar=args.hbar)
    else:
        levels = sorted(set(args.eigenstates))
        if levels[0] < 0:
            raise ValueError(f"eigenstates = {args.eigenstates} is invalid: levels must be >= 0")
        static = SchrodingerSystem(grid, potential, hbar=args.hbar, mass=args.mass)
        found = eigenstates(static, levels[-1] + 1)
        psi0 = superpose(grid, [found.states[i] for i in levels], np.ones(len(levels)))
    if args.drive_field != 0.0:
        potential = Driven(potential, args.drive_field, args.drive_frequency, args.drive_phase)
    system = SchrodingerSystem(grid, potential, hbar=args.hbar, mass=args.mass, absorber=absorber)
    return simulate(
        system,
        psi0,
        dt=args.dt,
        t_final=args.t_final,
        n_saves=args.n_saves,
        scheme=args.scheme,
        progress=not args.no_progress,
    )


def run_schrodinger(args: argparse.Namespace) -> int:
    from physml.datasets import write_schrodinger_run

    run = build_schrodinger_run(args)
    write_schrodinger_run(args.out, run, arguments={k: v for k, v in vars(args).items() if k != "handler"})
    drift = abs(run.observables["norm"][-1] - run.observables["norm"][0])
    print(f"wrote {args.out}: {len(run.t)} snapshots on grid {run.system.grid.shape}, norm change {drift:.2e}")
    if args.plot:
        from physml.plots import plot_schrodinger_run

        plot_schrodinger_run(run, args.plot)
        print(f"wrote {args.plot}")
    return 0
