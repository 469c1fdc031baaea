"""``physml simulate bh-image``: options -> parameters of the ``bh_images`` dataset family.

The options keep absolute lengths (``--disk-inner`` and ``--disk-outer`` in the unit of ``--mass``);
the family measures the disk in ISCO radii and masses, so they are converted here.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from physml.cli.arguments import integer, number
from physml.cli.families import Target

__all__ = ["TARGET"]

_EXAMPLE = """\
example:
  physml simulate bh-image --spin 0.9 --inclination 60 --resolution 256 --out kerr.h5 --plot kerr.png"""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    hole = parser.add_argument_group("black hole and camera")
    hole.add_argument("--mass", type=number, default=1.0, help="mass M > 0 [length] (default: 1)")
    hole.add_argument("--spin", type=number, default=0.0, help="dimensionless spin a/M in (-1, 1) (default: 0)")
    hole.add_argument("--inclination", type=number, default=60.0,
                      help="angle from the spin axis, in (0, 180) deg (default: 60)")  # fmt: skip
    hole.add_argument("--fov", type=number, default=30.0, help="full width of the image plane [length] (default: 30)")
    hole.add_argument("--resolution", type=integer, default=256, help="pixels per axis, >= 8 (default: 256)")
    hole.add_argument("--r-obs", type=number, default=1000.0, help="camera radius [length] (default: 1000)")
    disk = parser.add_argument_group("disk")
    disk.add_argument("--disk-inner", type=number, default=None, help="inner radius [length] (default: the ISCO)")
    disk.add_argument("--disk-outer", type=number, default=20.0, help="outer radius [length] (default: 20)")
    disk.add_argument("--emissivity", type=number, default=3.0, help="index q of I_em ~ (r/M)^-q (default: 3)")
    disk.add_argument("--no-disk", action="store_true", help="no disk: an image of the shadow alone")


def _configure(args: argparse.Namespace) -> tuple[dict[str, Any], float, int]:
    from physml.datasets import get_family

    if not args.mass > 0:
        raise ValueError(f"mass = {args.mass!r} is invalid: must be > 0")
    params = {
        "resolution": args.resolution, "fov": args.fov, "r_obs": args.r_obs, "mass": args.mass, "spin": args.spin,
        "inclination": args.inclination, "emissivity": args.emissivity, "disk": "none" if args.no_disk else "thin",
        "disk_inner": 1.0, "disk_outer": args.disk_outer / args.mass,
    }  # fmt: skip
    if args.disk_inner is not None:  # the family's unit: the disk's ISCO, as its scene computes it
        params["disk_inner"] = args.disk_inner / get_family("bh_images").scene({**params, "disk": "thin"}).disk_inner
    return params, 1.0, 1  # an image has no time axis: one save, which means nothing


def _summary(run: Any) -> str:
    redshift = run.trajectory.fields["redshift"]
    return f"traced {redshift.size} rays: {int((redshift > 0).sum())} meet the disk"


TARGET = Target(
    family="bh_images",
    help="ray-traced image of a Kerr black hole with a thin disk",
    description=textwrap.fill(
        "Trace null geodesics backwards from a distant camera through Kerr spacetime (Boyer-Lindquist, "
        "Dormand-Prince 5(4), parallel over pixels) to a thin Keplerian disk, and write the observed "
        "bolometric intensity g^4 (r/M)^-q and the redshift g on Bardeen's image plane (alpha, beta) as a "
        "Well-layout HDF5 file. Units G = c = 1: lengths in the unit of --mass; --spin is a/M.",
        100,
    ),
    epilog=_EXAMPLE,
    add_arguments=_add_arguments,
    configure=_configure,
    summary=_summary,
    out_required=False,
)
