"""``physml discover``: recover the equations behind physml's data by sparse regression, scored against the truth."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from physml.cli.arguments import add_command, add_progress, integer, number, path

__all__ = ["register"]

#: The run made when no file is given: a shipped build config, fine in time.
DEFAULT_RUN = "discovery-schrodinger-1d"
#: ``physml.discovery.critical.MIN_RUNGS``, for the help without importing numpy (a test keeps them equal).
CRITICAL_MIN_RUNGS = 8


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
    _register_critical(kinds)
    ringdown = add_command(
        kinds,
        "ringdown",
        help="quasinormal-mode laws in l (eikonal limit and its corrections) and Price's tail law, from evolutions",
        description=(
            "Evolve a pulse on the Regge-Wheeler potential for each spin s and multipole l, fit the fundamental "
            "quasinormal frequency (Richardson-extrapolated from spacings 4h, 2h, h; checked against Leaver's "
            "continued fraction), and regress Re and Im of sqrt(27) M omega on {L, 1, 1/L, s^2/L, 1/L^2, s^2/L^2, "
            "1/L^3, s^2/L^3, s^4/L^3}, L = l + 1/2, by sparse regression with a bootstrap over the measurement "
            "errors, the threshold chosen by stability. Scored on the large-l expansion sqrt(27) M omega = L - i/2 "
            "+ [(1 - s^2)/3 - 65/216]/L - i[(1 - s^2)/18 - 295/7776]/L^2. Then measure the late-time tail "
            "psi ~ t^p at fixed r for l = 0 .. 2 and fit p over {1, l, s} (Price: p = -(2l + 3)). "
            "~4 min on 2 cores at the defaults."
        ),
        epilog="example:\n  physml discover ringdown --out runs/discover-ringdown",
    )
    ringdown.add_argument("--out", type=path, required=True, help="output directory (result.json, ringdown.png)")
    ringdown.add_argument("--spins", type=integer, nargs="+", default=[0, 1, 2], help="spins s (default: 0 1 2)")
    ringdown.add_argument("--ells", type=integer, nargs="+", default=list(range(2, 9)),
                          help="multipoles l of the QNM fit (default: 2 .. 8)")  # fmt: skip
    ringdown.add_argument("--h", type=number, default=0.05, help="finest grid spacing [M] (default: 0.05)")
    ringdown.add_argument("--bootstrap", type=integer, default=200, help="bootstrap fits (default: 200)")
    ringdown.add_argument("--seed", type=integer, default=0, help="seed of the bootstrap (default: 0)")
    add_progress(ringdown)
    ringdown.set_defaults(handler=_ringdown)
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
        print(f"{fit.targets[0]} = {_terms(fit, value='+.7g', spread='.2g')}")
    print("known law: " + ", ".join(f"{k} (error {100 * v:.3g} %)" for k, v in laws.errors().items()))
    print("second order of the advance (fitted / Schwarzschild): "
          + ", ".join(f"{t}: {f:.4g} / {v:.4g}" for t, (f, v) in laws.second_order().items()))  # fmt: skip
    print(f"wrote {args.out / 'result.json'}")
    return 0


def _register_critical(kinds: argparse._SubParsersAction) -> None:
    from physml.cli.critical import add_search_arguments
    from physml.cli.families.collapse import UNITS, add_shell_and_grid_arguments

    critical = add_command(
        kinds,
        "critical",
        help="Choptuik's gamma with the periodic wiggle of the masses, and the echo period, from critical collapse",
        description=(
            "Bisect to the threshold p* of a family of scalar-field shells (as physml critical does), evolve a "
            "ladder of --rungs supercritical amplitudes, and fit ln M = gamma x + c + A sin(2 pi x / varpi + phi), "
            "x = ln(p - p*), by nonlinear least squares beside the plain line: the wiggle's period varpi = "
            "Delta / (2 gamma) gives the echo period Delta from the masses alone. Then fit T* - T_k = B exp(-k "
            "Delta/2) to the zeros T_k of the central field of the most nearly critical run. Every number comes "
            "with its standard error (fit covariance) and its error against the published gamma = 0.374 and Delta "
            "= 3.4453; a wiggle that does not beat the line (F-test, look-elsewhere corrected) is reported as not "
            "identifiable. Resolving it needs ~20 or more rungs over 1e-2 .. 1e-11 (4.5 periods). " + UNITS
        ),
        epilog="example (docs/discovery.md: 40 holes over 20.7 e-folds, Delta from wiggle and echoes; ~3 min):\n"
        "  physml discover critical --bracket 0.0448,0.0450 --rungs 40 --out runs/discover-critical",
    )
    add_search_arguments(critical, rungs=40, fewest=CRITICAL_MIN_RUNGS)
    critical.add_argument("--out", type=path, required=True, help="output directory (result.json, critical.png)")
    add_shell_and_grid_arguments(critical, n=400, stretch=6.0)
    add_progress(critical)
    critical.set_defaults(handler=_critical)


def _critical(args: argparse.Namespace) -> int:
    import math

    from physml.cli.critical import search_and_ladder
    from physml.discovery.critical import MIN_RUNGS, discover_critical_laws
    from physml.plots.collapse import plot_critical_laws

    search, scaling = search_and_ladder(args, fewest=MIN_RUNGS)
    laws = discover_critical_laws(search, scaling)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps(laws.to_dict(), indent=2))
    plot_critical_laws(laws, args.out / "critical.png")
    s, e = laws.scaling, laws.echoes
    print(f"{len(s.masses)} black holes over {s.efolds:.1f} e-folds of p - p*")
    print(f"line:          gamma = {s.line_gamma:.5f} ± {s.line_gamma_error:.5f}  (residual RMS {s.line_rms:.2g})")
    print(f"line + wiggle: gamma = {s.gamma:.5f} ± {s.gamma_error:.5f}, varpi = {s.period:.3f} ± {s.period_error:.3f}, "
          f"A = {s.amplitude:.4f} ± {s.amplitude_error:.4f}  (residual RMS {s.rms:.2g}, F = {s.f_statistic:.3g}, "
          f"false-alarm probability {s.false_alarm:.2g})")  # fmt: skip
    print("  wiggle identifiable" if s.identifiable else f"  wiggle NOT IDENTIFIABLE: {s.reason}")
    for name, law in (("subcritical", e), ("supercritical", laws.echoes_check)):
        if math.isnan(law.delta):
            print(f"echo law ({name} end): none, {law.reason}")
            continue
        state = "" if law.identifiable else f"  NOT IDENTIFIABLE: {law.reason}"
        print(f"echo law ({name} end, {len(law.zeros)} zeros): Delta = {law.delta:.4f} ± {law.delta_error:.4f}; "
              f"log gaps {law.gap_delta:.4f} ± {law.gap_delta_error:.4f}; pairwise mean {law.pairwise_delta:.4f} ± "
              f"{law.pairwise_error:.4f}{state}")  # fmt: skip
    for name, err in laws.errors().items():
        note = " (wiggle not identifiable)" if "wiggle" in name and not s.identifiable else ""
        if not math.isnan(err["value"]):
            print(f"{name:30s} {err['value']:.5f} ± {err['error']:.5f}: {100 * err['relative_error']:+.3f} % of the "
                  f"published value ({err['sigmas']:+.1f} sigma){note}")  # fmt: skip
    print(f"wrote {args.out / 'result.json'} and {args.out / 'critical.png'}")
    return 0


def _ringdown(args: argparse.Namespace) -> int:
    import numpy as np

    from physml.discovery.ringdown import discover_qnm_laws, discover_tail_law, measure_qnms, measure_tails
    from physml.discovery.sparse import check_count
    from physml.plots.discovery import plot_ringdown_laws

    check_count("bootstrap", args.bootstrap, 0, 1000)  # before minutes of evolutions, not after
    check_count("seed", args.seed, 0)
    table = measure_qnms(args.spins, args.ells, h=args.h, progress=args.progress)
    laws = discover_qnm_laws(table, bootstrap=args.bootstrap, seed=args.seed)
    tails = discover_tail_law(measure_tails(), bootstrap=args.bootstrap, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps({"qnm": laws.to_dict(), "tails": tails.to_dict()}, indent=2))
    plot_ringdown_laws(laws, tails, args.out / "ringdown.png")
    error = np.abs(table.omega / table.leaver - 1)
    print(f"{len(table.s)} fundamental modes, Richardson from h = {4 * args.h:g}, {2 * args.h:g}, {args.h:g}: "
          f"largest deviation from Leaver {error.max():.2g} (relative)")  # fmt: skip
    for fit in (laws.real, laws.imag):
        print(
            f"{fit.targets[0]} sqrt(27) M omega = {_terms(fit)}  (threshold {fit.settings['threshold']:g}; "
            + ("identifiable)" if fit.identifiable else f"NOT IDENTIFIABLE: {fit.reason})")
        )
    scored = [f"{k} (error {100 * v:.3g} %; moves {laws.shift(*k.split(': ')):.2g} without the lowest l)"
              for k, v in laws.errors().items()]  # fmt: skip
    print("expansion: " + ", ".join(scored))
    for s, c in laws.corrections().items():
        print(f"  s = {s}: 1/L coefficient of Re {c['Re 1/L']:+.5f} (expansion {c['Re 1/L expansion']:+.5f}), "
              f"1/L^2 of Im {c['Im 1/L^2']:+.5f} (expansion {c['Im 1/L^2 expansion']:+.5f})")  # fmt: skip
    print(f"spurious terms (wrong parity in 1/L): {', '.join(laws.spurious()) or 'none'}")
    cases = ", ".join(f"(s={s}, l={ell}) {p:.3f} ± {e:.2g}" for s, ell, p, e in
                      zip(tails.s, tails.l, tails.exponent, tails.error))  # fmt: skip
    print(f"tail exponents at fixed r: {cases}")
    law = " ".join(f"{c:+d}" if t == "1" else f"{c:+d} {t}" for t, c in tails.integer_law().items())
    print(f"p = {_terms(tails.fit)}  ->  integer law p = {law}")
    print(f"wrote {args.out / 'result.json'} and {args.out / 'ringdown.png'}")
    return 0


def _terms(fit, *, value: str = "+.6g", spread: str = ".1g") -> str:
    """``(c ± std) term + ...`` of a one-target fit, each number in the given format."""
    target = fit.targets[0]
    return " + ".join(f"({c:{value}} ± {fit.std[0, fit.terms.index(t)]:{spread}}) {t}"
                      for t, c in fit.support(target).items())  # fmt: skip


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
