"""``physml qnm``: quasinormal modes and the late-time tail of a ringdown, evolved here or read from a file."""

from __future__ import annotations

import argparse

from physml.cli.arguments import add_command, figure, integer, number, pair
from physml.cli.families.near_horizon import UNITS, add_perturbation_arguments

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``physml qnm``."""
    parser = add_command(
        subparsers,
        "qnm",
        help="quasinormal modes and late-time tail of a ringdown (evolved here or read from a file)",
        description=(
            "Fit damped sinusoids (matrix pencil, refined by least squares, with overtones) to the ringdown "
            "of a waveform and report the fundamental quasinormal frequency M*omega (e^{-i omega t}: "
            "Im omega < 0) with an uncertainty from shifting the fit window, and the late-time power law "
            "psi ~ t^p. Without FILE, the perturbation given by --s/--l/... is evolved first; with FILE "
            "(from `physml simulate near-horizon` or a near_horizon dataset) a stored waveform is used. " + UNITS
        ),
        epilog="examples:\n  physml qnm --s 2 --l 2 --equation zerilli --plot qnm.png\n"
        "  physml qnm rw.h5 --waveform psi_at_100M --t-start 130 --t-end 230",
    )
    parser.add_argument("file", nargs="?", default=None, help="HDF5 file holding the waveform (optional)")
    source = parser.add_argument_group("waveform from a file")
    source.add_argument("--waveform", default=None, help="scalar series to fit, e.g. psi_at_100M (default: the first)")
    source.add_argument("--trajectory", type=integer, default=0, help="trajectory index in the file (default: 0)")
    add_perturbation_arguments(parser, scheme_default="double-null")
    run = parser.add_argument_group("evolution and fit")
    run.add_argument("--r-star", type=number, default=50.0, help="extraction radius r* when evolving [M] (default: 50)")
    run.add_argument("--t-final", type=number, default=None,
                     help="duration when evolving [M] (default: long enough for the tail window)")  # fmt: skip
    run.add_argument("--t-start", type=number, default=None,
                     help="ringdown window start [M] (default: 10 M after the waveform's peak)")  # fmt: skip
    run.add_argument(
        "--t-end",
        type=number,
        default=None,
        help="ringdown window end [M] (default: 150 M after the peak, or the end of the data)",
    )
    run.add_argument("--modes", type=integer, default=3,
                     help="damped sinusoids fitted, fundamental + overtones (default: 3)")  # fmt: skip
    run.add_argument("--tail", type=pair, default=None,
                     help="also fit the late-time power law on T0,T1 [M] (default: off)")  # fmt: skip
    run.add_argument("--plot", type=figure, default=None, help="save a figure of the waveform, its fit and residual")
    parser.set_defaults(handler=run_qnm)


def run_qnm(args: argparse.Namespace) -> int:
    import numpy as np

    from physml.simulators.near_horizon.analysis import analyse_ringdown, reference_qnm

    if args.file is not None:
        t, y, label, mass = _read_waveform(args.file, args.waveform, args.trajectory)
        reference = None
    else:
        from physml.simulators.near_horizon import Perturbation, evolve, gaussian_pulse

        if args.amplitude == 0:
            raise ValueError("amplitude = 0 is invalid: a zero pulse leaves no ringdown to fit")
        perturbation = Perturbation(s=args.s, l=args.l, mass=args.mass, equation=args.equation)
        pulse = gaussian_pulse(center=args.center, width=args.width, amplitude=args.amplitude, direction=args.direction)
        from physml.simulators.limits import check_steps

        t_final = args.t_final or max(400.0 * args.mass, (args.tail or [0, 0])[1] + 50.0)
        if args.t_final is None:  # say where a default too long to evolve came from
            check_steps((t_final / args.h) ** 2, what=f"mass = {args.mass!r} (t_final = 400 M) with h = {args.h!r}")
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
        from physml.plots.near_horizon import plot_ringdown

        plot_ringdown(t, y, result, args.plot, title=label)
        print(f"wrote {args.plot}")
    return 0


def _read_waveform(path: str, name: str | None, trajectory: int):
    """The waveform, its times, a label, and the hole's mass (per trajectory, file-wide, else 1)."""
    from pathlib import Path

    import numpy as np

    from physml.datasets.schema import open_h5, reading

    if not Path(path).is_file():
        raise ValueError(f"file = {path!r} is invalid: no such file")
    with reading(path), open_h5(path) as f:  # what the file holds (a damaged one: a DataFileError naming it)
        well = "scalars" in f and "dimensions" in f and "time" in f["dimensions"]
        names = [n for n in f["scalars"] if n.startswith("psi_at_")] if well else []
        rows = {n: f["scalars"][n].shape[0] if f["scalars"][n].ndim else 0 for n in names}
    if not well:
        raise ValueError(f"file = {path!r} is invalid: not a Well-layout file (no scalars/ or dimensions/time)")
    if not names:
        raise ValueError(f"file = {path!r} is invalid: it holds no waveform series (psi_at_...)")
    name = name or names[0]
    if name not in names:
        raise ValueError(f"waveform = {name!r} is invalid: choose one of {', '.join(names)}")
    if not 0 <= trajectory < rows[name]:
        raise ValueError(f"trajectory = {trajectory!r} is invalid: the file holds 0 .. {rows[name] - 1}")
    with reading(path), open_h5(path) as f:
        y = np.asarray(f["scalars"][name][trajectory], dtype=np.float64)
        t = np.asarray(f["dimensions"]["time"], dtype=np.float64)
        per_trajectory = f["scalars"].get("mass")
        mass = float(per_trajectory[trajectory] if per_trajectory is not None else f.attrs.get("mass", 1.0))
    if t.ndim != 1 or t.shape != y.shape:
        raise ValueError(f"file = {path!r} is invalid: {name} has {y.shape} values for times of shape {t.shape}")
    return t, y, f"{path} [{name}, trajectory {trajectory}, M = {mass:g}]", mass
