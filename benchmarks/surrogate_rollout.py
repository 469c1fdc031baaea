"""Surrogate against simulator: the time to produce one ``schrodinger-1d`` trajectory.

The interval is the dataset's: 50 saves 0.1 time units apart (5 time units)
on 256 points.

  * Simulator: ``physml.simulators.schrodinger.simulate`` as the dataset
    family calls it (Strang splitting, dt = 0.005, i.e. 1000 steps; the
    observables at every save; one FFT thread, ESTIMATE plans; complex128),
    one trajectory after another, for trajectories drawn from the shipped
    config (all four potential kinds). "Stepping only" leaves out the system
    set-up, FFT planning and observables: 50 x 20 steps of a ready stepper.
  * Surrogate: physml's FNO (``--settings``, 4 layers) fed its own
    predictions 50 times (``FieldFormat.rollout``, 1 -> 1 windows: psi
    re/im plus the potential in), float32, under ``torch.inference_mode``,
    for a batch of 1 and of 32 trajectories. The weights are untrained: the
    cost of a forward pass does not depend on them.

Per trajectory: the simulator's time per call; the surrogate's time per
batch divided by the batch. Best of ``--repeats``, everything timed in turn
within each repeat. The ratio is simulator / surrogate (above 1: the
surrogate is faster). The speed says nothing of accuracy: the simulator's
trajectories pass the dataset's checks (energy drift below 1e-3); a
surrogate's rollout drifts away from the truth step by step.

    python benchmarks/surrogate_rollout.py [--settings 16:32 32:64] [--batch-sizes 1 32] [--repeats 5]
    python benchmarks/surrogate_rollout.py --quick   # smoke run, a few seconds

``--family NAME`` times another family the same way, with its shipped recipe's
model (untrained: the cost does not depend on the weights) against the
family's own ``simulate`` (what ``physml dataset build`` runs, checks
included) on trajectories drawn from its shipped config:

  * ``schrodinger-2d-256``: schrodinger-2d on a 256² grid (the shipped 96² is
    overridden), 20 saves, U-Net of ``unet-schrodinger-2d``;
  * ``near-horizon-maps``: 40 saves of 64² maps, U-Net of ``unet-near-horizon-maps``;
  * ``collapse-1d``: 40 saves (to t = 20) of (a, α, Φ, Π), FNO of ``fno-collapse-1d``;
  * ``bh-images``: one 128² image, ``unet-bh-images`` against the ray tracer;
  * ``spacetime-2d``: one 128² slice, ``unet-spacetime-2d`` against the closed forms.

    python benchmarks/surrogate_rollout.py --family bh-images --batch-sizes 1 16 64
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import torch
from _report import machine, markdown_table, modes_width

from physml.datasets import load_config
from physml.datasets.build import resolve_plan
from physml.models import FNO, FieldFormat, FNOConfig, build_model
from physml.models.registry import config_fields
from physml.simulators.rollout import steps_per_save
from physml.simulators.schrodinger import SchrodingerState, SchrodingerSystem, SplitOperator, simulate

FORMAT = FieldFormat(n_input=1, n_channels=2, n_constant=1)  # psi re/im + potential -> psi re/im


def simulator_runs(n_trajectories: int) -> tuple[Callable[[], None], Callable[[], None], dict[str, Any]]:
    """Two callables simulating ``n_trajectories`` of schrodinger-1d (``simulate`` / stepping only), and facts."""
    config = load_config("schrodinger-1d").with_trajectories(n_trajectories)
    family, plan, _ = resolve_plan(config)
    times = config.times
    params = plan.parameters
    t_final, n_saves = float(times[-1] - times[0]), len(times) - 1
    dt = params[0]["dt"]
    between = steps_per_save(dt=dt, t_final=t_final, n_saves=n_saves)

    def system(p: dict[str, Any]) -> SchrodingerSystem:
        return SchrodingerSystem(family.grid(p), family.potential(p), hbar=p["hbar"], mass=p["mass"])

    initial = [family.initial_state(p) for p in params]

    def full() -> None:  # as SchrodingerFamily.simulate calls it, system set-up included
        for p, psi0 in zip(params, initial):
            simulate(system(p), psi0, dt=dt, t_final=t_final, n_saves=n_saves, scheme=p["scheme"],
                     fft_threads=1, fft_measure=False)  # fmt: skip

    steppers = [SplitOperator(system(p), p["scheme"], fft_threads=1, fft_measure=False) for p in params]

    def stepping() -> None:
        for stepper, psi0 in zip(steppers, initial):
            state = SchrodingerState(psi0, 0.0)
            for _ in range(n_saves):
                state = stepper.advance(state, dt, between)

    kinds = sorted({p["potential_kind"] for p in params})
    facts = {"dt": dt, "steps": n_saves * between, "n_saves": n_saves, "save_dt": t_final / n_saves,
             "n": params[0]["n"], "kinds": kinds, "scheme": params[0]["scheme"]}  # fmt: skip
    return full, stepping, facts


def surrogate_run(modes: int, width: int, batch_size: int, n_points: int, n_saves: int) -> Callable[[], None]:
    torch.manual_seed(0)
    model = FNO(FNOConfig(FORMAT.in_channels, FORMAT.out_channels, modes=(modes,), width=width, n_layers=4)).eval()
    fields = torch.randn(batch_size, FORMAT.n_input, FORMAT.n_channels, n_points)  # (B, T, C, X)
    potential = torch.randn(batch_size, FORMAT.n_constant, n_points)  # (B, 1, X)

    def run() -> None:
        with torch.inference_mode():
            FORMAT.rollout(model, fields, potential, n_saves)  # (B, n_saves, C, X)

    return run


#: Other families: (dataset config, grid overrides, training recipe, time-varying channels, constant channels,
#: parameters read (static families), grid).
FAMILIES: dict[str, tuple[str, dict[str, Any], str, int, int, int, tuple[int, ...]]] = {
    "schrodinger-2d-256": ("schrodinger-2d", {"n": [256, 256]}, "unet-schrodinger-2d", 2, 1, 0, (256, 256)),
    "near-horizon-maps": ("near-horizon-maps", {}, "unet-near-horizon-maps", 1, 1, 0, (64, 64)),
    "collapse-1d": ("collapse-1d", {}, "fno-collapse-1d", 4, 0, 0, (129,)),
    "bh-images": ("bh-images", {}, "unet-bh-images", 2, 0, 6, (128, 128)),
    "spacetime-2d": ("spacetime-2d", {}, "unet-spacetime-2d", 7, 0, 3, (128, 128)),
}


def family_runs(name: str, n_trajectories: int, batch_sizes: list[int]) -> tuple[dict, dict[str, Any]]:
    """``{(label, batch): (callable, trajectories per call)}`` for the simulator and the recipe's model, and facts."""
    from physml.training import load_train_config

    config_name, grid, recipe_name, channels, constants, n_parameters, size = FAMILIES[name]
    config = load_config(config_name).with_trajectories(n_trajectories)
    if grid:
        raw = dict(config.source)
        raw["fixed"] = {**raw["fixed"], **grid}
        config = type(config).from_dict(raw).with_trajectories(n_trajectories)
    family, plan, _ = resolve_plan(config)
    times, rows = config.times, plan.parameters

    def simulate() -> None:
        for row in rows:
            family.simulate(row, times)

    recipe = load_train_config(recipe_name)
    n_input = recipe.data.n_input
    fmt = FieldFormat(n_input, channels, constants, residual=recipe.model.residual)
    params = {**recipe.model.params, "in_channels": fmt.in_channels, "out_channels": fmt.out_channels}
    known = config_fields(recipe.model.name)
    params |= {k: v for k, v in {"field_size": size, "parameter_dim": n_parameters}.items() if k in known and v}
    torch.manual_seed(0)
    model = build_model(recipe.model.name, params).eval()
    steps = len(times) - n_input if n_input else 1  # a generator makes its one image in one pass
    runs = {("simulator: simulate()", 1): (simulate, n_trajectories)}
    for batch in batch_sizes:
        fields = torch.randn(batch, n_input, channels, *size)
        constant = torch.randn(batch, constants, *size) if constants else None

        def run(fields=fields, constant=constant, batch=batch) -> None:
            with torch.inference_mode():
                if n_input == 0:  # a generator: one pass from the parameters
                    model(torch.zeros(batch, 0, *size), parameters=torch.randn(batch, n_parameters))
                else:
                    fmt.rollout(model, fields, constant, steps)

        weights = sum(p.numel() for p in model.parameters())
        runs[(f"{recipe_name} ({recipe.model.name}, {weights / 1e6:.2f} M weights)", batch)] = (run, batch)
    facts = {"config": config_name, "grid": "x".join(map(str, size)), "steps": steps, "grid_override": grid}
    return runs, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=modes_width, nargs="+", default=[(16, 32), (32, 64)],
                        help="FNO MODES:WIDTH pairs (default: 16:32 32:64)")  # fmt: skip
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32], help="surrogate batches (default: 1 32)")
    parser.add_argument("--n-trajectories", type=int, default=8, help="simulated per timing (default: 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 16:32 only, 2 trajectories, 1 repeat")
    parser.add_argument("--family", choices=["schrodinger-1d", *FAMILIES], default="schrodinger-1d",
                        help="which family to time (default: schrodinger-1d, FNO settings as given)")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.settings, args.n_trajectories, args.repeats = [(16, 32)], 2, 1
    for name in ("n_trajectories", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} = {getattr(args, name)} is invalid: must be >= 1")
    if min(args.batch_sizes) < 1:
        parser.error(f"--batch-sizes = {args.batch_sizes} is invalid: each must be >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    if args.family != "schrodinger-1d":
        return time_family(args)
    full, stepping, facts = simulator_runs(args.n_trajectories)
    runs: dict[tuple[str, int], tuple[Callable[[], None], int]] = {
        ("simulator: simulate()", 1): (full, args.n_trajectories),
        ("simulator: stepping only", 1): (stepping, args.n_trajectories),
    }
    for modes, width in args.settings:
        for batch in args.batch_sizes:
            run = surrogate_run(modes, width, batch, facts["n"], facts["n_saves"])
            runs[(f"FNO {modes} modes / width {width}", batch)] = (run, batch)
    print(machine())
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} (1 min) at the start")
    print(f"\n### One trajectory of schrodinger-1d: {facts['n_saves']} saves of {facts['save_dt']:g} time units "
          f"on {facts['n']} points; simulator {facts['scheme']} dt = {facts['dt']:g} ({facts['steps']} steps) over "
          f"{args.n_trajectories} trajectories ({', '.join(facts['kinds'])}); best of {args.repeats}\n")  # fmt: skip
    _time_and_print(runs, args.repeats)


