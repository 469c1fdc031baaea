"""Neural ODEs measured: interpolation between trained saves, invariant drift far past training, solver cost.

    python benchmarks/neural_ode.py interpolation runs/node-schrodinger-1d/best.pt data/schrodinger-1d.h5 --saves 4
    python benchmarks/neural_ode.py drift ode=runs/node/best.pt fno=runs/fno/best.pt --data data/schrodinger-1d.h5 \\
        --steps 50 250 --out docs/figures/neural_ode_drift.png
    python benchmarks/neural_ode.py qnm ham=runs/hamiltonian-near-horizon-1d/best.pt fno=runs/fno/best.pt \\
        --data data/near-horizon-1d.h5
    python benchmarks/neural_ode.py energy runs/hamiltonian-near-horizon-1d/best.pt --data data/near-horizon-1d.h5
    python benchmarks/neural_ode.py cost [--checkpoint runs/node/best.pt --data data/schrodinger-1d.h5] \\
        [--lengths 1 4 16] [--quick]

``interpolation``: a continuous model trained with ``data.time_stride = s`` asked for every save of a span in
one solve; nRMSE at the saves it trained on against the ones it never saw (:func:`dense_errors`).

``drift``: each model rolled out ``max(--steps)`` steps from the first window of 16 test trajectories; the
mean relative drift of the norm and the energy at each of ``--steps`` (:func:`invariant_drift`; a Hamiltonian
model's own learned energy too), and a plot.

``qnm``: each model rolled out from the first window of every ``--split`` trajectory of a ``near-horizon-1d``
file to its end; the fundamental quasinormal frequency fitted to its waveform at ``r* = --extract-at``, over the
window of the fit to the simulator's stored field, against that fit (:func:`qnm_readoff`): the median relative
error of Re ω and Im ω over trajectories and the share within 1 %, for the fit's fundamental and for its mode
nearest the simulator's. A discrete model rolls out at its ``time_stride``, a continuous one answers every save.

``energy``: a wave Hamiltonian model (``momentum: encoded``, ``kinetic: quadratic``) rolled out from the first
window of every ``--split`` trajectory; the Regge–Wheeler energy of its own state ``(ψ, p = ψ̇)`` at ``--times``
after the input against the simulator's stored conserved energy, and the drift of its learned ``H``
(:func:`wave_energy_readoff`).

``cost``: one training step (forward, loss on the final state, backward) of a neural ODE (``--checkpoint``: a
trained one on 16 of its test windows; else an untrained FNO field, width 32, 16 modes, 4 layers, on 16 random
256-point states), integrated over L save intervals, by direct
back-propagation through the solver and by the adjoint, with dopri5 (rtol 1e-3) and rk4 (4 steps per
interval): seconds per step (best of ``--repeats``, the two timed in turn), peak memory of the step
(``_report.peak_bytes``) and the vector-field evaluations forward and backward.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

import torch
from _report import best_of, machine, markdown_table, peak_bytes

from physml.models import NeuralODE, NeuralODEConfig
from physml.training.continuous import dense_errors, invariant_drift
from physml.training.readoff import qnm_readoff, wave_energy_readoff
from physml.training.surrogate import load_surrogate


def interpolation(args: argparse.Namespace) -> None:
    surrogate = load_surrogate(args.checkpoint)
    result = dense_errors(surrogate, args.data, split=args.split, saves=args.saves)
    stride = result["time_stride"]
    print(f"{args.checkpoint}: trained every {stride} saves; {result['windows']} windows of {args.data} "
          f"({args.split}), {args.saves} saves each\n")  # fmt: skip
    rows = [[str(k + 1), "trained" if (k + 1) % stride == 0 else "withheld", f"{e:.4f}"]
            for k, e in enumerate(result["per_save"])]  # fmt: skip
    print(markdown_table(["save after the input", "in training", "nRMSE"], rows))
    if result["withheld"] is not None:
        print(f"\nmean nRMSE: trained saves {result['trained']:.4f}, withheld saves {result['withheld']:.4f}: "
              f"ratio **{result['ratio']:.2f}**")  # fmt: skip


def drift(args: argparse.Namespace) -> None:
    curves = {}
    for spec in args.models:
        name, _, path = spec.rpartition("=")
        surrogate = load_surrogate(path)
        curves[name or path] = invariant_drift(surrogate, args.data, split=args.split, steps=max(args.steps))
    quantities = sorted({q for c in curves.values() for q in c})
    header = ["model", *(f"{q} drift at step {s}" for q in quantities for s in args.steps)]
    rows = [[name, *(f"{c[q][s - 1]:.2e}" if q in c else "—" for q in quantities for s in args.steps)]
            for name, c in curves.items()]  # fmt: skip
    print(markdown_table(header, rows))
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        fig, axes = plt.subplots(1, len(quantities), figsize=(5 * len(quantities), 3.6), squeeze=False)
        for ax, q in zip(axes[0], quantities):
            for name, c in curves.items():
                if q in c:
                    ax.semilogy(range(1, len(c[q]) + 1), c[q], label=name)
            ax.set(xlabel="rollout step", ylabel=f"relative {q} drift", title=f"{q} drift, mean of 16 test rollouts")
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.out, dpi=120)
        print(f"\nwrote {args.out}")


def _models(args: argparse.Namespace, solver: str) -> tuple[dict[bool, NeuralODE], torch.Tensor]:
    """The direct and adjoint twins (same weights) and a batch of 16 states: a trained model's and its test
    windows with ``--checkpoint``, else an untrained FNO field on random 256-point states."""
    if args.checkpoint:
        surrogate = load_surrogate(args.checkpoint)
        base = surrogate.model.config
        windows = surrogate.windows(args.data, split="test")
        batch = next(iter(torch.utils.data.DataLoader(windows, batch_size=16)))
        x = surrogate.format.inputs(batch["input_fields"], batch.get("constant_fields"))
        state = surrogate.model.state_dict()
    else:
        fno = {"modes": [16], "width": 32, "n_layers": 4}
        base = NeuralODEConfig(3, 2, field_size=(256,), net="fno", net_params=fno)
        x = torch.randn(16, 3, 256, generator=torch.Generator().manual_seed(0))
        torch.manual_seed(0)
        state = NeuralODE(base).state_dict()
    models = {}
    for adjoint in (False, True):
        config = dataclasses.replace(base, solver=solver, rtol=1e-3, atol=1e-5, adjoint=adjoint, horizon=1e4)
        models[adjoint] = NeuralODE(config)
        models[adjoint].load_state_dict(state)
    return models, x


def cost(args: argparse.Namespace) -> None:
    print(machine())
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"vector field: {args.checkpoint or 'untrained FNO (width 32, 16 modes, 4 layers), random states'}\n")
    rows = []
    for solver in ("dopri5", "rk4"):
        models, x = _models(args, solver)
        for length in args.lengths:
            times = torch.tensor([length * models[False].config.time_scale])

            def step(model: NeuralODE, times: torch.Tensor = times, x: torch.Tensor = x) -> None:
                model(x, times=times)[:, -1].square().mean().backward()
                model.zero_grad(set_to_none=True)

            runs = {adjoint: (lambda m=m: step(m)) for adjoint, m in models.items()}
            seconds = best_of(runs, 1, args.repeats)
            peaks, nfe = {}, {}
            for adjoint, model in models.items():
                peaks[adjoint] = peak_bytes(runs[adjoint], torch.device("cpu"))
                model.reset_nfe()
                with torch.no_grad():
                    model(x, times=times)
                forward = model.nfe
                model.reset_nfe()
                step(model)
                nfe[adjoint] = (forward, model.nfe - forward)
            rows.append([solver, str(length), f"{seconds[False] * 1e3:,.0f}", f"{seconds[True] * 1e3:,.0f}",
                         f"{seconds[True] / seconds[False]:.2f}×", f"{peaks[False] / 2**20:,.1f}",
                         f"{peaks[True] / 2**20:,.1f}", f"{nfe[False][0]} / {nfe[False][1]}",
                         f"{nfe[True][0]} / {nfe[True][1]}"])  # fmt: skip
    header = ["solver", "save intervals", "direct ms/step", "adjoint ms/step", "adjoint / direct",
              "direct peak MiB", "adjoint peak MiB", "direct NFE fwd / bwd", "adjoint NFE fwd / bwd"]  # fmt: skip
    print(markdown_table(header, rows))
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


def qnm(args: argparse.Namespace) -> None:
    import numpy as np

    window = None if args.window is None else tuple(args.window)
    span = "10 .. 150" if window is None else f"{window[0]:g} .. {window[1]:g}"
    terms = f"{args.n_modes} modes + {args.n_exponentials} exponentials"
    print(f"{args.data} ({args.split}): waveforms at r* = {args.extract_at:g}, fit window {span} M (times the "
          f"mass) after the peak, within the data; {terms}\n")  # fmt: skip
    rows, details = [], {}
    for spec in args.models:
        name, _, path = spec.rpartition("=")
        found = qnm_readoff(load_surrogate(path), args.data, split=args.split, extract_at=args.extract_at,
                            window=window, n_modes=args.n_modes, n_exponentials=args.n_exponentials)  # fmt: skip
        details[name or path] = found
        for label, errors in (("fundamental", [r.error for r in found]), ("nearest", [r.nearest_error for r in found])):
            e = np.array(errors)
            within = float((np.nan_to_num(e, nan=np.inf).max(1) <= 0.01).mean())
            rows.append([name or path, label, f"{np.nanmedian(e[:, 0]):.2e}", f"{np.nanmedian(e[:, 1]):.2e}",
                         f"{within:.0%}", str(int(np.isnan(e[:, 0]).sum()))])  # fmt: skip
    floor = np.array([r.simulator_error for r in next(iter(details.values()))])
    rows.append(["simulator vs Leaver", "fundamental", f"{np.median(floor[:, 0]):.2e}", f"{np.median(floor[:, 1]):.2e}",
                 f"{float((floor.max(1) <= 0.01).mean()):.0%}", "0"])  # fmt: skip
    header = ["model", "mode", "median error Re ω", "median error Im ω", "within 1 % (both)", "no ringing"]
    print(markdown_table(header, rows))
    if args.verbose:
        for name, found in details.items():
            print(f"\n{name}:")
            rows = [[str(r.trajectory), f"{r.s}, {r.l}", f"{r.mass:.3f}", f"{r.omega_simulator:.5f}",
                     f"{r.omega_model:.5f}", f"{r.omega_model_nearest:.5f}"] for r in found]  # fmt: skip
            print(markdown_table(["trajectory", "s, l", "M", "ω simulator", "ω model", "ω model, nearest"], rows))


def energy(args: argparse.Namespace) -> None:
    import numpy as np

    found = wave_energy_readoff(load_surrogate(args.checkpoint), args.data, times=args.times, split=args.split)
    print(f"{args.checkpoint}: {len(found['simulator'])} {args.split} trajectories of {args.data}; t after the input\n")
    rows = [[f"{t:g}", f"{np.median(r):+.3f}", f"{np.median(np.abs(r - found['relative'][:, 0])):.3f}",
             f"{np.median(np.abs(d)):.2e}"]
            for t, r, d in zip(found["times"], found["relative"].T, found["learned_drift"].T)]  # fmt: skip
    header = ["t (M)", "median E_model / E_simulator - 1", "median |change since the input|", "median learned-H drift"]
    print(markdown_table(header, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("interpolation", help="error at trained against withheld saves")
    p.add_argument("checkpoint", help="a continuous model's best.pt")
    p.add_argument("data", help="the dataset file (every save is read)")
    p.add_argument("--split", default="test", help="split to score (default: test)")
    p.add_argument("--saves", type=int, default=4, help="saves after each window's start (default: 4)")
    p.set_defaults(run=interpolation)
    p = commands.add_parser("drift", help="norm and energy drift along long rollouts")
    p.add_argument("models", nargs="+", help="NAME=CHECKPOINT (or a checkpoint path)")
    p.add_argument("--data", required=True, help="dataset file with the initial states")
    p.add_argument("--split", default="test", help="split (default: test)")
    p.add_argument("--steps", type=int, nargs="+", default=[50, 250], help="report steps (default: 50 250)")
    p.add_argument("--out", default=None, help="write the drift plot here")
    p.set_defaults(run=drift)
    p = commands.add_parser("qnm", help="quasinormal mode read off near-horizon-1d rollouts")
    p.add_argument("models", nargs="+", help="NAME=CHECKPOINT (or a checkpoint path)")
    p.add_argument("--data", required=True, help="a near-horizon-1d dataset file")
    p.add_argument("--split", default="test", help="split (default: test)")
    p.add_argument("--extract-at", type=float, default=10.0, help="extraction radius r* in M (default: 10)")
    p.add_argument("--window", type=float, nargs=2, default=None, metavar=("START", "END"),
                   help="fit window in M after the waveform's peak (default: 10 .. 150, within the data)")  # fmt: skip
    p.add_argument("--n-modes", type=int, default=3, help="damped sinusoids fitted (default: 3)")
    p.add_argument("--n-exponentials", type=int, default=2, help="non-oscillating terms fitted (default: 2)")
    p.add_argument("--verbose", action="store_true", help="also list each trajectory's frequencies")
    p.set_defaults(run=qnm)
    p = commands.add_parser("energy", help="a wave Hamiltonian model's Regge-Wheeler energy along its rollouts")
    p.add_argument("checkpoint", help="a hamiltonian_ode (momentum encoded, kinetic quadratic) best.pt")
    p.add_argument("--data", required=True, help="a near-horizon-1d dataset file")
    p.add_argument("--split", default="test", help="split (default: test)")
    p.add_argument("--times", type=float, nargs="+", default=[4, 20, 40, 60, 100, 140],
                   help="times after the input, in M (default: 4 20 40 60 100 140)")  # fmt: skip
    p.set_defaults(run=energy)
    p = commands.add_parser("cost", help="direct back-propagation against the adjoint")
    p.add_argument("--lengths", type=int, nargs="+", default=[1, 4, 16], help="save intervals (default: 1 4 16)")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions, best kept (default: 3)")
    p.add_argument("--checkpoint", default=None, help="a trained neural_ode's best.pt (default: an untrained field)")
    p.add_argument("--data", default=None, help="its dataset file, for real states (with --checkpoint)")
    p.add_argument("--quick", action="store_true", help="smoke run: lengths 1 and 2, one repeat")
    p.set_defaults(run=cost)
    args = parser.parse_args()
    if args.command == "cost" and bool(args.checkpoint) != bool(args.data):
        parser.error("--checkpoint and --data go together")
    if getattr(args, "quick", False):
        args.lengths, args.repeats = [1, 2], 1
    for name in ("saves", "repeats"):
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name} = {getattr(args, name)} is invalid: must be >= 1")
    if min(getattr(args, "steps", [1]) + getattr(args, "lengths", [1])) < 1:
        parser.error("--steps and --lengths must be >= 1")
    args.run(args)


if __name__ == "__main__":
    main()
