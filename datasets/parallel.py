"""Running trajectories: in this process, on local worker processes (loky) or on a Dask cluster.

The writing process hands out batches of trajectories and receives them laid
out for the file; it also simulates batches itself between collecting results.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import queue
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from joblib.externals import loky

from physml.datasets.families import Family
from physml.datasets.plan import Plan
from physml.datasets.store import StoredTrajectory, prepare_trajectory
from physml.errors import BuildError

__all__ = [
    "WORKER_START_SECONDS",
    "BuildError",
    "Storage",
    "check_scheduler",
    "describe_params",
    "executor_for",
    "run",
    "simulate_batch",
    "spool_directory",
    "unspool",
    "warm_up",
]

#: Seconds a build waiting for its workers goes without looking for a Ctrl-C (it only bounds how soon
#: the first Ctrl-C is acted on while every worker is busy; nothing depends on it).
WAIT_POLL = 0.5

#: Seconds to start a worker process and import physml there (measured: 1.3 to 1.7 s on the reference VM).
WORKER_START_SECONDS = 1.5


@dataclass(frozen=True)
class Storage:
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
def spool_directory(out: Path) -> Iterator[str]:
    """``.<name>.spool/`` beside the output: same machine, page-cached, and cleared by the next run if a
    killed build left files in it (a temporary directory elsewhere would leak them)."""
    spool = out.with_name(f".{out.name}.spool")
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir()
    try:
        yield str(spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def unspool(results: list[tuple[int, StoredTrajectory]]) -> list[tuple[int, StoredTrajectory]]:
    for _, stored in results:
        for part, value in stored.parts.items():
            if isinstance(value, str):
                stored.parts[part] = np.load(value, allow_pickle=False)
                os.remove(value)
    return results


def warm_up(family: Family) -> None:
    """A first task for each worker process: receiving ``family`` imports its module and simulator there,
    which overlaps with creating the store."""


def simulate_batch(
    family: Family, batch: Sequence[tuple[int, Mapping[str, Any]]], times: np.ndarray, storage: Storage
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
            raise BuildError(
                f"trajectory {index} ({describe_params(params)}) failed: {type(exc).__name__}: {exc}"
            ) from exc
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
def executor_for(workers: int, scheduler: str | None) -> Iterator[tuple[cf.Executor | None, str, int]]:
    """``(executor or None for in-process, description, number of parallel slots)``."""
    if scheduler is not None:
        client = _connect(scheduler)
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
        _kill(pool)
        raise
    pool.shutdown(wait=True)


#: Longest wait for a killed worker process to exit (it is SIGKILLed, so this is reaping time, not work).
KILL_JOIN_SECONDS = 10.0


def _kill(pool: loky.ProcessPoolExecutor) -> None:
    """Shut ``pool`` down now, killing its workers, without loky's manager-thread traceback.

    With ``kill_workers``, loky's manager thread drops every pending work item and then reads
    the ids still queued for submission (``KeyError`` printed on Ctrl-C, measured with the
    joblib pinned in constraints.txt). Emptying that queue first leaves it nothing to misread.
    """
    ids = getattr(pool, "_work_ids", None)  # private: the queue of submitted, not yet dispatched work ids
    try:
        while ids is not None:
            ids.get_nowait()
    except queue.Empty:
        pass
    processes = list(getattr(pool, "_processes", {}).values())  # private: the worker processes by pid
    pool.shutdown(wait=False, kill_workers=True)
    for process in processes:  # killed, not yet reaped: wait until none can write any more
        process.join(timeout=KILL_JOIN_SECONDS)


def _connect(scheduler: str):
    """A Dask client of ``scheduler`` (``ValueError`` naming it if the address is wrong or unreachable)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        raise ValueError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from None

    try:
        return Client(scheduler, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:  # unreachable; no port; not an address
        raise ValueError(f"scheduler = {scheduler!r} cannot be reached: {exc}") from None


def check_scheduler(scheduler: str) -> None:
    """Connect to ``scheduler`` once and leave: a build checks it before writing anything."""
    with _connect(scheduler):
        pass


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


def run(
    executor: cf.Executor | None,
    family: Family,
    plan: Plan,
    times: np.ndarray,
    pending: Sequence[int],
    slots: int,
    write: Callable[[list[tuple[int, StoredTrajectory]]], None],
    storage: Storage,
    *,
    local: bool = False,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Simulate ``pending`` trajectories on ``executor`` (``None``: here), calling ``write`` as each batch arrives.

    With ``local``, this process simulates batches too, between collecting the executor's results.
    ``check`` is called before each batch simulated here and at least every :data:`WAIT_POLL` seconds
    while waiting for the executor (it raises to stop the build: a Ctrl-C, :mod:`physml.interrupts`).
    """
    here = dataclasses.replace(storage, spool=None)  # batches simulated in this process need no spool
    if executor is None:
        for batch in _batches(pending, 1):
            write(simulate_batch(family, [(i, plan.parameters[i]) for i in batch], times, here))
        return
    queue = iter(_batches(pending, slots + local))

    def submit(batch: list[int]) -> cf.Future:
        return executor.submit(simulate_batch, family, [(i, plan.parameters[i]) for i in batch], times, storage)

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
                    check()
                    write(simulate_batch(family, [(i, plan.parameters[i]) for i in batch], times, here))
                    done = {f for f in futures if f.done()}
                    futures -= done
                    collect(done)
                    continue
            done, futures = cf.wait(futures, timeout=WAIT_POLL, return_when=cf.FIRST_COMPLETED)
            check()
            collect(done)
    except BaseException:
        if not isinstance(executor, loky.ProcessPoolExecutor):  # loky's shutdown cancels its own futures
            for future in futures:
                future.cancel()
        raise


def describe_params(params: Mapping[str, Any]) -> str:
    """``name=value, ...`` for the parameters that are set (for messages)."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items() if v is not None)
