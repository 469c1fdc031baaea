"""Schrödinger runs as Well-layout files (complex psi stored as re/im pairs)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from physml.datasets.well import write_trajectories
from physml.simulators.schrodinger import SchrodingerRun

__all__ = ["describe_system", "write_schrodinger_run"]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>"
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if callable(value):
        return f"<callable {getattr(value, '__qualname__', type(value).__name__)}>"
    return value


def describe_system(run: SchrodingerRun) -> dict[str, Any]:
    """JSON-serialisable description of the run's system, scheme and step."""
    system = run.system
    return {
        "simulator": "schrodinger",
        "grid": {"n": list(system.grid.n), "length": list(system.grid.length)},
        "potential": _jsonable(system.potential),
        "absorber": _jsonable(system.absorber),
        "hbar": system.hbar,
        "mass": system.mass,
        "dt": run.dt,
        "scheme": run.scheme,
    }


def write_schrodinger_run(path: str | os.PathLike[str], run: SchrodingerRun, **extra_config: Any) -> Path:
    """Write one run as a single-trajectory Well file: ``psi`` (re/im), static or time-varying ``V``, observables."""
    system = run.system
    names = "xy"[: system.grid.ndim]
    potential = (
        np.stack([system.potential_at(t) for t in run.t])[None]
        if system.potential.time_dependent
        else system.potential_at(0.0)[None]
    )
    fields = {"psi": run.psi[None]}
    static = {}
    (fields if system.potential.time_dependent else static)["potential"] = potential
    return write_trajectories(
        path,
        dataset_name="schrodinger",
        axes=dict(zip(names, system.grid.axes)),
        time=run.t,
        fields=fields,
        static_fields=static,
        scalars={name: series[None] for name, series in run.observables.items()},
        parameters={"hbar": system.hbar, "mass": system.mass, "dt": run.dt},
        config={**describe_system(run), **extra_config},
    )
