"""Shared helpers of the benchmark scripts: the machine line, markdown tables, interleaved best-of timing, and
training runs in child processes of one thread."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

from physml.durable import atomic_path
from physml.locks import lock_path

try:
    import fcntl
except ImportError:  # Windows: the records are updated unlocked
    fcntl = None  # type: ignore[assignment]

#: A child process's environment: one thread (the studies run their jobs side by side on the cores).
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def train_run(config: dict, out: Path, *, init: Path | None = None, twin: Path | None = None) -> Path:
    """``physml train`` of ``config`` into ``out`` (written as ``config.yaml``), from ``init``'s weights if given,
    in a child process with one thread; a run begun before resumes, a finished one (``out/done``, which records
    its seconds) is left as it is. Returns ``out``. A run begun or finished with another config is refused
    (``ValueError`` naming the settings that differ), never resumed or relabelled: give another ``out``.

    ``twin``: a folder that may hold a finished run of this very config (a sweep's run at the rate it chose, when
    the sweep trains the full budget). If it does and ``out`` is new, that run is copied into ``out`` rather than
    trained again (on the CPU a retrained run is the same bit for bit). A twin of another config, or unfinished, is
    ignored.

    The child runs with ``-P``: it imports the installed physml, not a ``./physml`` of the working directory (run
    from a checkout's root, ``python -m`` would otherwise mix that checkout's package with the installed one's).
    """
    text = yaml.safe_dump(config, sort_keys=False)
    written = yaml.safe_load(text)  # as it will read back
    if twin is not None and not out.exists() and (twin / "done").exists() and not _differences(_config(twin), written):
        partial = out.with_name(f".{out.name}.copying")  # as atomic_path names it; never taken for a run
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(twin, partial)
        partial.rename(out)
    out.mkdir(parents=True, exist_ok=True)
    begun = (out / "done").exists() or (out / "last.pt").exists()
    if begun and (out / "config.yaml").exists():
        differ = _differences(_config(out), written)
        if differ:
            raise ValueError(f"{out} holds a run of another config ({', '.join(differ)} differ); "
                             "give the new run another folder")  # fmt: skip
    (out / "config.yaml").write_text(text)
    if not (out / "done").exists():
        command = [sys.executable, "-P", "-m", "physml", "train", str(out / "config.yaml"), "--out", str(out),
                   "--no-progress", *(["--init", str(init)] if init else [])]  # fmt: skip
        start = time.perf_counter()
        with (out / "stderr.log").open("w") as stderr:
            subprocess.run(command, check=True, env=ONE_THREAD, stdout=subprocess.DEVNULL, stderr=stderr)
        (out / "done").write_text(json.dumps({"seconds": time.perf_counter() - start}))
    return out


def _config(run: Path) -> dict | None:
    """The config a run folder was trained with (None if it has none)."""
    return yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").exists() else None


def _differences(old: object, new: object, at: str = "") -> list[str]:
    """Dotted paths of the settings whose values differ between two parsed configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [k for k in new if k not in old]
        return [path for k in keys for path in _differences(old.get(k), new.get(k), f"{at}.{k}" if at else str(k))]
    return [] if old == new else [f"{at or 'config'} ({old!r} -> {new!r})"]


@contextmanager
def merged_json(path: Path, empty: dict) -> Iterator[dict]:
    """The record at ``path`` (``empty`` if there is none) to update in the block, written back when it ends.

    Invocations of a study run side by side and each adds its rows to one record: the read, the update and the
    write happen under a blocking ``flock`` on ``.NAME.lock`` beside it, so no invocation writes back a record
    read before another's rows were added (``physml.locks``' lock file, waited for instead of refused). The
    write is ``physml.durable.atomic_path``'s; a block that raises leaves the record as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(path).open("a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file is closed
        record = json.loads(path.read_text()) if path.exists() else empty
        yield record
        with atomic_path(path) as temporary:
            temporary.write_text(json.dumps(record, indent=1))


def machine() -> str:
    """CPU model, usable cores and library versions, for the record."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)
    libraries = ", ".join(f"{name} {version(name)}" for name in ("numpy", "h5py", "torch"))
    return (
        f"machine: {model or platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}, {libraries}"
    )


def mean_spread(values: Sequence[float]) -> str:
    """``mean ± sample standard deviation`` to 4 decimals (the mean alone for one value)."""
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {statistics.stdev(values):.4f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def modes_width(text: str, *, max_modes: int | None = None) -> tuple[int, int]:
    """An argparse type for FNO settings written ``MODES:WIDTH`` (e.g. ``16:32``)."""
    try:
        modes, width = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: write MODES:WIDTH, e.g. 16:32") from None
    if modes < 1 or width < 1 or (max_modes is not None and modes > max_modes):
        limit = f"1 <= modes <= {max_modes}" if max_modes is not None else "modes >= 1"
        raise argparse.ArgumentTypeError(f"setting {text!r} is invalid: {limit}, width >= 1")
    return modes, width


def nearest_width(count: Callable[[int], int], widths: Sequence[int], target: float) -> int:
    """The width among ``widths`` whose weight ``count`` is nearest ``target``. Counts grow with the width, so
    bisection finds it in a few counts (each a model built on weightless shells, typically)."""
    low, high = 0, len(widths) - 1
    while low < high:
        mid = (low + high) // 2
        low, high = (mid + 1, high) if count(widths[mid]) < target else (low, mid)
    return min(widths[max(low - 1, 0) : low + 1], key=lambda w: abs(count(w) - target))


def best_of(runs: dict[str, Callable[[], object]], n_calls: int, repeats: int, *, warmup: int = 1) -> dict[str, float]:
    """Seconds per call of each run, best of ``repeats``, the runs timed in turn (order alternating per repeat).

    Each run is called ``warmup`` times first (allocator, kernel selection, FFT plans, optimiser state).
    """
    for run in runs.values():
        for _ in range(warmup):
            run()
    best = dict.fromkeys(runs, float("inf"))
    for repeat in range(repeats):
        for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
            start = time.perf_counter()
            for _ in range(n_calls):
                runs[name]()
            best[name] = min(best[name], (time.perf_counter() - start) / n_calls)
    return best


def peak_bytes(run: Callable[[], None], device: torch.device) -> int:
    """Peak bytes allocated during ``run()`` above the level before it.

    CUDA: ``torch.cuda.max_memory_allocated``. CPU: the running total of the allocations and frees
    ``torch.profiler`` records with ``profile_memory=True`` (tensor allocations, not resident memory).
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        run()
        return torch.cuda.max_memory_allocated(device) - before
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"), key=lambda e: e.start_ns()
    )
    level = peak = 0
    for event in events:  # allocations count positive, frees negative
        level += event.nbytes()
        peak = max(peak, level)
    return peak
