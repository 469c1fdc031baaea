"""``physml simulate near-horizon`` (evolve one multipole) and ``physml qnm`` (quasinormal modes of a ringdown)."""

from __future__ import annotations

import argparse
import textwrap

import numpy as np

from physml.cli.arguments import floats

__all__ = ["add_simulate_parser", "register"]

UNITS = (
    "Units: G = c = 1; lengths and times (--center, --width, --h, --r-star, --t-final, windows) are in the "
    "unit --mass is given in, so with the default M = 1 they are multiples of M; frequencies are reported "
    "as M*omega."
)


def _perturbation_arguments(parser: argparse.ArgumentParser, *, scheme_default: str) -> None:
    from physml.simulators.near_horizon import DIRECTIONS, EQUATIONS, SCHEMES

    field = parser.add_argument_group("perturbation")
    field.add_argument(
        "--s", type=int, default=2, help="spin: 0 scalar, 1 electromagnetic, 2 gravitational (default: 2)"
    )
    field.add_argument("--l", type=int, default=2, help="multipole index, l >= s (default: 2)")
    field.add_argument("--mass", type=float, default=1.0, help="black-hole mass M > 0 (default: 1)")
    field.add_argument(
        "--equation",
        choices=EQUATIONS,
        default="regge-wheeler",
        help="Regge-Wheeler (any s) or Zerilli (s = 2) (default: regge-wheeler)",
    )
    pulse = parser.add_argument_group("initial pulse (Gaussian in r*)")
    pulse.add_argument("--center", type=float, default=20.0, help="centre in r* at t = 0 [M] (default: 20)")
    pulse.add_argument("--width", type=float, default=2.0, help="standard deviation in r* [M] (default: 2)")
    pulse.add_argument("--amplitude", type=float, default=1.0, help="amplitude (default: 1)")
    pulse.add_argument(
        "--direction",
        choices=DIRECTIONS,
        default="ingoing",
        help="ingoing, outgoing or time-symmetric (MOL only) (default: ingoing)",
    )
    num = parser.add_argument_group("numerics")
    num.add_argument(
        "--scheme",
        choices=sorted(SCHEMES),
        default=scheme_default,
        help=f"mol (order 4) or double-null (GPP, order 2) (default: {scheme_default})",
    )
    num.add_argument("--h", type=float, default=0.1, help="grid spacing in r* (or u, v) [M] (default: 0.1)")


def add_simulate_parser(families: argparse._SubParsersAction) -> None:
    """Add ``physml simulate near-horizon``."""
    parser = families.add_parser(
        "near-horizon",
        help="Regge-Wheeler/Zerilli perturbation of a Schwarzschild black hole",
        description=textwrap.fill(
            "Evolve one multipole of a scalar, electromagnetic or gravitational perturbation of a "
            "Schwarzschild black hole, -psi_tt + psi_r*r* - V(r) psi = 0, from a Gaussian pulse, and write a "
            "Well-layout HDF5 file: psi(t, r*) snapshots with V (method of lines) or the waveforms at the "
            "extraction radii (double null), and the waveforms as scalar series. " + UNITS,
            100,
        ),
        epilog="example:\n  physml simulate near-horizon --s 2 --l 2 --t-final 300 --extract-at=-20,10,100 "
        "--out rw.h5 --plot rw.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _perturbation_arguments(parser, scheme_default="mol")
    run = parser.add_argument_group("run and output")
    run.add_argument("--t-final", type=float, default=300.0, help="duration [M] (default: 300)")
    run.add_argument(
        "--extract-at",
        type=floats,
        default=[-20.0, 10.0, 100.0],
        help="r* of the waveforms, comma-separated [M] (default: -20,10,100)",
    )
    run.add_argument("--save-every", type=float, default=0.5, help="time between saves [M] (default: 0.5)")
    run.add_argument(
        "--window",
        type=floats,
        default=[-50.0, 150.0],
        help="r* range of the stored snapshots (MOL) [M] (default: -50,150)",
    )
    run.add_argument("--out", required=True, help="output HDF5 file (The Well layout)")
    run.add_argument("--plot", default=None, help="also save a figure of the waveforms (and psi(t, r*))")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run_simulate)


