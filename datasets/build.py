"""Build a dataset from a configuration: in parallel, resumable, deterministic.

The coordinating process owns the file; workers (local processes, or a Dask
cluster given by its scheduler address) only simulate and send trajectories
back. Every trajectory's parameters are drawn from ``(seed, index)`` before
any work starts, so the data do not depend on the number of workers, on the
order trajectories finish in, or on interruptions.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from joblib.externals import loky
from tqdm.auto import tqdm

from physml.datasets.config import BuildConfig, Plan, load_config, make_plan
from physml.datasets.families import Family, get_family
from physml.datasets.finalize import finalize
from physml.datasets.schema import read_info
from physml.datasets.store import StoredTrajectory, StoreWriter, create_store, prepare_trajectory

__all__ = ["BuildError", "BuildReport", "build_dataset", "dataset_card", "resolve_plan"]


#: Seconds to start a worker process and import physml there (measured: 1.3 to 1.7 s on the reference VM).
WORKER_START_SECONDS = 1.5


class BuildError(RuntimeError):
    """A trajectory failed to simulate; the trajectories written so far are kept."""


@dataclass(frozen=True)
class BuildReport:
    """What a call to :func:`build_dataset` did."""

    path: Path
    n_trajectories: int
    n_built: int
    n_resumed: int
    seconds: float
    workers: str
    failed_checks: dict[str, int]

    @property
    def trajectories_per_second(self) -> float:
        return self.n_built / self.seconds if self.seconds > 0 else math.nan


def resolve_plan(config: BuildConfig) -> tuple[Family, Plan, dict[str, Any]]:
    """The family, every trajectory's resolved parameters, and the shared (file-level) ones.

    All parameters are checked here, before anything is simulated or written.
    """
    family = get_family(config.family)
    plan = make_plan(config)
    names = config.parameter_names()
    if config.extrapolation is not None and config.extrapolation.parameter not in names:
        raise ValueError(
            f"splits.extrapolation.parameter = {config.extrapolation.parameter!r} is invalid: "
            f"it must be one of the config's parameters {names}"
        )
    rule = config.extrapolation
    spec = family.parameters.get(rule.parameter) if rule is not None else None
    if spec is not None and spec.categories is not None:
        raise ValueError(
            f"splits.extrapolation.parameter = {spec.name!r} is invalid: it is categorical; "
            "hold out a range of a numeric parameter"
        )
    resolved = []
    for i, params in enumerate(plan.parameters):
        try:
            resolved.append(family.resolve(params, config.times))
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(
                f"trajectory {i}: {type(exc).__name__ + ': ' if type(exc) is not ValueError else ''}{exc}"
            ) from None
    if "train" not in plan.splits:
        raise ValueError(
            f"no trajectory falls in the train split (splits {dict(Counter(plan.splits))}): "
            "check splits.extrapolation and the train fraction"
        )
    shared = {}
    for name, spec in family.parameters.items():
        if spec.shared:
            values = {repr(p[name]) for p in resolved}
            if len(values) > 1:
                raise ValueError(
                    f"parameter {name!r} varies across trajectories ({sorted(values)}), but it is shared by "
                    "every trajectory of a file (one grid and time step per file): set it in `fixed`"
                )
            shared[name] = resolved[0][name]
    return family, Plan(resolved, plan.splits), shared


def dataset_card(config: BuildConfig, family: Family, plan: Plan) -> dict[str, Any]:
    """Description, licence, parameter ranges and split sizes of a planned dataset."""
    parameters: dict[str, Any] = {}
    for name, spec in family.parameters.items():
        if spec.shared:
            continue
        values = [p[name] for p in plan.parameters if not family.is_missing(p[name])]
        if not values:
            continue
        if spec.categories is not None:
            parameters[name] = {"unit": spec.unit, "categories": dict(Counter(values))}
        else:
            parameters[name] = {"unit": spec.unit, "min": float(min(values)), "max": float(max(values))}
    card: dict[str, Any] = {
        "name": config.name,
        "family": config.family,
        "description": config.description or family.description,
        "license": config.license,
        "seed": config.seed,
        "n_trajectories": config.n_trajectories,
        "times": {"t_final": config.t_final, "n_saves": config.n_saves},
        "parameters": parameters,
        "splits": dict(Counter(plan.splits)),
        "split_fractions": config.fractions,
    }
    if config.extrapolation is not None:
        rule = config.extrapolation
        card["extrapolation"] = {"parameter": rule.parameter, "above": rule.above, "below": rule.below}
    return card


@dataclass(frozen=True)
class _Storage:
    """What a worker needs to lay a trajectory out for the file.

    With ``spool`` (a directory on the same machine), workers save the arrays there and send
    back file names: measured, that turns a 140 ms round trip for 16 2D trajectories through
    the process pipe into 10 ms, time the writing process would otherwise take from its own
    share of the simulations.
    """

    complex_fields: dict[str, list[str]]
    dtype: str
    ndim: int
    spool: str | None = None


@contextmanager
def _spool_directory(out: Path) -> Iterator[str]:
    """``.<name>.spool/`` beside the output: same machine, page-cached, and cleared by the next run if a
    killed build left files in it (a temporary directory elsewhere would leak them)."""
    spool = out.with_name(f".{out.name}.spool")
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir()
    try:
        yield str(spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _unspool(results: list[tuple[int, StoredTrajectory]]) -> list[tuple[int, StoredTrajectory]]:
    for _, stored in results:
        for part, value in stored.parts.items():
            if isinstance(value, str):
                stored.parts[part] = np.load(value, allow_pickle=False)
                os.remove(value)
    return results


def _warm_up() -> None:
    """A first task for each worker process: importing physml there overlaps with creating the store."""
    from physml.datasets import families  # noqa: F401


def _simulate_batch(
    family: Family, batch: Sequence[tuple[int, Mapping[str, Any]]], times: np.ndarray, storage: _Storage
) -> list[tuple[int, StoredTrajectory]]:
    """Worker entry point (module level so that it pickles): simulate a few trajectories in a row.

    The family travels as an object (pickled by reference to its class), so families defined
    outside physml work on worker processes and clusters too, wherever their module imports.

    They come back laid out for the file, in the storage precision (the verification figures
    were computed in float64 before that), so the writing process only copies bytes.
    """
    results = []
    for index, params in batch:
        try:
            trajectory = family.simulate(params, times)
        except Exception as exc:
            raise BuildError(f"trajectory {index} ({_short(params)}) failed: {type(exc).__name__}: {exc}") from exc
        stored = prepare_trajectory(
            trajectory, complex_fields=storage.complex_fields, dtype=storage.dtype, ndim=storage.ndim
        )
        if storage.spool is not None:
            for part, values in stored.parts.items():
                path = os.path.join(storage.spool, f"{index}-{part}.npy")
                np.save(path, values)
                stored.parts[part] = path  # type: ignore[assignment]
        results.append((index, stored))
    return results


@contextmanager
def _executor(workers: int, scheduler: str | None) -> Iterator[tuple[cf.Executor | None, str, int]]:
    """``(executor or None for in-process, description, number of parallel slots)``."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - dask is a dependency
            raise ValueError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from None
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ValueError(f"scheduler = {scheduler!r} cannot be reached: {exc}") from None
        with client:
            n = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            yield client.get_executor(pure=False), f"dask: {n} worker threads at {scheduler}", max(n, 1)
        return
    if workers == 1:
        yield None, "1 (in process)", 1
        return
    # This process is one worker (it works while the others start); the rest are joblib's loky processes:
    # fresh interpreters (no inherited HDF5 handles, FFTW plans or threads, unlike fork) that, unlike
    # multiprocessing's spawn, need no __main__ guard in the calling script.
    # On an error or Ctrl-C the workers are killed at once (what they hold is lost, as promised);
    # the executor's own context exit would wait for their batches instead.
    pool = loky.ProcessPoolExecutor(max_workers=workers - 1)
    try:
        yield pool, f"{workers} local processes", workers - 1
    except BaseException:
        pool.shutdown(wait=False, kill_workers=True)
        raise
    pool.shutdown(wait=True)


