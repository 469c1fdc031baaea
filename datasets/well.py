"""Write in-memory trajectories as one Well-layout file (used by ``physml simulate``).

Dataset builds (:mod:`physml.datasets.build`) write incrementally through
:mod:`physml.datasets.store`; this is the one-shot path for arrays already in
memory, with the same schema (``docs/data_format.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from physml.datasets.families.base import FieldSpec, Layout, Trajectory
from physml.datasets.finalize import finalize
from physml.datasets.schema import SCHEMA_VERSION
from physml.datasets.store import StoreWriter, create_store

__all__ = ["SCHEMA_VERSION", "write_trajectories"]


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
    """Write trajectories to ``path`` atomically (complete file or nothing).

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
        JSON-serialisable description of how the data was made (stored in ``physml/@config``).
    bc_type
        Boundary condition of every axis (``periodic``, ``wall`` or ``open``).
    """
    path = Path(path)
    static_fields = dict(static_fields or {})
    scalars = dict(scalars or {})
    arrays = {**fields, **static_fields}
    n_traj = {np.shape(v)[0] for v in (*arrays.values(), *scalars.values())}
    if len(n_traj) != 1:
        raise ValueError(f"fields disagree on the number of trajectories: {sorted(n_traj)}")
    n = n_traj.pop()
    layout = Layout(
        axes={k: np.asarray(v) for k, v in axes.items()},
        fields=tuple(
            FieldSpec(name, complex=bool(np.iscomplexobj(data)), time_varying=name in fields)
            for name, data in arrays.items()
        ),
        scalars=tuple(scalars),
        bc_type=bc_type,
    )
    tmp = path.with_name(f".{path.name}.writing")
    dtype = "float32" if all(np.asarray(a).real.dtype == np.float32 for a in arrays.values()) else "float64"
    create_store(
        tmp,
        dataset_name=dataset_name,
        family=dataset_name,
        layout=layout,
        times=np.asarray(time),
        parameters={},
        table=[{}] * n,
        shared=dict(parameters or {}),
        splits=["train"] * n,
        checks={},
        config=dict(config or {}),
        dtype=dtype,
    )
    with StoreWriter(tmp) as writer:
        for i in range(n):
            writer.write(
                i,
                Trajectory(
                    fields={name: np.asarray(data)[i] for name, data in arrays.items()},
                    scalars={name: np.asarray(series)[i] for name, series in scalars.items()},
                ),
            )
    finalize(tmp)
    os.replace(tmp, path)
    return path
