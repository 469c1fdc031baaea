"""Dataset storage compression: file size against sample read speed, uncompressed as the reference.

Builds a shipped configuration once per compression (none, lzf, gzip-1,
gzip-4, gzip-9; lzf and gzip with byte shuffling, as ``finalize`` writes them;
one chunk per time step of one trajectory), with the same seed, so that every
file holds the same numbers (checked). For each file, in one run, it measures:

  * the file size per trajectory and the compression ratio (none / this);
  * random-access reads through ``WindowDataset`` (``ds[i]`` at the same
    random indices for every file), windows of 1 -> 1 and 4 -> 1 steps;
  * ``DataLoader(batch_size=32, shuffle=True)`` with ``num_workers`` 0 and 2,
    over a fixed number of batches after one warm-up batch and, with workers,
    the batches they prefetch meanwhile (steady state: worker start-up is
    excluded).

Rates are samples per second, best of ``--repeats`` (the files measured in
turn within each repeat), with the ratio to the uncompressed file in brackets.
The files have just been written, so they are read from the operating
system's page cache: this is the cost of HDF5 and the decompression, not of a
disk. Record results with the machine in docs/benchmarks.md.

    python benchmarks/dataset_io.py [--config schrodinger-1d [schrodinger-2d]] [--n-trajectories 64]
    python benchmarks/dataset_io.py --quick   # smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from _report import machine, markdown_table
from torch.utils.data import DataLoader

from physml.datasets import WindowDataset
from physml.datasets.build import build_dataset
from physml.datasets.config import BuildConfig, load_config

COMPRESSIONS = ("none", "lzf", "gzip-1", "gzip-4", "gzip-9")
BATCH_SIZE = 32


def build_variants(config: BuildConfig, folder: Path, workers: int) -> dict[str, Path]:
    """One file per compression, same seed; raises if any holds other numbers than the uncompressed one."""
    paths = {}
    for compression in COMPRESSIONS:
        paths[compression] = folder / f"{config.name}-{compression}.h5"
        variant = dataclasses.replace(config, compression=compression)
        build_dataset(variant, paths[compression], workers=workers, overwrite=True, progress=False)
    with h5py.File(paths["none"], "r") as ref:
        fields = {name: ds[...] for name, ds in ref["t0_fields"].items()}
    for path in paths.values():
        with h5py.File(path, "r") as f:
            for name, values in fields.items():
                if not np.array_equal(f["t0_fields"][name][...], values, equal_nan=True):
                    raise RuntimeError(f"{path}: field {name} differs from the uncompressed build")
    return paths


def random_reads(path: Path, n_input: int, n_samples: int) -> float:
    """Samples/s of ``ds[i]`` at ``n_samples`` random indices (seeded: the same ones for every file)."""
    ds = WindowDataset(path, n_input=n_input, n_output=1)
    indices = np.random.default_rng(0).integers(len(ds), size=n_samples).tolist()
    ds[indices[0]]  # warm-up: opens the file
    start = time.perf_counter()
    for i in indices:
        ds[i]
    seconds = time.perf_counter() - start
    ds.close()
    return n_samples / seconds


def loader_reads(path: Path, num_workers: int, n_batches: int, seed: int) -> float:
    """Samples/s of a shuffling ``DataLoader`` over ``n_batches`` batches, in steady state.

    The warm-up is the first batch (worker start-up, file opening) plus, with
    workers, the ``2 * num_workers`` batches they prefetch meanwhile (PyTorch's
    default ``prefetch_factor``), which would otherwise come for free.
    """
    ds = WindowDataset(path, n_input=1, n_output=1)
    warm_up = 1 + 2 * num_workers
    if len(ds) < (warm_up + n_batches) * BATCH_SIZE:
        raise ValueError(
            f"--n-batches = {n_batches} is invalid for {path.name}: its {len(ds)} samples hold "
            f"{len(ds) // BATCH_SIZE} batches of {BATCH_SIZE}, {warm_up} of them for the warm-up"
        )
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(ds, batch_size=BATCH_SIZE, shuffle=True, num_workers=num_workers, generator=generator)
    batches = iter(loader)
    for _ in range(warm_up):
        next(batches)
    start = time.perf_counter()
    for _ in range(n_batches):
        next(batches)
    seconds = time.perf_counter() - start
    del batches  # shuts the workers down
    ds.close()
    return n_batches * BATCH_SIZE / seconds


def bench_config(config: BuildConfig, args: argparse.Namespace) -> None:
    measures = {
        **{f"random {n}": lambda path, r, n=n: random_reads(path, n, args.n_samples) for n in (1, 4)},
        **{f"loader {k}": lambda path, r, k=k: loader_reads(path, k, args.n_batches, r) for k in args.loader_workers},
    }
    with tempfile.TemporaryDirectory(prefix="physml-bench-io-") as folder:
        start = time.perf_counter()
        paths = build_variants(config, Path(folder), args.build_workers)
        print(f"\n### {config.name}: {config.n_trajectories} trajectories, {config.n_saves + 1} saves, "
              f"{config.dtype} (built {len(paths)} files in {time.perf_counter() - start:.1f} s)\n")  # fmt: skip
        random_reads(paths["none"], 1, min(args.n_samples, 200))  # warm-up of the process (imports, caches)
        results = {c: {"size": path.stat().st_size / config.n_trajectories / 1e6} for c, path in paths.items()}
        # Repeats outermost and the files in turn, so that any drift of the machine hits every file alike.
        for repeat in range(args.repeats):
            for compression, path in paths.items():
                for key, measure in measures.items():
                    results[compression][key] = max(results[compression].get(key, 0.0), measure(path, repeat))
    reference = results["none"]
    header = ["compression", "MB/trajectory", "compression ratio", "random 1→1 samples/s", "random 4→1 samples/s",
              *(f"DataLoader workers={k} samples/s" for k in args.loader_workers)]  # fmt: skip
    rows = []
    for compression, r in results.items():
        rates = [f"{r[key]:.0f} ({r[key] / reference[key]:.2f}×)" for key in measures]
        rows.append([compression, f"{r['size']:.3f}", f"{reference['size'] / r['size']:.2f}", *rates])
    print(markdown_table(header, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["schrodinger-1d"], help="shipped configs or YAML paths")
    parser.add_argument("--n-trajectories", type=int, default=64, help="trajectories per file (default: 64)")
    parser.add_argument("--n-samples", type=int, default=2000, help="random reads per measurement (default: 2000)")
    parser.add_argument("--n-batches", type=int, default=30, help="timed DataLoader batches of 32 (default: 30)")
    parser.add_argument("--loader-workers", type=int, nargs="+", default=[0, 2], help="num_workers (default: 0 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions; the best is kept (default: 3)")
    parser.add_argument("--build-workers", type=int, default=1, help="build workers (default: 1; same data)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 16 trajectories, few reads, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.n_trajectories, args.n_samples, args.n_batches, args.repeats = 16, 100, 3, 1
    for name in ("n_trajectories", "n_samples", "n_batches", "repeats", "build_workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} = {getattr(args, name)} is invalid: must be >= 1")
    if min(args.loader_workers) < 0:
        parser.error(f"--loader-workers = {args.loader_workers} is invalid: each must be >= 0")

    print(machine())
    print(f"best of {args.repeats}; {args.n_samples} random reads, {args.n_batches} DataLoader batches of "
          f"{BATCH_SIZE}; ratios (in brackets) against compression none")  # fmt: skip
    for name in args.config:
        bench_config(load_config(name).with_trajectories(args.n_trajectories), args)


if __name__ == "__main__":
    main()
