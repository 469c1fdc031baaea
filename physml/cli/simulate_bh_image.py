"""``physml simulate bh-image``: ray-trace one black-hole image, write it to HDF5 and/or plot it."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

__all__ = ["add_parser", "build_scene", "write_image"]

_EXAMPLE = """\
example:
  physml simulate bh-image --spin 0.9 --inclination 60 --resolution 256 --out kerr.h5 --plot kerr.png"""


def add_parser(families: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bh-image`` subcommand to ``physml simulate``'s family subparsers; returns its parser."""
    parser = families.add_parser(
        "bh-image",
        help="ray-traced image of a Kerr black hole with a thin disk",
        description=textwrap.fill(
            "Trace null geodesics backwards from a distant camera through Kerr spacetime (Boyer-Lindquist, "
            "Dormand-Prince 5(4), parallel over pixels) to a thin Keplerian disk, and write the observed "
            "bolometric intensity g^4 (r/M)^-q and the redshift g on Bardeen's image plane (alpha, beta). "
            "Units G = c = 1: lengths in the unit of --mass; --spin is a/M.",
            100,
        ),
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hole = parser.add_argument_group("black hole and camera")
    hole.add_argument("--mass", type=float, default=1.0, help="mass M > 0 [length] (default: 1)")
    hole.add_argument("--spin", type=float, default=0.0, help="dimensionless spin a/M in (-1, 1) (default: 0)")
    hole.add_argument(
        "--inclination", type=float, default=60.0, help="angle from the spin axis, in (0, 180) deg (default: 60)"
    )
    hole.add_argument("--fov", type=float, default=30.0, help="full width of the image plane [length] (default: 30)")
    hole.add_argument("--resolution", type=int, default=256, help="pixels per axis, >= 8 (default: 256)")
    hole.add_argument("--r-obs", type=float, default=1000.0, help="camera radius [length] (default: 1000)")
    disk = parser.add_argument_group("disk")
    disk.add_argument("--disk-inner", type=float, default=None, help="inner radius [length] (default: the ISCO)")
    disk.add_argument("--disk-outer", type=float, default=20.0, help="outer radius [length] (default: 20)")
    disk.add_argument("--emissivity", type=float, default=3.0, help="index q of I_em ~ (r/M)^-q (default: 3)")
    disk.add_argument("--no-disk", action="store_true", help="no disk: an image of the shadow alone")
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, default=None, help="output HDF5 file")
    out.add_argument("--plot", type=Path, default=None, help="figure file (PNG/PDF)")
    parser.set_defaults(handler=run_bh_image)
    return parser


def build_scene(args: argparse.Namespace):
    """The :class:`~physml.simulators.bh_images.Scene` of parsed arguments (``ValueError`` on bad values)."""
    from physml.simulators.bh_images import Camera, Disk, KerrBlackHole, Scene

    disk = Disk(inner=args.disk_inner, outer=args.disk_outer, emissivity_index=args.emissivity)
    disk = None if args.no_disk else disk
    camera = Camera(inclination=args.inclination, fov=args.fov, resolution=args.resolution, r_obs=args.r_obs)
    return Scene(KerrBlackHole(mass=args.mass, spin=args.spin), camera, disk)


def write_image(path: Path, image) -> Path:
    """Write a :class:`~physml.simulators.bh_images.BHImage` to HDF5: ``intensity, redshift, status (ny, nx)``,
    ``alpha (nx,)``, ``beta (ny,)``; the scene's parameters as root attributes."""
    import h5py

    from physml.provenance import provenance

    scene = image.scene
    bh, cam = scene.black_hole, scene.camera
    attrs = {
        "mass": bh.mass, "spin": bh.spin, "inclination_deg": cam.inclination, "fov": cam.fov,
        "r_obs": cam.r_obs, "horizon": bh.horizon, "isco": bh.isco,
        "disk_inner": scene.disk_inner, "disk_outer": scene.disk.outer if scene.disk else float("nan"),
        "emissivity_index": scene.disk.emissivity_index if scene.disk else float("nan"),
        "redshift_power": scene.disk.redshift_power if scene.disk else float("nan"),
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["description"] = "ray-traced Kerr black-hole image (physml.simulators.bh_images); G = c = 1"
        for key, value in {**attrs, **provenance()}.items():
            f.attrs[key] = value
        for name, data, text in (
            ("intensity", image.intensity, "observed intensity g^p (r/M)^-q; 0 in the shadow and off the disk"),
            ("redshift", image.redshift, "g = nu_obs / nu_em where the ray meets the disk, else NaN"),
            ("status", image.rays.status, "ray fate: 0 escaped, 1 captured, 2 disk, 3 unfinished"),
            ("alpha", image.alpha, "image-plane coordinate perpendicular to the projected spin axis [length]"),
            ("beta", image.beta, "image-plane coordinate along the projected spin axis [length]"),
        ):
            f.create_dataset(name, data=data).attrs["description"] = text
    return path


def run_bh_image(args: argparse.Namespace) -> int:
    from physml.simulators.bh_images import DISK, plot_image, render

    if args.out is None and args.plot is None:
        raise ValueError("give --out FILE.h5 and/or --plot FILE.png: nothing would be written")
    image = render(build_scene(args))
    on_disk = int((image.rays.status == DISK).sum())
    print(f"traced {image.intensity.size} rays: {on_disk} meet the disk")
    if args.out is not None:
        print(f"wrote {write_image(args.out, image)}")
    if args.plot is not None:
        print(f"wrote {plot_image(image, args.plot)}")
    return 0
