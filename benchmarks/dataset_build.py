"""Dataset build throughput: one worker (in process) against local worker processes.

Times, in one run on one machine, ``build_dataset`` of a shipped configuration
into a temporary directory, with 1 worker (the reference: simulates in this
process, no pool) and with 2 worker processes (by default). The seconds are
those of ``BuildReport``: store creation, every simulation, the writes and
``finalize`` (statistics and the compressed rewrite). Worker start-up (fresh
interpreters, imports, Numba kernels loaded from cache) is included, because
it is what a user pays on every build. Builds alternate between the worker
counts and the best of ``--repeats`` is kept.

As a reference it also times ``Family.simulate`` alone, in process and warm,
per trajectory: ``workers / simulate time`` is the throughput of a build with
no overhead at all, and "% of ideal" is how close each build comes to it.
Prints a markdown table and ratios; record them with the machine in
docs/benchmarks.md.

    python benchmarks/dataset_build.py [--config schrodinger-1d] [--n-trajectories 96] [--repeats 3]
    python benchmarks/dataset_build.py --quick   # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import machine, markdown_table

from physml.datasets.build import build_dataset, resolve_plan
from physml.datasets.config import BuildConfig, load_config


def simulate_seconds(config: BuildConfig, n: int) -> float:
    """Mean in-process seconds of ``Family.simulate`` over the plan's first ``n`` trajectories (warm)."""
    family, plan, _ = resolve_plan(config)
    times = config.times
    family.simulate(plan.parameters[0], times)  # warm-up: Numba kernels from cache, FFTW plans
    chosen = plan.parameters[:n]
    start = time.perf_counter()
    for params in chosen:
        family.simulate(params, times)
    return (time.perf_counter() - start) / len(chosen)


def best_builds(config: BuildConfig, workers: list[int], repeats: int, folder: Path) -> dict[int, float]:
    """Best-of-``repeats`` build seconds per worker count (counts interleaved so drift hits all alike)."""
    best = dict.fromkeys(workers, np.inf)
    for _ in range(repeats):
        for w in workers:
            report = build_dataset(config, folder / f"build-{w}.h5", workers=w, overwrite=True, progress=False)
            if report.n_built != config.n_trajectories:
                raise RuntimeError(f"built {report.n_built} of {config.n_trajectories} trajectories with {w} workers")
            best[w] = min(best[w], report.seconds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="schrodinger-1d", help="shipped config or YAML path (default: %(default)s)")
    parser.add_argument("--n-trajectories", type=int, default=96, help="trajectories per build (default: 96)")
    parser.add_argument("--repeats", type=int, default=3, help="builds per worker count; the best is kept (default: 3)")
    reference_help = "worker counts; the first is the reference (default: 1 2)"
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help=reference_help)
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 trajectories, 1 repeat (seconds)")
    args = parser.parse_args()
    n, repeats = (8, 1) if args.quick else (args.n_trajectories, args.repeats)
    for name, value in (("--n-trajectories", n), ("--repeats", repeats), ("--workers", min(args.workers))):
        if value < 1:
            parser.error(f"{name} = {value} is invalid: must be >= 1")
    config = load_config(args.config).with_trajectories(n)

    print(machine())
    print(f"config {config.name}: {n} trajectories, {config.n_saves + 1} saves, storage "
          f"{config.dtype}/{config.compression}; best of {repeats}\n")  # fmt: skip
    sim = simulate_seconds(config, min(n, 16))
    with tempfile.TemporaryDirectory(prefix="physml-bench-build-") as folder:
        best = best_builds(config, args.workers, repeats, Path(folder))

    reference = args.workers[0]
    rows = []
    for w, seconds in best.items():
        rate = n / seconds
        rows.append([
            str(w), f"{seconds:.3f}", f"{rate:.1f}", f"{1e3 * seconds / n:.2f}",
            f"{100 * rate * sim / w:.0f} %", f"**{rate / (n / best[reference]):.2f}**",
        ])  # fmt: skip
    header = ["workers", "build s", "trajectories/s", "ms/trajectory", "% of ideal", f"speed-up vs {reference}"]
    print(markdown_table(header, rows))
    print(f"\nreference: Family.simulate in process, warm: {1e3 * sim:.2f} ms/trajectory "
          f"(ideal {1 / sim:.1f} trajectories/s per worker)")  # fmt: skip
    for w in args.workers[1:]:
        print(f"speed-up {w} workers / {reference}: {best[reference] / best[w]:.2f}")
    if max(args.workers) > len(os.sched_getaffinity(0)):
        print("note: more workers than usable cores; the extra ones only share them")


if __name__ == "__main__":
    main()
