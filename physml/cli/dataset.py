"""``physml dataset``: build, list, inspect and validate datasets."""

from __future__ import annotations

import argparse
import json
import math
import textwrap
from typing import Any

from physml.cli.arguments import add_progress, integer, path

__all__ = ["format_info", "register"]

_BUILD_HELP = """\
Build a dataset from a shipped configuration (see `physml dataset list`) or a
YAML file. Trajectories run in parallel on local processes (default: one per
CPU core) or, with --scheduler, on a Dask distributed cluster. The file is
written as trajectories finish: a build stopped at any moment (Ctrl-C, a
kill, a crash) leaves a valid file holding every finished trajectory, and
running the same command again resumes it. The same config and seed always give the
same data, whatever the number of workers."""

_EXAMPLES = """\
examples:
  physml dataset build schrodinger-1d --out data/s1d.h5
  physml dataset build schrodinger-1d --out small.h5 --n-trajectories 16 --workers 2
  physml dataset build my-config.yaml --out big.h5 --scheduler tcp://10.0.0.1:8786
  physml dataset info data/s1d.h5
  physml dataset validate data/s1d.h5"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dataset",
        help="build, list, inspect and validate datasets",
        description="Datasets: HDF5 files in The Well's layout with physml's metadata (docs/data_format.md).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")

    build = commands.add_parser(
        "build",
        help="build a dataset from a config",
        description=_BUILD_HELP,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("config", metavar="NAME_OR_CONFIG.yaml", help="shipped config name or YAML file")
    build.add_argument("--out", required=True, type=path, help="output HDF5 file")
    build.add_argument("--n-trajectories", type=integer, help="override the config's number of trajectories")
    build.add_argument(
        "--workers",
        type=integer,
        help="local worker processes, this one included (default: CPU cores, or 1 when the first trajectory "
        "shows the build is too short to repay starting them)",
    )
    build.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786")
    mode = build.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume",
        action="store_true",
        help="continue an unfinished build (also done without this flag); a finished one is left as it is",
    )
    mode.add_argument(
        "--overwrite", action="store_true", help="replace an existing file (kept until the new one exists)"
    )
    add_progress(build)
    build.set_defaults(handler=_build)

    listing = commands.add_parser("list", help="list shipped configs and dataset families")  # imports no family
    listing.add_argument("-v", "--verbose", action="store_true", help="also list each family's parameters and checks")
    listing.set_defaults(handler=_list)

    info = commands.add_parser("info", help="summarise a dataset file")
    info.add_argument("file", type=path)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(handler=_info)

    check = commands.add_parser(
        "validate",
        help="check a file's schema, data and verification figures",
        description="Check the schema, that every written trajectory is finite, and every trajectory's "
        "verification figures against its family's thresholds. Exits 1 naming what failed.",
    )
    check.add_argument("file", type=path)
    check.add_argument("--no-data", action="store_true", help="skip reading the fields (schema and figures only)")
    check.add_argument(
        "--require-complete", action="store_true", help="fail on an unfinished build (default: a note only)"
    )
    check.set_defaults(handler=_validate)


def _build(args: argparse.Namespace) -> int:
    from physml.datasets.build import build_dataset

    report = build_dataset(
        args.config,
        args.out,
        n_trajectories=args.n_trajectories,
        workers=args.workers,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        resume=args.resume,
        progress=args.progress,
    )
    if report.n_built == 0 and report.n_resumed == report.n_trajectories:
        print(f"{report.path}: already complete ({report.n_trajectories} trajectories); nothing to do")
        return 0
    resumed = f", {report.n_resumed} resumed from an earlier run" if report.n_resumed else ""
    print(
        f"wrote {report.path}: {report.n_trajectories} trajectories ({report.n_built} built{resumed}) in "
        f"{report.seconds:.1f} s, {report.trajectories_per_second:.2f} trajectories/s on {report.workers}"
    )
    if report.failed_checks:
        failed = ", ".join(f"{name}: {count}" for name, count in sorted(report.failed_checks.items()))
        print(f"warning: trajectories over their verification thresholds ({failed}); see `physml dataset validate`")
    return 0


def _list(args: argparse.Namespace) -> int:
    from physml.datasets.config import list_configs
    from physml.datasets.families import FAMILIES

    print("shipped configs (physml dataset build NAME --out FILE.h5):")
    for name, description in list_configs().items():
        print(f"  {name}")
        print(textwrap.indent(textwrap.fill(description, 88), "      "))
    if not args.verbose:  # names only: listing them imports no family (nor its simulator)
        print(f"\nfamilies (the `family:` of a config; -v for their parameters): {', '.join(FAMILIES)}")
        return 0
    print("\nfamilies (the `family:` of a config):")
    for family in FAMILIES.values():
        print(textwrap.indent(family.describe(), "  "))
    return 0


def _number(value: float) -> str:
    return f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else str(value)


def format_info(info: Any) -> str:
    """Human-readable summary of a :class:`~physml.datasets.StoreInfo`."""
    schema = f"physml schema {info.schema_version}" if info.is_physml else "plain Well"
    lines = [
        f"{info.path}",
        f"  dataset    {info.dataset_name} ({schema})",
        f"  status     {info.status}: {info.n_completed}/{info.n_trajectories} trajectories written",
        f"  grid       {' x '.join(map(str, info.shape))} ({', '.join(info.spatial_dims)}), {info.n_times} saved times",
        f"  fields     {', '.join(n for names in info.field_names.values() for n in names)}",
        f"  scalars    {', '.join(n for n in info.scalar_names if n not in info.parameters)}",
    ]
    card = info.card
    if card:
        lines.append(f"  family     {info.family}; config {card.get('name')} (seed {card.get('seed')})")
        lines.append(f"  licence    {card.get('license')}")
        lines.append("  description")
        lines.append(textwrap.indent(textwrap.fill(str(card.get("description", "")), 84), "    "))
        lines.append("  parameters")
        for name, spec in card.get("parameters", {}).items():
            if "categories" in spec:
                cats = ", ".join(f"{k} ({v})" for k, v in spec["categories"].items())
                lines.append(f"    {name:<14} {cats}")
            else:
                lines.append(f"    {name:<14} [{_number(spec['min'])}, {_number(spec['max'])}] {spec['unit']}")
        splits = ", ".join(f"{k} {v}" for k, v in card.get("splits", {}).items())
        lines.append(f"  splits     {splits}")
        if "extrapolation" in card:
            rule = card["extrapolation"]
            lines.append(f"             extrapolation: {rule['parameter']} outside [{rule['below']}, {rule['above']}]")
    if info.statistics:
        lines.append("  statistics (training split)     mean        std         rms    std of steps")
        for name, stats in info.statistics.items():
            delta = _number(stats.get("std_delta", math.nan)) if "std_delta" in stats else "-"
            lines.append(
                f"    {name:<28} {stats['mean']:>10.4g} {stats['std']:>10.4g} {stats['rms']:>10.4g} {delta:>10}"
            )
    if info.checks:
        lines.append("  verification (worst over written trajectories / threshold)")
        for name, (worst, threshold) in _worst_checks(info).items():
            flag = "ok" if worst <= threshold else "FAIL"
            lines.append(f"    {name:<28} {worst:>10.3g} / {threshold:<8.3g} {flag}")
    if info.provenance:
        p = info.provenance
        lines.append(f"  provenance physml {p.get('physml_version')} ({p.get('git_commit')}), {p.get('created')}")
    return "\n".join(lines)


def _worst_checks(info: Any) -> dict[str, tuple[float, float]]:
    import numpy as np

    from physml.datasets.schema import open_h5

    out = {}
    with open_h5(info.path) as f:
        for name, threshold in info.checks.items():
            values = f["physml/verification"][name][...][info.completed]
            out[name] = (float(np.max(values)) if values.size else math.nan, threshold)
    return out


def _info(args: argparse.Namespace) -> int:
    from physml.datasets.schema import read_info

    info = read_info(args.file)
    if args.json:
        summary = {
            "path": str(info.path),
            "dataset_name": info.dataset_name,
            "schema_version": info.schema_version,
            "status": info.status,
            "n_trajectories": info.n_trajectories,
            "n_completed": info.n_completed,
            "shape": list(info.shape),
            "n_times": info.n_times,
            "fields": info.field_names,
            "card": info.card,
            "statistics": info.statistics,
            "verification": {k: {"worst": w, "threshold": t} for k, (w, t) in _worst_checks(info).items()},
            "provenance": info.provenance,
        }
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_info(info))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from physml.datasets.validation import validate

    report = validate(args.file, check_data=not args.no_data, require_complete=args.require_complete)
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        print(f"{report.path}: valid")
        return 0
    for problem in report.problems:
        print(f"FAIL: {problem}")
    print(f"{report.path}: {len(report.problems)} problem(s)")
    return 1
