"""``physml simulate FAMILY``: one run of a dataset family, written as a one-trajectory Well file, optionally plotted.

Every family goes the same way: its options (:mod:`physml.cli.families`) become the family's
parameters and saved times, a one-trajectory configuration; :func:`physml.datasets.simulate_to_file`
resolves them, simulates through ``Family.simulate`` and writes the file with the dataset store
(the same schema, card and verification figures as a build); the figure comes from
``physml.plots.<family>.plot_run``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from physml.cli.arguments import Parser, add_progress, figure, path
from physml.cli.families import Target

__all__ = ["TARGETS", "register", "run_target"]

#: ``physml simulate COMMAND`` -> module of its :class:`~physml.cli.families.Target`.
TARGETS = {
    "schrodinger": "physml.cli.families.schrodinger",
    "near-horizon": "physml.cli.families.near_horizon",
    "bh-image": "physml.cli.families.bh_images",
    "collapse": "physml.cli.families.collapse",
}


class _Parser(Parser):
    """An argument parser whose epilog may be a function, called only when the help is shown."""

    def format_help(self) -> str:
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def register(subparsers: argparse._SubParsersAction) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="run a simulator and write its fields to HDF5",
        description="Run one simulation of a dataset family and write it as a one-trajectory file in The Well's "
        "layout (docs/data_format.md), with the family's verification figures; optionally plot it.",
    )
    families = simulate.add_subparsers(dest="family", required=True, metavar="FAMILY", parser_class=_Parser)
    for command, module in TARGETS.items():
        target: Target = importlib.import_module(module).TARGET
        parser = families.add_parser(
            command,
            help=target.help,
            description=target.description,
            epilog=target.epilog,  # type: ignore[arg-type]  (a function: _Parser calls it)
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        target.add_arguments(parser)
        out = parser.add_argument_group("output")
        if target.out_required:
            out.add_argument("--out", type=path, required=True, help="output HDF5 file (The Well layout)")
        else:
            out.add_argument("--out", type=path, default=None, help="output HDF5 file (The Well layout)")
        out.add_argument("--plot", type=figure, default=None, help="also save a figure of the run (PNG/PDF)")
        add_progress(out)
        parser.set_defaults(handler=_simulate, target=target)


def run_target(target: Target, args: argparse.Namespace) -> Any:
    """Run the family of ``target`` with the parsed ``args``; returns the :class:`~physml.datasets.SimulatedRun`."""
    from physml.datasets.config import BuildConfig
    from physml.datasets.simulate import simulate_to_file

    if args.out is None and args.plot is None:
        raise ValueError("give --out FILE.h5 and/or --plot FILE.png: nothing would be written")
    params, t_final, n_saves = target.configure(args)
    config = BuildConfig.from_dict({
        "name": f"simulate-{args.family}",
        "family": target.family,
        "description": f"one run of `physml simulate {args.family}`",
        "n_trajectories": 1,
        "time": {"t_final": t_final, "n_saves": n_saves},
        "fixed": params,
        "splits": {"train": 1.0},
    })  # fmt: skip
    return simulate_to_file(config, args.out, progress=args.progress)


def _simulate(args: argparse.Namespace) -> int:
    target: Target = args.target
    run = run_target(target, args)
    print(f"wrote {args.out}: {target.summary(run)}" if args.out is not None else target.summary(run))
    for name, (value, threshold) in run.failed_checks.items():
        print(f"warning: verification figure {name} = {value:.3g} is over its threshold {threshold:g}")
    if args.plot is not None:
        plots = importlib.import_module(f"physml.plots.{target.family}")
        print(f"wrote {plots.plot_run(run, args.plot)}")
    return 0
