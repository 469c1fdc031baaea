"""``physml simulate collapse`` (one run) and ``physml critical`` (Choptuik's critical search)."""

from __future__ import annotations

import argparse
import math
import textwrap

import numpy as np

from physml.cli.arguments import pair

__all__ = ["add_simulate_parser", "register"]

UNITS = "Units: G = c = 1; radii and times in the unit of --r-max and --center."
PROFILE_CHOICES = ("gaussian", "tanh")
DIRECTION_CHOICES = ("time-symmetric", "ingoing")


def _shell_and_grid_arguments(parser: argparse.ArgumentParser, *, n: int = 800, stretch: float = 9.0) -> None:
    shell = parser.add_argument_group("initial shell (phi at t = 0)")
    shell.add_argument("--profile", choices=PROFILE_CHOICES, default="gaussian", help="shell shape (default: gaussian)")
    shell.add_argument("--center", type=float, default=5.0, help="shell radius r0 >= 0 (default: 5)")
    shell.add_argument("--width", type=float, default=1.0, help="shell thickness sigma > 0 (default: 1)")
    shell.add_argument("--direction", choices=DIRECTION_CHOICES, default="time-symmetric",
                       help="Pi = 0 (time-symmetric) or an ingoing shell (default: time-symmetric)")  # fmt: skip
    grid = parser.add_argument_group("radial grid and time stepping")
    grid.add_argument("--n", type=int, default=n, help=f"radial intervals (default: {n})")
    grid.add_argument("--r-max", type=float, default=12.0, help="outer radius (default: 12)")
    grid.add_argument(
        "--stretch",
        type=float,
        default=stretch,
        help=f"sinh stretch s of r = r_max sinh(s x)/sinh(s); 0: uniform (default: {stretch:g})",
    )
    grid.add_argument("--cfl", type=float, default=0.5,
                      help="Courant number in (0, 1]: dt / smallest dr, or with refinement dt / smallest local "
                           "light-crossing time dr a / alpha (default: 0.5)")  # fmt: skip
    grid.add_argument("--dissipation", type=float, default=0.5, help="Kreiss-Oliger strength (default: 0.5)")
    grid.add_argument("--t-final", type=float, default=40.0, help="longest run (default: 40)")


def _grid_and_shell(args: argparse.Namespace, amplitude: float):
    from physml.simulators.collapse import RadialGrid, ShellData

    grid = RadialGrid(n=args.n, r_max=args.r_max, stretch=args.stretch)
    data = ShellData(args.profile, amplitude, args.center, args.width, args.direction)
    return grid, data


