"""``physml discover``: recover the equations behind physml's data by sparse regression, scored against the truth."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from physml.cli.arguments import add_command, integer, number, path

__all__ = ["register"]

#: The run made when no file is given: a shipped build config, fine in time.
DEFAULT_RUN = "discovery-schrodinger-1d"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``physml discover`` and its discoveries."""
    parser = subparsers.add_parser(
        "discover",
        help="recover governing equations from data (PDE-FIND, weak SINDy) and score them against the truth",
        description="Symbolic-fit discovery on physml data: each discovery prints the recovered equation with "
        "bootstrap uncertainties, writes result.json and a figure, and compares with the known law.",
    )
    kinds = parser.add_subparsers(dest="discovery", metavar="DISCOVERY", required=True)
    wave = add_command(
        kinds,
        "schrodinger",
        help="PDE-FIND on wave functions: i hbar psi_t = -(hbar^2/2m) Δpsi + V psi",
        description=(
            "Regress psi_t (as u_t, v_t with psi = u + i v) on a library of spatial derivatives up to "
            "--max-order of both components, the products V u, V v with the potential and the cubic terms "
            "|psi|^2 u, |psi|^2 v, by sequentially thresholded least squares (pysindy's STLSQ); bootstrap "
            "over trajectories gives each coefficient's spread. The weak form integrates against smooth test "
            "functions (no derivative of the data: robust to noise and to coarse saves); the strong form "
            "differentiates pointwise (spectral in x, 8th order in time: needs fine, clean saves). A fit whose "
            f"terms are collinear or unstable under the bootstrap is reported as not identifiable. Without "
            f"FILE, the shipped build {DEFAULT_RUN} (16 packets saved every 0.01) is made in --out first."
        ),
        epilog="examples:\n  physml discover schrodinger --out runs/discover\n"
        "  physml discover schrodinger data/schrodinger-1d.h5 --noise 0.01 --out runs/discover-noisy\n"
        "  physml discover schrodinger data/schrodinger-2d.h5 --form strong --out runs/discover-2d",
    )
    wave.add_argument("file", nargs="?", type=path, default=None, help="a schrodinger dataset file (optional)")
    wave.add_argument("--out", type=path, required=True, help="output directory (result.json, discovery.png)")
    wave.add_argument("--form", choices=("weak", "strong"), default="weak", help="weak (default) or strong form")
    wave.add_argument("--max-order", type=integer, default=None,
                      help="highest spatial derivative in the library (default: 4 in 1D, 3 in 2D)")  # fmt: skip
    _fit_arguments(wave)
    wave.set_defaults(handler=_schrodinger)
    near = add_command(
        kinds,
        "near-horizon",
        help="the wave equation psi_tt = psi_r*r* - V psi near a black hole, and V(r*) itself, from snapshots",
        description=(
            "From psi(t, r*) of a near_horizon 1D file: regress psi_tt on psi, its r* derivatives up to 4th "
            "order, V psi (the stored potential) and psi^3 in the weak form (test functions in t and r*), with "
            "bootstrap uncertainties; then recover V(r*) as unknown at every grid point the field reached, "
            "compare it with the simulator's Regge-Wheeler or Zerilli potential, and fit each Regge-Wheeler "
            "V(r) / (1 - 2M/r) in powers (M/r)^2 .. (M/r)^6 against l(l+1)/r^2 + 2(1-s^2) M/r^3."
        ),
        epilog="example:\n  physml discover near-horizon data/near-horizon-1d.h5 --split train --out runs/discover-nh",
    )
    near.add_argument("file", type=path, help="a near_horizon 1D dataset file")
    near.add_argument("--out", type=path, required=True, help="output directory (result.json, two figures)")
    _fit_arguments(near)
    near.set_defaults(handler=_near_horizon)
    isco = add_command(
        kinds,
        "isco",
        help="symbolic regression (pyoperon) of the Kerr ISCO radius against spin, a law of unknown form",
        description=(
            "Search expression trees (genetic programming, pyoperon) for r_isco(a)/M from +, -, *, /, square, "
            "square and cube roots, on spins in [-0.99, 0.99] (negative: retrograde orbits) with a quarter of "
            "the points held out; one search per seed. Prints each expression with its largest relative error "
            "on the fitted and the held-out spins."
        ),
        epilog="example:\n  physml discover isco --seeds 1 2 3 --out runs/discover-isco",
    )
    isco.add_argument("--out", type=path, required=True, help="output directory (result.json)")
    isco.add_argument("--seeds", type=integer, nargs="+", default=[1, 2, 3], help="one search per seed (1 2 3)")
    isco.add_argument("--generations", type=integer, default=1000, help="generations per search (default: 1000)")
    isco.add_argument("--points", type=integer, default=199, help="spins sampled (default: 199)")
    isco.set_defaults(handler=_isco)
    orbits = add_command(
        kinds,
        "orbits",
        help="Kepler's third law and Einstein's periapsis advance from integrated Schwarzschild orbits",
        description=(
            "Integrate bound timelike geodesics of a Schwarzschild hole (semi-major axis log-uniform in 30 .. "
            "1000 M, eccentricity 0.05 .. 0.7), measure each orbit's coordinate period and periapsis advance, and "
            "fit log(T/2pi) over {log a, 1, M/a, e^2 M/a, (M/a)^2} (Kepler: 3/2 on log a) and dphi/u, u = M/(a(1 - "
            "e^2)), over {1, e^2, u, e^2 u, u^2} (Einstein: 6 pi on 1), by sparse regression with bootstrap."
        ),
        epilog="example:\n  physml discover orbits --orbits 40 --out runs/discover-orbits",
    )
    orbits.add_argument("--out", type=path, required=True, help="output directory (result.json)")
    orbits.add_argument("--orbits", type=integer, default=40, help="orbits integrated (default: 40)")
    orbits.add_argument("--bootstrap", type=integer, default=50, help="bootstrap fits (default: 50)")
    orbits.add_argument("--seed", type=integer, default=0, help="seed of the orbits and the bootstrap (default: 0)")
    orbits.set_defaults(handler=_orbits)
    audit = add_command(
        kinds,
        "audit",
        help="PDE-FIND on a trained surrogate's rollouts, next to the simulator's: did it learn the physics?",
        description=(
            "Roll a model trained on a schrodinger dataset out from each trajectory's first save(s) over the "
            "whole file, and run the weak-form PDE-FIND of `physml discover schrodinger` on its rollouts and on "
            "the simulator's trajectories with the same settings. A surrogate that learned the equation returns "
            "its coefficients and no other term; wrong coefficients and spurious terms (a phase drift, "
            "diffusion, a fake nonlinearity) score what nRMSE does not."
        ),
        epilog="example:\n  physml discover audit runs/fno/best.pt data/schrodinger-1d.h5 --out runs/audit",
    )
    audit.add_argument("checkpoint", type=path, help="a checkpoint written by physml train")
    audit.add_argument("file", type=path, help="the schrodinger dataset file to roll out over")
    audit.add_argument("--out", type=path, required=True, help="output directory (audit.json, two figures)")
    audit.add_argument("--split", choices=("train", "val", "test", "extrapolation"), default="test",
                       help="trajectories to roll out (default: test)")  # fmt: skip
    audit.add_argument("--trajectories", type=integer, default=None, help="use the first N of them")
    audit.add_argument("--threshold", type=number, default=0.01, help="STLSQ threshold (default: 0.01)")
    audit.add_argument("--bootstrap", type=integer, default=50, help="bootstrap fits (default: 50)")
    audit.add_argument("--device", default="cpu", help="where the model runs (default: cpu)")
    audit.set_defaults(handler=_audit)