def time_family(args: argparse.Namespace) -> None:
    runs, facts = family_runs(args.family, args.n_trajectories, args.batch_sizes)
    print(machine())
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} (1 min) at the start")
    grid = f", grid overridden: {facts['grid_override']}" if facts["grid_override"] else ""
    print(
        f"\n### {args.family}: {facts['steps']} step(s) on a {facts['grid']} grid per trajectory (config "
        f"{facts['config']}{grid}), simulator over {args.n_trajectories} trajectories; best of {args.repeats}\n"
    )
    _time_and_print(runs, args.repeats)


def _time_and_print(runs: dict[tuple[str, int], tuple[Callable[[], None], int]], repeats: int) -> None:
    """Best-of-``repeats`` seconds per trajectory of each run (after one warm-up call), as a table against the
    simulator's ``simulate()``; each run is ``(callable, trajectories per call)``."""
    for run, _ in runs.values():  # warm-up: Numba kernels, FFT plans, allocator
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for key, (run, count) in runs.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], (time.perf_counter() - start) / count)
    reference = best[("simulator: simulate()", 1)]
    rows = [[name, "1 (one by one)" if name.startswith("simulator") else str(batch), f"{seconds * 1e3:.2f} ms",
             f"{1 / seconds:.1f}", f"**{reference / seconds:.2f}×**"]
            for (name, batch), seconds in best.items()]  # fmt: skip
    print(markdown_table(["method", "batch", "time per trajectory", "trajectories/s", "simulate() / this"], rows))
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