def add_simulate_parser(families: argparse._SubParsersAction) -> None:
    """Add ``physml simulate collapse``."""
    parser = families.add_parser(
        "collapse",
        help="spherical Einstein-scalar collapse (polar-areal coordinates)",
        description=textwrap.fill(
            "Evolve a massless scalar field coupled to gravity in spherical symmetry (metric "
            "ds^2 = -alpha^2 dt^2 + a^2 dr^2 + r^2 dOmega^2) until the field disperses or a black hole forms, and "
            "write a Well-layout HDF5 file: a, alpha, Phi, Pi, phi and the mass function m(r) at each save, on "
            "the radial grid. " + UNITS,
            100,
        ),
        epilog="example:\n  physml simulate collapse --amplitude 0.1 --out shell.h5 --plot shell.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--amplitude", type=float, required=True, help="p = phi(r0) >= 0")
    _shell_and_grid_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--n-saves", type=int, default=60, help="saves after the initial one (default: 60)")
    out.add_argument("--out", required=True, help="output HDF5 file (The Well layout)")
    out.add_argument("--plot", default=None, help="also save a figure of the run")
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from physml.datasets.well import write_trajectories
    from physml.simulators.collapse import evolve

    grid, data = _grid_and_shell(args, args.amplitude)
    run = evolve(grid, data, t_final=args.t_final, n_saves=args.n_saves, cfl=args.cfl,
                 dissipation=args.dissipation, progress=not args.no_progress)  # fmt: skip
    names = {"a": "a", "alpha": "alpha", "Phi": "Phi", "Pi": "Pi", "phi": "phi", "mass": "mass_function"}
    write_trajectories(
        args.out,
        dataset_name="collapse",
        axes={"r": grid.r},
        time=run.t,
        fields={stored: run.fields[name][None] for name, stored in names.items()},
        scalars={"residual": run.residual[None]},
        parameters={"amplitude": args.amplitude, "center": args.center, "width": args.width},
        config={k: v for k, v in vars(args).items() if k != "handler"},
        bc_type="open",
    )
    mass = f", black-hole mass {run.black_hole_mass:.6g}" if run.collapsed else ""
    print(f"wrote {args.out}: {data.describe()}: {run.outcome} ({run.event}) at t = {run.t_end:.4g}{mass}; "
          f"ADM mass {run.adm_mass:.6g}, {len(run.t)} saves")  # fmt: skip
    if args.plot:
        from physml.simulators.collapse.plots import plot_run

        plot_run(run, args.plot)
        print(f"wrote {args.plot}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``physml critical``."""
    parser = subparsers.add_parser(
        "critical",
        help="critical collapse: bisect to the threshold p*, fit M ~ (p - p*)^gamma, measure the echoes",
        description=textwrap.fill(
            "Choptuik's experiment. Bisect on the amplitude p of a one-parameter family of scalar-field shells "
            "between a dispersing and a collapsing member until the relative bracket is below --tolerance (the "
            "grid zooms on the centre as the echoes shrink; with --no-refine the search stops earlier, when runs "
            "near p* no longer resolve their smallest echo, and says so); then evolve a ladder of supercritical "
            "amplitudes p = p*(1 + eps), fit ln M = gamma ln(p - p*) + c "
            "(published gamma = 0.374), and estimate the echoing period Delta of the most nearly "
            "critical run from its central field (published Delta = 3.4453). " + UNITS,
            100,
        ),
        epilog="example (the defaults are the runs of docs/spacetime.md: p* to 5e-13, gamma = 0.3745 from 10 holes "
        "over 20.7 e-folds, Delta = 3.445; ~2 min):\n"
        "  physml critical --bracket 0.0448,0.0450 --plot gamma.png --echo-plot echoes.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    search = parser.add_argument_group("search")
    search.add_argument("--bracket", type=pair, required=True,
                        help="P_LOW,P_HIGH: an amplitude that disperses and one that forms a black hole")  # fmt: skip
    search.add_argument("--tolerance", type=float, default=1e-12, help="relative bracket to stop at (default: 1e-12)")
    search.add_argument("--ladder", type=pair, default=(1e-2, 1e-11),
                        help="largest and smallest (p - p*)/p* of the mass ladder (default: 1e-2,1e-11)")  # fmt: skip
    search.add_argument("--rungs", type=int, default=10, help="black holes on the ladder, >= 3 (default: 10)")
    search.add_argument("--no-refine", action="store_true",
                        help="keep the grid fixed (by default it zooms on the centre as echoes shrink, which the "
                             "search needs within ~1e-7 of p*)")  # fmt: skip
    # With refinement the base grid needs only resolve the shell: the zoom resolves the echoes.
    _shell_and_grid_arguments(parser, n=400, stretch=6.0)
    parser.add_argument("--plot", default=None, help="save the mass-scaling figure here")
    parser.add_argument("--echo-plot", default=None, help="save the echo figure here")
    parser.set_defaults(handler=run_critical)


def run_critical(args: argparse.Namespace) -> int:
    from physml.simulators.collapse import (
        REFERENCE_ECHOING_PERIOD,
        REFERENCE_GAMMA,
        Refinement,
        echoing_period,
        find_critical_amplitude,
        mass_scaling,
    )

    if args.rungs < 3:
        raise ValueError(f"rungs = {args.rungs!r} is invalid: a fit needs >= 3 black holes")
    largest, smallest = args.ladder
    if not 0 < smallest < largest:
        raise ValueError(f"ladder = {args.ladder!r} is invalid: need LARGEST,SMALLEST with 0 < SMALLEST < LARGEST")
    if args.no_refine and smallest < 1e-6:
        raise ValueError(
            f"ladder = {args.ladder!r} is invalid with --no-refine: a fixed grid resolves the holes only down to "
            "p - p* ~ 1e-6 p* (docs/spacetime.md); use e.g. --ladder 1e-2,1e-6 --n 800 --stretch 9"
        )
    grid, data = _grid_and_shell(args, args.bracket[1])
    refinement = None if args.no_refine else Refinement()
    options = {"t_final": args.t_final, "cfl": args.cfl, "dissipation": args.dissipation, "refinement": refinement}
    search = find_critical_amplitude(grid, data, p_low=args.bracket[0], p_high=args.bracket[1],
                                     tolerance=args.tolerance, **options)  # fmt: skip
    print(f"p* = {search.p_star:.15g}  (relative bracket {search.relative_bracket:.1e}, stopped by {search.limit}, "
          f"{len(search.history)} runs)")  # fmt: skip
    offsets = np.geomspace(largest, smallest, args.rungs)
    scaling = mass_scaling(grid, data, search.p_star, offsets=offsets, **options)
    print(f"gamma = {scaling.gamma:.4f} ± {scaling.gamma_error:.4f}  from {len(scaling.masses)} black holes over "
          f"{scaling.efolds:.1f} e-folds of p - p*  (published {REFERENCE_GAMMA})")  # fmt: skip
    echoes = echoing_period(search.subcritical)
    if math.isnan(echoes.period):
        print(f"Delta: too few echoes in the most nearly critical run ({echoes.n_echoes:g})")
    else:
        print(f"Delta = {echoes.period:.3f}  from {echoes.n_echoes:g} echoes  (published {REFERENCE_ECHOING_PERIOD})")
    if args.plot:
        from physml.simulators.collapse.plots import plot_mass_scaling

        plot_mass_scaling(scaling, args.plot)
        print(f"wrote {args.plot}")
    if args.echo_plot:
        from physml.simulators.collapse.plots import plot_echoes

        plot_echoes(search.subcritical, echoes, args.echo_plot)
        print(f"wrote {args.echo_plot}")
    return 0