def _build(args: argparse.Namespace):
    from physml.simulators.near_horizon import Perturbation, gaussian_pulse

    perturbation = Perturbation(s=args.s, l=args.l, mass=args.mass, equation=args.equation)
    pulse = gaussian_pulse(center=args.center, width=args.width, amplitude=args.amplitude, direction=args.direction)
    return perturbation, pulse


def run_simulate(args: argparse.Namespace) -> int:
    from physml.datasets.families.near_horizon import NearHorizonFamily
    from physml.datasets.well import write_trajectories
    from physml.simulators.near_horizon import Snapshots, evolve

    perturbation, pulse = _build(args)
    if not (args.save_every > 0 and len(args.window) == 2):
        raise ValueError(f"save_every = {args.save_every!r} / window = {args.window!r} are invalid: need > 0 and lo,hi")
    n_saves = max(1, round(args.t_final / args.save_every))
    snapshots = Snapshots(*args.window, n_saves=n_saves) if args.scheme == "mol" else None
    run = evolve(
        perturbation,
        pulse,
        t_final=args.t_final,
        extract_at=args.extract_at,
        scheme=args.scheme,
        h=args.h,
        snapshots=snapshots,
        progress=not args.no_progress,
    )
    if snapshots is not None:
        times = run.snapshot_t
        every = np.round(times / (run.t[1] - run.t[0])).astype(np.int64)
        axes, psi = {"r_star": run.snapshot_r_star}, run.snapshots
    else:  # the double-null waveforms, every ~save_every, where every radius has a value
        step = max(1, round(args.save_every / run.h))
        every = np.flatnonzero(np.all(np.isfinite(run.waveforms), axis=0))[::step]
        times = run.t[every]
        axes, psi = {"r_star": run.r_star}, run.waveforms[:, every].T
    scalars = {NearHorizonFamily.waveform_name(x): run.waveforms[o, every][None] for o, x in enumerate(run.r_star)}
    write_trajectories(
        args.out,
        dataset_name="near_horizon",
        axes=axes,
        time=times,
        fields={"psi": psi[None]},
        static_fields={"potential": perturbation.potential_at(axes["r_star"])[None]},
        scalars=scalars,
        parameters={"s": args.s, "l": args.l, "mass": args.mass, "h": args.h},
        config={k: v for k, v in vars(args).items() if k != "handler"},
        bc_type="open",
    )
    print(
        f"wrote {args.out}: {perturbation.describe()}, {args.scheme}, {len(times)} saves, "
        f"waveforms at r* = {', '.join(f'{x:g}' for x in run.r_star)}"
    )
    if args.plot:
        from physml.plots_near_horizon import plot_near_horizon_run

        plot_near_horizon_run(run, args.plot)
        print(f"wrote {args.plot}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``physml qnm``."""
    parser = subparsers.add_parser(
        "qnm",
        help="quasinormal modes and late-time tail of a ringdown (evolved here or read from a file)",
        description=textwrap.fill(
            "Fit damped sinusoids (matrix pencil, refined by least squares, with overtones) to the ringdown "
            "of a waveform and report the fundamental quasinormal frequency M*omega (e^{-i omega t}: "
            "Im omega < 0) with an uncertainty from shifting the fit window, and the late-time power law "
            "psi ~ t^p. Without FILE, the perturbation given by --s/--l/... is evolved first; with FILE "
            "(from `physml simulate near-horizon` or a near_horizon dataset) a stored waveform is used. " + UNITS,
            100,
        ),
        epilog="examples:\n  physml qnm --s 2 --l 2 --equation zerilli --plot qnm.png\n"
        "  physml qnm rw.h5 --waveform psi_at_100M --t-start 130 --t-end 230",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", nargs="?", default=None, help="HDF5 file holding the waveform (optional)")
    source = parser.add_argument_group("waveform from a file")
    source.add_argument("--waveform", default=None, help="scalar series to fit, e.g. psi_at_100M (default: the first)")
    source.add_argument("--trajectory", type=int, default=0, help="trajectory index in the file (default: 0)")
    _perturbation_arguments(parser, scheme_default="double-null")
    run = parser.add_argument_group("evolution and fit")
    run.add_argument("--r-star", type=float, default=50.0, help="extraction radius r* when evolving [M] (default: 50)")
    run.add_argument(
        "--t-final",
        type=float,
        default=None,
        help="duration when evolving [M] (default: long enough for the tail window)",
    )
    run.add_argument(
        "--t-start",
        type=float,
        default=None,
        help="ringdown window start [M] (default: 10 M after the waveform's peak)",
    )
    run.add_argument(
        "--t-end",
        type=float,
        default=None,
        help="ringdown window end [M] (default: 150 M after the peak, or the end of the data)",
    )
    run.add_argument(
        "--modes", type=int, default=3, help="damped sinusoids fitted, fundamental + overtones (default: 3)"
    )
    run.add_argument(
        "--tail", type=floats, default=None, help="also fit the late-time power law on T0,T1 [M] (default: off)"
    )
    run.add_argument("--plot", default=None, help="save a figure of the waveform, the fit and its residual")
    parser.set_defaults(handler=run_qnm)


def run_qnm(args: argparse.Namespace) -> int:
    from physml.simulators.near_horizon.analysis import analyse_ringdown, reference_qnm

    if args.file is not None:
        t, y, label, mass = _read_waveform(args.file, args.waveform, args.trajectory)
        reference = None
    else:
        from physml.simulators.near_horizon import evolve

        perturbation, pulse = _build(args)
        t_final = args.t_final or max(400.0 * args.mass, (args.tail or [0, 0])[1] + 50.0)
        run = evolve(perturbation, pulse, t_final=t_final, extract_at=[args.r_star], scheme=args.scheme, h=args.h)
        keep = np.isfinite(run.waveforms[0])
        t, y = run.t[keep], run.waveforms[0][keep]
        label = f"{perturbation.describe()}, {args.scheme}, h = {args.h:g}, r* = {run.r_star[0]:g}"
        mass, reference = args.mass, reference_qnm(args.s, args.l)
    result = analyse_ringdown(
        t, y, t_start=args.t_start, t_end=args.t_end, n_modes=args.modes, mass=mass, tail=args.tail
    )
    print(result.summary(label, reference=reference, mass=mass))
    if args.plot:
        from physml.plots_near_horizon import plot_ringdown

        plot_ringdown(t, y, result, args.plot, title=label)
        print(f"wrote {args.plot}")
    return 0


def _read_waveform(path: str, name: str | None, trajectory: int) -> tuple[np.ndarray, np.ndarray, str, float]:
    """The waveform, its times, a label, and the hole's mass (per trajectory, file-wide, else 1)."""
    from pathlib import Path

    import h5py

    if not Path(path).is_file():
        raise ValueError(f"file = {path!r} is invalid: no such file")
    with h5py.File(path, "r") as f:
        if "scalars" not in f or "dimensions" not in f:
            raise ValueError(f"file = {path!r} is invalid: not a Well-layout file (no scalars/ or dimensions/ group)")
        names = [n for n in f["scalars"] if n.startswith("psi_at_")]
        if not names:
            raise ValueError(f"file = {path!r} is invalid: it holds no waveform series (psi_at_...)")
        name = name or names[0]
        if name not in names:
            raise ValueError(f"waveform = {name!r} is invalid: choose one of {', '.join(names)}")
        series = f["scalars"][name]
        if not 0 <= trajectory < series.shape[0]:
            raise ValueError(f"trajectory = {trajectory!r} is invalid: the file holds 0 .. {series.shape[0] - 1}")
        y = np.asarray(series[trajectory], dtype=np.float64)
        t = np.asarray(f["dimensions"]["time"], dtype=np.float64)
        per_trajectory = f["scalars"].get("mass")
        mass = float(per_trajectory[trajectory] if per_trajectory is not None else f.attrs.get("mass", 1.0))
    return t, y, f"{path} [{name}, trajectory {trajectory}, M = {mass:g}]", mass