def _fit_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every fit of a field shares: noise, threshold, bootstrap, which trajectories, seed."""
    parser.add_argument("--noise", type=number, default=0.0,
                        help="add Gaussian noise of this fraction of psi's RMS first (default: 0)")  # fmt: skip
    parser.add_argument("--threshold", type=number, default=0.01,
                        help="drop terms carrying less than this share of the target (default: 0.01)")  # fmt: skip
    parser.add_argument("--bootstrap", type=integer, default=50, help="bootstrap fits (default: 50)")
    parser.add_argument("--trajectories", type=integer, default=None, help="use the first N trajectories")
    parser.add_argument("--split", choices=("train", "val", "test", "extrapolation"), default=None,
                        help="use this split only (default: every trajectory)")  # fmt: skip
    parser.add_argument("--seed", type=integer, default=0, help="seed of the noise and the bootstrap (default: 0)")


def _schrodinger(args: argparse.Namespace) -> int:
    from physml.discovery import discover_schrodinger
    from physml.discovery.schrodinger import check_settings
    from physml.plots.discovery import plot_coefficients

    check_settings(form=args.form, noise=args.noise, max_order=args.max_order, threshold=args.threshold,
                   bootstrap=args.bootstrap, seed=args.seed, trajectories=args.trajectories)  # fmt: skip
    source = args.file
    if source is None:
        from physml.datasets import build_dataset, load_config

        source = args.out / f"{DEFAULT_RUN}.h5"
        if not source.exists():
            build_dataset(load_config(DEFAULT_RUN), source, progress=False)
    result = discover_schrodinger(
        source, form=args.form, noise=args.noise, max_order=args.max_order, threshold=args.threshold,
        bootstrap=args.bootstrap, seed=args.seed, trajectories=args.trajectories, split=args.split,
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps(result.to_dict(), indent=2))
    plot_coefficients(result, args.out / "discovery.png")
    print(_report(result, args.out))
    return 0


def _near_horizon(args: argparse.Namespace) -> int:
    import numpy as np

    from physml.discovery.wave import discover_wave_equation, read_master_fields, recover_potential
    from physml.plots.discovery import plot_coefficients, plot_potential

    data = read_master_fields(args.file, split=args.split, trajectories=args.trajectories)
    result = discover_wave_equation(data, noise=args.noise, threshold=args.threshold, bootstrap=args.bootstrap,
                                    seed=args.seed)  # fmt: skip
    result = dataclasses.replace(result, source=str(args.file))
    potential = recover_potential(data)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps({**result.to_dict(), "potential": potential.to_dict()}, indent=2))
    plot_coefficients(result, args.out / "discovery.png")
    plot_potential(potential, data.parameters, args.out / "potential.png")
    print(_report(result, args.out, written=False))
    print(f"V(r*) recovered from psi: error / barrier height, median {np.nanmedian(potential.error):.3g}, "
          f"largest {np.nanmax(potential.error):.3g} over {len(potential.error)} trajectories")  # fmt: skip
    if potential.series:
        share = potential.series_agreement()
        print(f"Regge-Wheeler V / (1 - 2M/r) in powers of M/r, {len(potential.series)} trajectories: l(l+1) within "
              f"1 % in {share['leading']:.0%}, 2(1 - s^2) within 0.05 in {share['second']:.0%}, every other power "
              f"below 0.05 in {share['rest']:.0%}")  # fmt: skip
    print(f"wrote {args.out / 'result.json'}, {args.out / 'discovery.png'} and {args.out / 'potential.png'}")
    return 0


def _isco(args: argparse.Namespace) -> int:
    from physml.discovery.symbolic import discover_isco

    laws = discover_isco(points=args.points, seeds=tuple(args.seeds), generations=args.generations)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps([law.to_dict() for law in laws], indent=2))
    for law in laws:
        print(f"seed {law.seed}: r_isco/M = {law.expression}")
        print(f"  largest relative error: fitted spins {law.train_error:.3g}, held-out spins {law.test_error:.3g} "
              f"({law.length} nodes, {law.seconds:.1f} s)")  # fmt: skip
    print(f"wrote {args.out / 'result.json'}")
    return 0


def _orbits(args: argparse.Namespace) -> int:
    from physml.discovery.orbits import discover_orbit_laws

    laws = discover_orbit_laws(orbits=args.orbits, bootstrap=args.bootstrap, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps(laws.to_dict(), indent=2))
    for fit in (laws.kepler, laws.precession):
        i = 0
        terms = " + ".join(
            f"({c:+.7g} ± {fit.std[i, fit.terms.index(t)]:.2g}) {t}" for t, c in fit.support(fit.targets[0]).items()
        )
        print(f"{fit.targets[0]} = {terms}")
    print("known law: " + ", ".join(f"{k} (error {100 * v:.3g} %)" for k, v in laws.errors().items()))
    print("second order of the advance (fitted / Schwarzschild): "
          + ", ".join(f"{t}: {f:.4g} / {v:.4g}" for t, (f, v) in laws.second_order().items()))  # fmt: skip
    print(f"wrote {args.out / 'result.json'}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from physml.discovery import audit_surrogate
    from physml.plots.discovery import plot_coefficients

    result = audit_surrogate(args.checkpoint, args.file, split=args.split, trajectories=args.trajectories,
                             device=args.device, threshold=args.threshold, bootstrap=args.bootstrap)  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "audit.json").write_text(json.dumps(result.to_dict(), indent=2))
    plot_coefficients(result.model, args.out / "model.png")
    plot_coefficients(result.data, args.out / "data.png")
    print(f"rollouts of {result.rollout_steps} steps:")
    print("surrogate:", _report(result.model, args.out, written=False))
    print("simulator:", _report(result.data, args.out, written=False))
    print(f"wrote {args.out / 'audit.json'}, {args.out / 'model.png'} and {args.out / 'data.png'}")
    return 0


def _report(result, out: Path, *, written: bool = True) -> str:
    fit = result.fit
    lines = [f"PDE-FIND ({result.form} form) on {result.source}, noise {result.noise:g} of RMS(psi); "
             f"{fit.settings['rows']} rows from {fit.settings['blocks']} trajectories"]  # fmt: skip
    for target in fit.targets:
        i = fit.targets.index(target)
        parts = []
        for term, c in fit.support(target).items():
            j = fit.terms.index(term)
            spread = f" ± {fit.std[i, j]:.2g}" if fit.settings["bootstrap"] else ""
            parts.append(f"({c:+.6g}{spread}) {term}")
        lines.append(f"  {target} = " + (" + ".join(parts) if parts else "0"))
    errors = result.errors()
    lines.append("known law: " + ", ".join(f"{t}: {term} {c:+g} (error {100 * errors[(t, term)]:.3g} %)"
                                           for (t, term), c in result.truth.items()))  # fmt: skip
    spurious = result.spurious()
    lines.append(f"spurious terms: {', '.join(f'{t}: {term}' for t, term in spurious) if spurious else 'none'}")
    lines.append("identifiable" if fit.identifiable else f"NOT IDENTIFIABLE: {fit.reason}")
    if written:
        lines.append(f"wrote {out / 'result.json'} and {out / 'discovery.png'}")
    return "\n".join(lines)
