"""``physml critical``: Choptuik's critical search: bisect to p*, fit the mass scaling, time the echoes."""

from __future__ import annotations

import argparse
import math

from physml.cli.arguments import add_command, add_progress, figure, integer, number, pair
from physml.cli.families.collapse import UNITS, add_shell_and_grid_arguments

__all__ = ["add_search_arguments", "register", "search_and_ladder"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``physml critical``."""
    parser = add_command(
        subparsers,
        "critical",
        help="critical collapse: bisect to the threshold p*, fit M ~ (p - p*)^gamma, measure the echoes",
        description=(
            "Choptuik's experiment. Bisect on the amplitude p of a one-parameter family of scalar-field shells "
            "between a dispersing and a collapsing member until the relative bracket is below --tolerance (the "
            "grid zooms on the centre as the echoes shrink; with --no-refine the search stops earlier, when runs "
            "near p* no longer resolve their smallest echo, and says so); then evolve a ladder of supercritical "
            "amplitudes p = p*(1 + eps), fit ln M = gamma ln(p - p*) + c "
            "(published gamma = 0.374), and estimate the echoing period Delta of the most nearly "
            "critical run from its central field (published Delta = 3.4453). " + UNITS
        ),
        epilog="example (the defaults are the runs of docs/spacetime.md: p* to 5e-13, gamma = 0.3745 from 10 holes "
        "over 20.7 e-folds, Delta = 3.445; ~2 min):\n"
        "  physml critical --bracket 0.0448,0.0450 --plot gamma.png --echo-plot echoes.png",
    )
    search = parser.add_argument_group("search")
    add_search_arguments(search, rungs=10, fewest=3)
    search.add_argument("--no-refine", action="store_true",
                        help="keep the grid fixed (by default it zooms on the centre as echoes shrink, which the "
                             "search needs within ~1e-7 of p*)")  # fmt: skip
    # With refinement the base grid needs only resolve the shell: the zoom resolves the echoes.
    add_shell_and_grid_arguments(parser, n=400, stretch=6.0)
    parser.add_argument("--plot", type=figure, default=None, help="save the mass-scaling figure here")
    parser.add_argument("--echo-plot", type=figure, default=None, help="save the echo figure here")
    add_progress(parser)
    parser.set_defaults(handler=run_critical)


def add_search_arguments(group: argparse._ActionsContainer, *, rungs: int, fewest: int) -> None:
    """``--bracket``, ``--tolerance``, ``--ladder`` and ``--rungs`` (default ``rungs``, at least ``fewest``)."""
    group.add_argument("--bracket", type=pair, required=True,
                       help="P_LOW,P_HIGH: an amplitude that disperses and one that forms a black hole")  # fmt: skip
    group.add_argument("--tolerance", type=number, default=1e-12, help="relative bracket to stop at (default: 1e-12)")
    group.add_argument("--ladder", type=pair, default=(1e-2, 1e-11),
                       help="largest and smallest (p - p*)/p* of the mass ladder (default: 1e-2,1e-11)")  # fmt: skip
    group.add_argument("--rungs", type=integer, default=rungs,
                       help=f"black holes on the ladder, >= {fewest} (default: {rungs})")  # fmt: skip


def search_and_ladder(args: argparse.Namespace, *, fewest: int):
    """Bisect to p* and evolve the mass ladder the arguments ask for: ``(search, scaling)``.

    Checks the ladder before the first run; prints p* once it is found (the ladder takes as long again).
    """
    import numpy as np

    from physml.simulators.collapse import RadialGrid, Refinement, ShellData, find_critical_amplitude, mass_scaling

    if args.rungs < fewest:
        raise ValueError(f"rungs = {args.rungs!r} is invalid: the fit needs >= {fewest} black holes")
    largest, smallest = args.ladder
    if not 0 < smallest < largest:
        raise ValueError(f"ladder = {args.ladder!r} is invalid: need LARGEST,SMALLEST with 0 < SMALLEST < LARGEST")
    refine = not getattr(args, "no_refine", False)
    if not refine and smallest < 1e-6:
        raise ValueError(
            f"ladder = {args.ladder!r} is invalid with --no-refine: a fixed grid resolves the holes only down to "
            "p - p* ~ 1e-6 p* (docs/spacetime.md); use e.g. --ladder 1e-2,1e-6 --n 800 --stretch 9"
        )
    grid = RadialGrid(n=args.n, r_max=args.r_max, stretch=args.stretch)
    data = ShellData(args.profile, args.bracket[1], args.center, args.width, args.direction)
    options = {"t_final": args.t_final, "cfl": args.cfl, "dissipation": args.dissipation,
               "refinement": Refinement() if refine else None}  # fmt: skip
    search = find_critical_amplitude(grid, data, p_low=args.bracket[0], p_high=args.bracket[1],
                                     tolerance=args.tolerance, progress=args.progress, **options)  # fmt: skip
    print(f"p* = {search.p_star:.15g}  (relative bracket {search.relative_bracket:.1e}, stopped by {search.limit}, "
          f"{len(search.history)} runs)")  # fmt: skip
    offsets = np.geomspace(largest, smallest, args.rungs)
    return search, mass_scaling(grid, data, search.p_star, offsets=offsets, progress=args.progress, **options)


def run_critical(args: argparse.Namespace) -> int:
    from physml.simulators.collapse import REFERENCE_ECHOING_PERIOD, REFERENCE_GAMMA, echoing_period

    search, scaling = search_and_ladder(args, fewest=3)
    print(f"gamma = {scaling.gamma:.4f} ± {scaling.gamma_error:.4f}  from {len(scaling.masses)} black holes over "
          f"{scaling.efolds:.1f} e-folds of p - p*  (published {REFERENCE_GAMMA})")  # fmt: skip
    echoes = echoing_period(search.subcritical)
    if math.isnan(echoes.period):
        print(f"Delta: too few echoes in the most nearly critical run ({echoes.n_echoes:g})")
    else:
        print(f"Delta = {echoes.period:.3f}  from {echoes.n_echoes:g} echoes  (published {REFERENCE_ECHOING_PERIOD})")
    if args.plot:
        from physml.plots.collapse import plot_mass_scaling

        plot_mass_scaling(scaling, args.plot)
        print(f"wrote {args.plot}")
    if args.echo_plot:
        from physml.plots.collapse import plot_echoes

        plot_echoes(search.subcritical, echoes, args.echo_plot)
        print(f"wrote {args.echo_plot}")
    return 0
