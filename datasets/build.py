"""Build a dataset from a configuration: in parallel, resumable, deterministic.

The coordinating process owns the file; workers (local processes, or a Dask
cluster given by its scheduler address) only simulate and send trajectories
back. Every trajectory's parameters are drawn from ``(seed, index)`` before
any work starts, so the data do not depend on the number of workers, on the
order trajectories finish in, or on interruptions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physml.datasets.budget import check_resources
from physml.datasets.config import BuildConfig, load_config
from physml.datasets.families import Family, get_family
from physml.datasets.finalize import finalize
from physml.datasets.parallel import (
    WORKER_START_SECONDS,
    BuildError,
    Storage,
    check_scheduler,
    executor_for,
    run,
    simulate_batch,
    spool_directory,
    unspool,
    warm_up,
)
from physml.datasets.plan import Plan, make_plan
from physml.datasets.schema import read_info
from physml.datasets.store import StoredTrajectory, StoreWriter, create_store
from physml.interrupts import interruptible
from physml.locks import exclusive_output
from physml.progress import progress as progress_display

__all__ = ["BuildError", "BuildReport", "build_dataset", "create_build_store", "dataset_card", "resolve_plan"]


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
            f"n_trajectories = {config.n_trajectories} is invalid here: no trajectory falls in the train split "
            f"(splits {dict(Counter(plan.splits))}); give more, or check splits.extrapolation and the train fraction"
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


def create_build_store(out: Path, config: BuildConfig, family: Family, plan: Plan, shared: dict[str, Any]) -> Path:
    """The empty store of a planned build (:func:`resolve_plan`) at ``out``: layout, parameters, card, checks."""
    return create_store(
        out,
        dataset_name=family.dataset_name,
        family=family.name,
        layout=family.layout(shared, config.times),
        times=config.times,
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
        CPU cores, or 1 when timing a trajectory here shows the build would end before
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
        Show progress: a bar on a terminal, otherwise a line every ~10 % (:func:`physml.progress.progress`).

    An existing unfinished build of the same configuration is always resumed;
    any other existing file is an error unless ``overwrite`` is set. While one
    build writes ``out``, another of the same ``out`` is refused (``ValueError``).
    """
    if not isinstance(config, BuildConfig):
        config = load_config(config)
    if n_trajectories is not None:
        config = config.with_trajectories(n_trajectories)
    auto = workers is None
    workers = (os.cpu_count() or 1) if auto else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers = {workers!r} is invalid: must be an integer >= 1")
    if overwrite and resume:
        raise ValueError("overwrite and resume are exclusive: choose one")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"out = {str(out)!r} is a directory; give a file name such as {out / 'data.h5'}")
    check_resources(config, out)  # before planning: a config far beyond the machine is refused at once
    family, plan, shared = resolve_plan(config)
    start = time.perf_counter()
    with exclusive_output(out, action="built"):  # a second build of this file is refused at once, not interleaved
        return _build_locked(
            config, out, family, plan, shared, start,
            auto=auto, workers=workers, scheduler=scheduler, overwrite=overwrite, resume=resume, progress=progress,
        )  # fmt: skip


def _build_locked(
    config: BuildConfig,
    out: Path,
    family: Family,
    plan: Plan,
    shared: dict[str, Any],
    start: float,
    *,
    auto: bool,
    workers: int,
    scheduler: str | None,
    overwrite: bool,
    resume: bool,
    progress: bool,
) -> BuildReport:
    """:func:`build_dataset` once its arguments are checked and it holds the output's lock."""
    times = config.times
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
    if fresh and scheduler is not None:
        check_scheduler(scheduler)  # an unreachable cluster is found before the file exists
    if fresh:
        create_build_store(out, config, family, plan, shared)
    with StoreWriter(out) as writer, interruptible() as check_interrupt:
        completed = writer.completed
        pending = [int(i) for i in np.flatnonzero(~completed)]
        n_pending = len(pending)
        failures: Counter[str] = Counter()
        bar = progress_display(
            total=config.n_trajectories,
            initial=int(completed.sum()),
            desc=f"building {config.name}",
            unit="traj",
            enabled=progress,
        )

        def write(results: list[tuple[int, StoredTrajectory]]) -> None:
            check_interrupt()  # a Ctrl-C stops the build here, between batches: never in the middle of a write
            writer.write_many(unspool(results))
            for _, trajectory in results:
                failures.update(name for name, check in family.checks.items() if check.failed(trajectory.verification))
            bar.update(len(results))

        storage = Storage(writer.info.complex_fields, config.dtype, len(writer.info.shape))
        with bar:
            if auto and workers > 1 and scheduler is None and len(pending) > 1:
                # Time a trajectory here (the second: the first pays for compiling and planning); worker
                # processes pay off only if they start well before the end.
                write(simulate_batch(family, [(pending[0], plan.parameters[pending[0]])], times, storage))
                tic = time.perf_counter()
                write(simulate_batch(family, [(pending[1], plan.parameters[pending[1]])], times, storage))
                pending = pending[2:]
                if (time.perf_counter() - tic) * len(pending) < 2 * WORKER_START_SECONDS * workers:
                    workers = 1
            local = scheduler is None
            spooling = local and workers > 1  # local worker processes: executor_for gives them for workers > 1
            # The spool outlives the executor: its workers are gone (finished, or killed on a Ctrl-C) before
            # the directory is removed, so none can write into it after.
            with (
                spool_directory(out) if spooling else contextlib.nullcontext() as spool,
                executor_for(workers, scheduler) as (executor, label, slots),
            ):
                if executor is not None and local:
                    for _ in range(slots):  # start the worker processes while this one simulates
                        executor.submit(warm_up, family)
                storage = dataclasses.replace(storage, spool=spool)
                run(
                    executor, family, plan, times, pending, slots, write, storage, local=local, check=check_interrupt,
                )  # fmt: skip
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
