"""Write trajectories as HDF5 in The Well's layout.

Layout (The Well, ``docs/data_format.md`` of PolymathicAI/the_well): root
attributes ``dataset_name``, ``grid_type``, ``n_spatial_dims``,
``n_trajectories``, ``simulation_parameters`` (+ one attribute per
parameter); groups ``dimensions/`` (``time`` and one coordinate per axis),
``boundary_conditions/``, ``scalars/``, ``t0_fields/``, ``t1_fields/``,
``t2_fields/``; fields shaped ``(n_traj, n_t, *space)``. Complex fields are
stored as ``<name>_real`` / ``<name>_imag`` pairs. physml's additions live in
the ``physml/`` group: provenance and the full simulator config (JSON), and
which field pairs are complex. ``docs/data_format.md`` has the schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physml.provenance import provenance

__all__ = ["SCHEMA_VERSION", "write_trajectories"]

SCHEMA_VERSION = "0.1"


def _flags(obj: h5py.HLObject, *, sample: bool, time: bool) -> None:
    obj.attrs["sample_varying"] = sample
    obj.attrs["time_varying"] = time


def write_trajectories(
    path: str | os.PathLike[str],
    *,
    dataset_name: str,
    axes: Mapping[str, np.ndarray],
    time: np.ndarray,
    fields: Mapping[str, np.ndarray],
    static_fields: Mapping[str, np.ndarray] | None = None,
    scalars: Mapping[str, np.ndarray] | None = None,
    parameters: Mapping[str, float] | None = None,
    config: Mapping[str, Any] | None = None,
    bc_type: str = "periodic",
) -> Path:
    """Write trajectories to ``path`` atomically (temporary file, then rename).

    Parameters
    ----------
    path
        Output ``.h5`` file; replaced only once the new file is complete.
    dataset_name
        Root ``dataset_name`` attribute.
    axes
        Spatial coordinate arrays by name, in axis order (``{"x": ..., "y": ...}``).
    time
        ``(n_t,)`` save times, shared by all trajectories.
    fields
        Scalar (t0) fields ``(n_traj, n_t, *space)``; complex ones are split into re/im.
    static_fields
        Time-independent t0 fields ``(n_traj, *space)``, e.g. a potential.
    scalars
        Per-trajectory time series ``(n_traj, n_t)``, e.g. observables.
    parameters
        Simulation parameters (numbers) shared by the file; listed in ``simulation_parameters``.
    config
        JSON-serialisable description of how the data was made (stored in ``physml/config``).
    bc_type
        Boundary condition of every axis (``periodic``, ``wall`` or ``open``).
    """
    path = Path(path)
    static_fields = static_fields or {}
    scalars = scalars or {}
    parameters = dict(parameters or {})
    n_traj = {np.shape(v)[0] for v in (*fields.values(), *static_fields.values(), *scalars.values())}
    if len(n_traj) != 1:
        raise ValueError(f"fields disagree on the number of trajectories: {sorted(n_traj)}")
    tmp = path.with_name(f".{path.name}.partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    complex_pairs: dict[str, list[str]] = {}
    with h5py.File(tmp, "w") as f:
        f.attrs["dataset_name"] = dataset_name
        f.attrs["grid_type"] = "cartesian"
        f.attrs["n_spatial_dims"] = len(axes)
        f.attrs["n_trajectories"] = n_traj.pop()
        f.attrs["simulation_parameters"] = list(parameters)
        for name, value in parameters.items():
            f.attrs[name] = value

        dims = f.create_group("dimensions")
        dims.attrs["spatial_dims"] = list(axes)
        _flags(dims.create_dataset("time", data=np.asarray(time)), sample=False, time=False)
        for name, coord in axes.items():
            _flags(dims.create_dataset(name, data=np.asarray(coord)), sample=False, time=False)

        bcs = f.create_group("boundary_conditions")
        for name, coord in axes.items():
            bc = bcs.create_group(f"{name}_{bc_type}")
            bc.attrs["associated_dims"] = [name]
            bc.attrs["associated_fields"] = []
            bc.attrs["bc_type"] = bc_type.upper()
            _flags(bc, sample=False, time=False)
            mask = np.zeros(len(coord), dtype=bool)
            mask[[0, -1]] = True
            bc.create_dataset("mask", data=mask)

        group = f.create_group("scalars")
        group.attrs["field_names"] = list(scalars)
        for name, series in scalars.items():
            _flags(group.create_dataset(name, data=np.asarray(series)), sample=True, time=True)

        t0 = f.create_group("t0_fields")
        names = []
        for name, data, time_varying in [
            *((n, d, True) for n, d in fields.items()),
            *((n, d, False) for n, d in static_fields.items()),
        ]:
            data = np.asarray(data)
            parts = {f"{name}_real": data.real, f"{name}_imag": data.imag} if np.iscomplexobj(data) else {name: data}
            if np.iscomplexobj(data):
                complex_pairs[name] = list(parts)
            for part, values in parts.items():
                ds = t0.create_dataset(part, data=values, chunks=(1, 1, *values.shape[2:]) if time_varying else None)
                ds.attrs["dim_varying"] = [True] * len(axes)
                _flags(ds, sample=True, time=time_varying)
                names.append(part)
        t0.attrs["field_names"] = names
        for rank in ("t1_fields", "t2_fields"):
            f.create_group(rank).attrs["field_names"] = []

        meta = f.create_group("physml")
        meta.attrs["schema_version"] = SCHEMA_VERSION
        meta.attrs["complex_fields"] = json.dumps(complex_pairs)
        meta.attrs["config"] = json.dumps(config or {}, sort_keys=True)
        for key, value in provenance().items():
            meta.attrs[key] = value
    os.replace(tmp, path)
    return path
