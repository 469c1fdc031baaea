"""Start-up time: whole processes (``physml --help``, ``import physml.datasets``, ...) against ``python -c pass``.

Each command is run as a fresh process, timed from spawn to exit with a wall clock, best of ``--repeats``,
the commands taken in turn within each repeat (order alternating) so that a busy machine disturbs them alike.
The reference, a bare ``python -c pass`` with the same interpreter, is timed in the same run; the table gives
each command's time, its excess over the reference and the ratio. A second table lists which heavy libraries
each command leaves imported (from ``sys.modules`` of an identical process), the usual cause of a slow start.

    python benchmarks/startup.py [--repeats 10]

``physml simulate schrodinger --help`` imports the Schrödinger simulator on purpose (its help lists the
potentials with their parameters); the others should import none. Run it under
``flock /tmp/physml-heavy.lock`` on a shared machine; record results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _report import machine, markdown_table

HEAVY = ("torch", "numba", "pyfftw", "scipy", "h5py", "xarray", "dask", "matplotlib", "tqdm", "yaml")


def commands(python: str) -> dict[str, list[str]]:
    """Label -> argv of every measured process; ``python -c pass`` is the reference."""
    script = shutil.which("physml", path=str(Path(python).parent)) or ""
    cli = [script] if script else [python, "-m", "physml"]
    return {
        "python -c pass": [python, "-c", "pass"],
        "physml --help": [*cli, "--help"],
        "physml simulate --help": [*cli, "simulate", "--help"],
        "physml dataset list": [*cli, "dataset", "list"],
        "physml simulate schrodinger --help": [*cli, "simulate", "schrodinger", "--help"],
        "import physml": [python, "-c", "import physml"],
        "import physml.datasets": [python, "-c", "import physml.datasets"],
    }


def wall_time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def best_of(runs: dict[str, list[str]], repeats: int) -> dict[str, float]:
    for argv in runs.values():  # warm the page cache and the bytecode caches
        wall_time(argv)
    best = dict.fromkeys(runs, float("inf"))
    for repeat in range(repeats):
        for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
            best[name] = min(best[name], wall_time(runs[name]))
    return best


_PROBE = """
import io, json, sys, contextlib
what = sys.argv[1]
if what == "cli":
    from physml.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(sys.argv[2:])
        except SystemExit:
            pass
else:
    __import__(what)
heavy = {heavy!r}
print(json.dumps(sorted(h for h in heavy if h in sys.modules)))
"""


def heavy_imports(python: str) -> dict[str, list[str]]:
    """Which of :data:`HEAVY` each measured command leaves in ``sys.modules``."""
    probe = _PROBE.format(heavy=HEAVY)
    cases = {
        "physml --help": ["cli", "--help"],
        "physml simulate --help": ["cli", "simulate", "--help"],
        "physml dataset list": ["cli", "dataset", "list"],
        "physml simulate schrodinger --help": ["cli", "simulate", "schrodinger", "--help"],
        "import physml": ["physml"],
        "import physml.datasets": ["physml.datasets"],
    }
    out = {}
    for label, args in cases.items():
        result = subprocess.run([python, "-c", probe, *args], check=True, capture_output=True, text=True)
        out[label] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="best of this many runs per command (default: 10)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats = {args.repeats} is invalid: must be >= 1")

    runs = commands(args.python)
    best = best_of(runs, args.repeats)
    reference = best["python -c pass"]
    rows = [
        [f"`{name}`", f"{seconds:.3f} s", f"{seconds - reference:+.3f} s", f"{seconds / reference:.1f}×"]
        for name, seconds in best.items()
    ]
    print(machine())
    print(f"whole-process wall time, best of {args.repeats}\n")
    print(markdown_table(["command", "time", "over python -c pass", "ratio"], rows))
    print()
    loaded = heavy_imports(args.python)
    print(
        markdown_table(
            ["command", "heavy libraries imported"], [[f"`{k}`", ", ".join(v) or "none"] for k, v in loaded.items()]
        )
    )


if __name__ == "__main__":
    main()