def _batches(pending: Sequence[int], slots: int) -> Iterator[list[int]]:
    """Guided self-scheduling: batches of up to 8 trajectories, shrinking to 1 near the end.

    Several trajectories per task amortise the inter-process round trip and the flushes when each
    is quick; shrinking batches keep every worker busy to the end and bound what an interruption loses.
    """
    start = 0
    while start < len(pending):
        size = max(1, min(8, (len(pending) - start) // (4 * slots)))
        yield list(pending[start : start + size])
        start += size


def _run(
    executor: cf.Executor | None,
    family: Family,
    plan: Plan,
    times: np.ndarray,
    pending: Sequence[int],
    slots: int,
    write: Callable[[list[tuple[int, StoredTrajectory]]], None],
    storage: _Storage,
    *,
    local: bool = False,
) -> None:
    """Simulate ``pending`` trajectories on ``executor`` (``None``: here), calling ``write`` as each batch arrives.

    With ``local``, this process simulates batches too, between collecting the executor's results.
    """
    here = dataclasses.replace(storage, spool=None)  # batches simulated in this process need no spool
    if executor is None:
        for batch in _batches(pending, 1):
            write(_simulate_batch(family, [(i, plan.parameters[i]) for i in batch], times, here))
        return
    queue = iter(_batches(pending, slots + local))

    def submit(batch: list[int]) -> cf.Future:
        return executor.submit(_simulate_batch, family, [(i, plan.parameters[i]) for i in batch], times, storage)

    def collect(done: set[cf.Future]) -> None:
        for future in done:
            write(future.result())
            following = next(queue, None)
            if following is not None:
                futures.add(submit(following))

    futures = {submit(batch) for _, batch in zip(range(3 * slots), queue)}
    try:
        while futures:
            if local:
                # This process is one of the workers: simulate a batch here, then hand over what finished.
                batch = next(queue, None)
                if batch is not None:
                    write(_simulate_batch(family, [(i, plan.parameters[i]) for i in batch], times, here))
                    done = {f for f in futures if f.done()}
                    futures -= done
                    collect(done)
                    continue
            done, futures = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            collect(done)
    except BaseException:
        if not isinstance(executor, loky.ProcessPoolExecutor):  # loky's shutdown cancels its own futures
            for future in futures:
                future.cancel()
        raise


def _short(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items() if v is not None)


def build_dataset(
    config: BuildConfig | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n_trajectories: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Build (or resume building) the dataset ``config`` into ``out``.

    Parameters
    ----------
    config
        A :class:`BuildConfig`, a shipped configuration name or a YAML path.
    out
        Output ``.h5`` file.
    n_trajectories
        Override the configuration's number of trajectories.
    workers
        Local worker processes, this one included; 1 runs in this process only. Default: all
        CPU cores, or 1 when timing the first trajectory shows the build would end before
        worker processes repay their start-up (``benchmarks/dataset_build.py``).
    scheduler
        Address of a Dask distributed scheduler (``tcp://host:8786``); the
        trajectories then run on that cluster and ``workers`` is ignored.
    overwrite
        Replace an existing file (the old one stays intact until the new store exists).
    resume
        Require an existing unfinished build of the same configuration (without
        it, one is resumed anyway; a complete one is then left as it is).
    progress
        Show a progress bar.

    An existing unfinished build of the same configuration is always resumed;
    any other existing file is an error unless ``overwrite`` is set.
    """
    if not isinstance(config, BuildConfig):
        config = load_config(config)
    if n_trajectories is not None:
        config = config.with_trajectories(n_trajectories)
    auto = workers is None
    workers = os.cpu_count() or 1 if auto else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers = {workers!r} is invalid: must be an integer >= 1")
    if overwrite and resume:
        raise ValueError("overwrite and resume are exclusive: choose one")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"out = {str(out)!r} is a directory; give a file name such as {out / 'data.h5'}")
    family, plan, shared = resolve_plan(config)
    times = config.times
    start = time.perf_counter()

    fresh = overwrite or not out.exists()
    if resume and not out.exists():
        raise ValueError(f"resume: {out} does not exist; drop --resume to start a new build")
    if not fresh:
        info = read_info(out)  # DataFileError for corrupted/foreign/too-new files: never touched
        same = info.is_physml and info.fingerprint == config.fingerprint
        if not same:
            raise ValueError(
                f"{out} exists and holds a different dataset ({info.dataset_name}, {info.n_trajectories} trajectories"
                f"{', other config' if info.is_physml else ', not built by physml'}); "
                "pass --overwrite to replace it or choose another --out"
            )
        if info.status == "complete":
            if resume:
                return BuildReport(
                    out, config.n_trajectories, 0, config.n_trajectories, 0.0, "none (already complete)", {}
                )
            raise ValueError(f"{out} exists and is a complete build of this config; pass --overwrite to rebuild it")
    if fresh:
        create_store(
            out,
            dataset_name=family.dataset_name,
            family=family.name,
            layout=family.layout(shared, times),
            times=times,
            parameters=family.parameters,
            table=[{k: v for k, v in p.items() if not family.parameters[k].shared} for p in plan.parameters],
            shared=shared,
            splits=plan.splits,
            checks=family.checks,
            config=config.to_json(),
            fingerprint=config.fingerprint,
            card=dataset_card(config, family, plan),
            dtype=config.dtype,
            compression=config.compression,
        )
    with StoreWriter(out) as writer:
        completed = writer.completed
        pending = [int(i) for i in np.flatnonzero(~completed)]
        n_pending = len(pending)
        failures: Counter[str] = Counter()
        bar = tqdm(
            total=config.n_trajectories,
            initial=int(completed.sum()),
            desc=f"building {config.name}",
            unit="traj",
            disable=not progress,
        )

        def write(results: list[tuple[int, StoredTrajectory]]) -> None:
            writer.write_many(_unspool(results))
            for _, trajectory in results:
                for name, check in family.checks.items():
                    if not trajectory.verification.get(name, math.nan) <= check.threshold:
                        failures[name] += 1
            bar.update(len(results))

        storage = _Storage(writer.info.complex_fields, config.dtype, len(writer.info.shape))
        with bar:
            if auto and workers > 1 and scheduler is None and len(pending) > 1:
                # Time a trajectory here (the second: the first pays for compiling and planning); worker
                # processes pay off only if they start well before the end.
                write(_simulate_batch(family, [(pending[0], plan.parameters[pending[0]])], times, storage))
                tic = time.perf_counter()
                write(_simulate_batch(family, [(pending[1], plan.parameters[pending[1]])], times, storage))
                pending = pending[2:]
                if (time.perf_counter() - tic) * len(pending) < 2 * WORKER_START_SECONDS * workers:
                    workers = 1
            with _executor(workers, scheduler) as (executor, label, slots):
                if executor is not None and scheduler is None:
                    for _ in range(slots):  # start the worker processes while this one simulates
                        executor.submit(_warm_up)
                local = scheduler is None
                spooling = local and executor is not None
                with _spool_directory(out) if spooling else contextlib.nullcontext() as spool:
                    storage = dataclasses.replace(storage, spool=spool)
                    _run(executor, family, plan, times, pending, slots, write, storage, local=local)
    finalize(out)
    return BuildReport(
        out,
        config.n_trajectories,
        n_pending,
        config.n_trajectories - n_pending,
        time.perf_counter() - start,
        label,
        dict(failures),
    )
