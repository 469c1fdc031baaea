"""``physml evaluate CHECKPOINT DATA.h5``: errors of trained models and of persistence, with plots and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from physml.cli.arguments import integer, number, path, split_name

#: The square grid's symmetries (physml.datasets.symmetry.ORIENTATIONS; named here to keep --help light).
ORIENTATION_NAMES = ("identity", "rotate-90", "rotate-180", "rotate-270", "flip-x", "flip-y", "transpose",
                     "antitranspose")  # fmt: skip

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate trained models against persistence on a held-out split",
        description="Score a trained model (and optional trained baselines) against persistence on a held-out "
        "split: one-step nRMSE, VRMSE and low/mid/high Fourier-band errors; rollout nRMSE per step; drift of the "
        "family's conserved quantities (norm and energy for Schrödinger) along rollouts. Writes metrics.json, "
        "PNG plots (rollout error, drift, space-time diagrams, spectra) and report.md to --out. On a file of "
        "static fields, a generator trained with data.n_input = 0 is scored instead against the simulator, with the "
        "family's physics: for black-hole images (bh_images) the dark region's (shadow's) diameter and centroid and "
        "the pixel nRMSE of log intensity; for spacetime slices (spacetime) the horizon's polar and equatorial "
        "radii against the closed form and the Kretschmann scalar's peak; both with the time per image against the "
        "simulator's and a grid of generated against simulated images. A parameter estimator (inverse prediction) is "
        "scored by its error per parameter and the calibration of its error bars, also with the inputs degraded "
        "(--noise, --blur).",
    )
    parser.add_argument("checkpoint", type=_labelled, metavar="[LABEL=]CHECKPOINT",
                        help="a checkpoint written by physml train (best.pt or last.pt); LABEL names it in the "
                             "report (default: the model's name)")  # fmt: skip
    parser.add_argument("data", type=path, metavar="DATA.h5", help="dataset file")
    parser.add_argument("--baseline", type=_labelled, action="append", default=[], metavar="[LABEL=]CHECKPOINT",
                        help="another trained model to score alongside (repeatable), e.g. a ResNet, or the same "
                             "model trained with other modalities: --baseline fields-only=runs/a/best.pt")  # fmt: skip
    parser.add_argument("--split", action="append", type=split_name,
                        help="held-out split: train, val, test (default) or extrapolation, or a part of one, e.g. "
                             "'extrapolation[0.5:]' (the trajectories a fine-tune on 'extrapolation[:0.5]' never saw); "
                             "repeat it to score several, each in --out/SPLIT, with a comparison figure "
                             "--out/comparison.png")  # fmt: skip
    parser.add_argument("--rollout", type=integer, default=None,
                        help="autoregressive steps, at most what the file's trajectories hold after the input window "
                             "(default: 20, or all of them if fewer)")  # fmt: skip
    parser.add_argument("--orientation", choices=ORIENTATION_NAMES, default="identity",
                        help="2-D square grids: score on the split turned or reflected by one of the grid's exact "
                             "symmetries (every field, the potential too), e.g. to test a model on orientations "
                             "its training data never held (default: identity)")  # fmt: skip
    parser.add_argument("--out", type=path, required=True, help="output directory")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--audit", action="store_true",
                        help="Schrödinger data: also run PDE-FIND on each model's rollouts over the whole file "
                             "and on the simulator's (physml discover audit), a table in the report")  # fmt: skip
    parser.add_argument("--trace", type=integer, default=8, metavar="N",
                        help="simulate N of the split's trajectories again (ray tracing for bh_images) with the "
                             "dataset's own simulator, over the span the rollouts cover, and print each model's "
                             "speed-up over it beside its error (default: 8; 0: no timing)")  # fmt: skip
    inverse = parser.add_argument_group("parameter estimators (inverse prediction)")
    inverse.add_argument("--noise", type=number, nargs="+", default=[], metavar="SIGMA",
                         help="also score with Gaussian noise of SIGMA times each input's rms added")  # fmt: skip
    inverse.add_argument("--blur", type=number, nargs="+", default=[], metavar="PIXELS",
                         help="also score with the inputs blurred by a Gaussian of PIXELS grid points")  # fmt: skip
    inverse.add_argument("--ensemble", action="store_true",
                         help="also score the estimators given (the checkpoint and each --baseline, e.g. one recipe "
                              "trained from several seeds) as one deep ensemble: the mixture of their Gaussians, "
                              "labelled 'ensemble'")  # fmt: skip
    generative = parser.add_argument_group("generative models (diffusion)")
    generative.add_argument("--samples", type=integer, default=0, metavar="N",
                            help="draw N one-step samples per window and score the ensemble: spread, skill, "
                                 "spread-skill ratio, CRPS (default: 0, none)")  # fmt: skip
    generative.add_argument(
        "--sample-steps",
        type=integer,
        metavar="S",
        help="sampling steps of a diffusion model (default: its config's sample_steps)",
    )
    generative.add_argument(
        "--sampler", choices=("ddim", "ddpm"), help="ddim (deterministic given the starting noise) or ddpm (ancestral)"
    )
    generative.add_argument(
        "--guidance",
        type=number,
        metavar="W",
        help="classifier-free guidance scale for text/image conditioning (1: none)",
    )
    generative.add_argument("--refinement-steps", type=integer, metavar="K",
                            help="refinement steps of a PDE-Refiner model, 0 .. its trained K (0: the plain "
                                 "prediction)")  # fmt: skip
    generative.add_argument("--seed", type=integer, default=0, help="seed of the sampling noise (default: 0)")
    parser.set_defaults(handler=_evaluate)


def _audit(checkpoints, args: argparse.Namespace, split: str, out: Path) -> None:
    """Append the PDE-FIND audit of every model (and of the simulator) to ``out/report.md``; ``out/audit.json``."""
    import json

    from physml.discovery import audit_surrogate

    named = checkpoints if isinstance(checkpoints, dict) else {p.parent.name: p for p in checkpoints}
    audits = {label: audit_surrogate(path, args.data, split=split, device=args.device) for label, path in named.items()}
    (out / "audit.json").write_text(json.dumps({k: a.to_dict() for k, a in audits.items()}, indent=2))
    rows = [("simulator", next(iter(audits.values())).data), *((k, a.model) for k, a in audits.items())]
    lines = [
        "",
        "## PDE-FIND on the rollouts (physml discover audit)",
        "",
        "| rollouts of | largest coefficient error | spurious terms | identifiable |",
        "| --- | --- | --- | --- |",
    ]
    for label, found in rows:
        spurious = ", ".join(f"{t}: {term}" for t, term in found.spurious()) or "none"
        lines.append(f"| {label} | {found.max_error:.3g} | {spurious} | {'yes' if found.fit.identifiable else 'no'} |")
    with open(out / "report.md", "a") as report:
        report.write("\n".join(lines) + "\n")


def labels_of(given: list[tuple[str | None, Path]]) -> list[str]:
    """Each model's label: the one given, else its run directory's name."""
    labels = [label or path.parent.name for label, path in given]
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels {labels} are invalid: each model needs its own")
    return labels


def _generators(args: argparse.Namespace, checkpoints: dict[str, Path], splits: list[str], sampling: dict) -> int:
    from physml.training.generation import evaluate_generators

    if args.trace < 0:
        raise ValueError(f"--trace = {args.trace} is invalid: must be >= 0")
    for split in splits:
        out = args.out if len(splits) == 1 else args.out / split
        evaluate_generators(checkpoints, args.data, split=split, out=out, device=args.device, sampling=sampling,
                            seed=args.seed, trace=args.trace)  # fmt: skip
        print(f"## {split}\n" if len(splits) > 1 else "", end="")
        print((out / "report.md").read_text())
    return 0


def _estimates(checkpoint: Path) -> bool:
    """Whether the checkpoint holds a parameter estimator (read from its saved model name; the weights are
    memory-mapped, not read)."""
    import torch

    try:
        payload = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a checkpoint: the scoring below names what is wrong with it
        return False
    return isinstance(payload, dict) and payload.get("model") == "parameter_estimator"


def _estimators(args: argparse.Namespace, checkpoints: dict[str, Path], splits: list[str]) -> int:
    """Score parameter estimators: errors and calibration per parameter, clean and degraded; report.md."""
    import json

    from physml.training.inverse import evaluate_estimator

    for split in splits:
        out = args.out if len(splits) == 1 else args.out / split
        out.mkdir(parents=True, exist_ok=True)
        members = {label: [path] for label, path in checkpoints.items()}
        if args.ensemble:
            members["ensemble"] = list(checkpoints.values())
        results = {label: evaluate_estimator(paths, args.data, split=split, noise=(0.0, *args.noise),
                                             blur=(0.0, *args.blur), device=args.device, seed=args.seed)
                   for label, paths in members.items()}  # fmt: skip
        (out / "metrics.json").write_text(json.dumps(results, indent=2))
        lines = [f"# Parameters read off {args.data.name} ({split}, {next(iter(results.values()))['n']} samples)", "",
                 "| model | noise | blur | parameter | MAE | RMSE | within 1 σ | within 2 σ | mean σ |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for label, result in results.items():
            for condition in result["conditions"]:
                for name, m in condition["per_parameter"].items():
                    lines.append(f"| {label} | {condition['noise']:g} | {condition['blur']:g} | {name} | "
                                 f"{m['mae']:.4g} | {m['rmse']:.4g} | {m['within_1_sigma']:.1%} | "
                                 f"{m['within_2_sigma']:.1%} | {m['mean_sigma']:.4g} |")  # fmt: skip
        (out / "report.md").write_text("\n".join(lines) + "\n")
        print((out / "report.md").read_text())
    return 0


def _labelled(text: str) -> tuple[str | None, Path]:
    """``LABEL=PATH`` or ``PATH`` (not empty). A labelled checkpoint must exist: the error then names the whole
    argument, not only the part after the label."""
    label, sep, name = text.partition("=")
    if sep and label and "/" not in label and not Path(text).exists():
        checkpoint = path(name)
        if not checkpoint.exists():
            raise argparse.ArgumentTypeError(f"{text!r} is invalid: checkpoint {name!r} does not exist")
        return label, checkpoint
    return None, path(text)


def _evaluate(args: argparse.Namespace) -> int:
    from physml.training.evaluate import evaluate_checkpoints

    if args.rollout is not None and args.rollout < 1:
        raise ValueError(f"--rollout = {args.rollout} is invalid: must be >= 1")
    given = [args.checkpoint, *args.baseline]
    checkpoints: list[Path] | dict[str, Path] = [path for _, path in given]
    if any(label for label, _ in given):  # label the others by their run directory
        checkpoints = dict(zip(labels_of(given), checkpoints))
    given_sampling = {"sample_steps": args.sample_steps, "sampler": args.sampler, "guidance": args.guidance,
                      "refinement_steps": args.refinement_steps}  # fmt: skip
    sampling = {k: v for k, v in given_sampling.items() if v is not None}
    splits = args.split or ["test"]
    if len(set(splits)) != len(splits):
        raise ValueError(f"--split {splits} is invalid: each split once")
    estimators = [_estimates(p) for _, p in given]
    if any(estimators):
        if not all(estimators):
            raise ValueError("parameter estimators are scored apart from forward models: give only estimators")
        labels = labels_of(given)
        if args.ensemble and (len(given) < 2 or "ensemble" in labels):
            raise ValueError(f"--ensemble is invalid with the models {labels}: it needs two or more estimators, "
                             "none of them labelled 'ensemble'")  # fmt: skip
        return _estimators(args, dict(zip(labels, [p for _, p in given])), splits)
    if args.noise or args.blur or args.ensemble:
        raise ValueError("--noise, --blur and --ensemble are invalid here: they are for parameter estimators")
    from physml.datasets import is_static

    if is_static(args.data):  # one image per trajectory: score generators against the simulator
        if args.orientation != "identity":
            raise ValueError(f"--orientation = {args.orientation} is invalid for {args.data}: generators of static "
                             "fields are scored against the simulator's images as they are")  # fmt: skip
        if args.rollout is not None:
            raise ValueError(
                f"--rollout = {args.rollout} is invalid for {args.data}: a static family holds one state per "
                "trajectory, so there is nothing to roll out (generators are scored instead)"
            )
        return _generators(args, dict(zip(labels_of(given), [p for _, p in given])), splits, sampling)
    results = {}
    for split in splits:
        out = args.out if len(splits) == 1 else args.out / split
        results[split] = evaluate_checkpoints(
            checkpoints, args.data, split=split, rollout=args.rollout, out=out, device=args.device,
            samples=args.samples, sampling=sampling, seed=args.seed, trace=args.trace, orientation=args.orientation,
        )  # fmt: skip
        if args.audit:
            _audit(checkpoints, args, split, out)
        print(f"## {split}\n" if len(splits) > 1 else "", end="")
        print((out / "report.md").read_text())
    if len(splits) > 1:
        from physml.plots.evaluation import plot_comparison

        plot_comparison(results, args.out / "comparison.png", title=args.data.name)
        print(f"wrote {args.out / 'comparison.png'}")
    return 0
