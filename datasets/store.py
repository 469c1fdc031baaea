"""The HDF5 store: The Well's layout plus physml's ``physml/`` group, written so a kill never corrupts it.

Life of a file (``docs/data_format.md`` has the schema):

1. :func:`create_store` writes the whole structure at once (temporary file,
   flushed to disk, then renamed), with every dataset allocated up front (field datasets left
   sparse, the rest filled with NaN), including the statistics table and the
   ``physml/complete`` flag (0).
2. :class:`StoreWriter` fills trajectory ``i`` in place (fields, scalars,
   verification figures and the partial moments from which the statistics
   are combined) and then sets ``physml/completed[i]``. Because the space
   was allocated at creation and nothing is compressed yet, these writes
   change raw data only, never HDF5 metadata: a process killed at any moment
   (SIGKILL included) leaves a file that opens, in which every trajectory
   marked completed is whole. A resumed build redoes the others.
3. :func:`~physml.datasets.finalize.finalize` combines the moments of the training split into the
   statistics table, then sets ``physml/complete`` -- in place, again raw
   data only -- or, when compression is asked for, writes a compressed copy
   and renames it over the file, so an interruption here loses nothing either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physml.datasets.families.base import Check, Layout, ParameterSpec, Trajectory
from physml.datasets.moments import N_MOMENTS, STAT_COLUMNS, field_moments
from physml.datasets.schema import SCHEMA_VERSION, DataFileError, as_str, read_info
from physml.durable import atomic_path
from physml.provenance import provenance

__all__ = ["StoreWriter", "StoredTrajectory", "compression_options", "create_store", "prepare_trajectory"]


def _early_dcpl() -> h5py.h5p.PropDCID:
    # Allocate all chunks at creation: later writes then touch raw data only (kill-safe).
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    return dcpl


def _flags(obj: h5py.HLObject, *, sample: bool, time: bool) -> None:
    obj.attrs["sample_varying"] = sample
    obj.attrs["time_varying"] = time


def _json_attr(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# -- creation -------------------------------------------------------------------


def _parameter_column(spec: ParameterSpec, values: Sequence[Any]) -> np.ndarray:
    if spec.categories is not None:
        return np.array([spec.categories.index(v) if v is not None else -1 for v in values], dtype=np.int64)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def create_store(
    path: str | os.PathLike[str],
    *,
    dataset_name: str,
    family: str,
    layout: Layout,
    times: np.ndarray,
    parameters: Mapping[str, ParameterSpec],
    table: Sequence[Mapping[str, Any]],
    shared: Mapping[str, Any],
    splits: Sequence[str],
    checks: Mapping[str, Check],
    config: Mapping[str, Any] | str,
    fingerprint: str = "",
    card: Mapping[str, Any] | None = None,
    dtype: str = "float64",
    compression: str = "none",
) -> Path:
    """Create an empty store for ``len(table)`` trajectories (atomic and durable: see :mod:`physml.durable`).

    ``table`` holds each trajectory's per-trajectory parameters (``None`` where
    one does not apply); ``shared`` the file-level ones, written as root
    attributes and listed in ``simulation_parameters`` as The Well does.
    """
    path = Path(path)
    n_traj = len(table)
    if n_traj < 1:
        raise ValueError(f"table has {n_traj} trajectories; need at least 1")
    if len(splits) != n_traj:
        raise ValueError(f"splits has {len(splits)} labels for {n_traj} trajectories")
    compression_options(compression)  # validates
    times = np.asarray(times, dtype=np.float64)
    shape = layout.shape
    if path.is_dir():
        raise ValueError(f"output {path} is a directory; give a file name such as {path / 'data.h5'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:  # closed, then flushed to disk and renamed
            f.attrs["dataset_name"] = dataset_name
            f.attrs["grid_type"] = "cartesian"
            f.attrs["n_spatial_dims"] = len(layout.axes)
            f.attrs["n_trajectories"] = n_traj
            numeric_shared = {k: v for k, v in shared.items() if _is_numeric(v)}
            f.attrs["simulation_parameters"] = list(numeric_shared)
            for name, value in shared.items():
                f.attrs[name] = value

            dims = f.create_group("dimensions")
            dims.attrs["spatial_dims"] = list(layout.axes)
            _flags(dims.create_dataset("time", data=times), sample=False, time=False)
            for name, coord in layout.axes.items():
                _flags(dims.create_dataset(name, data=np.asarray(coord, dtype=np.float64)), sample=False, time=False)

            bcs = f.create_group("boundary_conditions")
            for name, coord in layout.axes.items():
                bc = bcs.create_group(f"{name}_{layout.bc_type}")
                bc.attrs["associated_dims"] = [name]
                bc.attrs["associated_fields"] = []
                bc.attrs["bc_type"] = layout.bc_type.upper()
                _flags(bc, sample=False, time=False)
                mask = np.zeros(len(coord), dtype=bool)
                mask[[0, -1]] = True
                bc.create_dataset("mask", data=mask)

            scalars = f.create_group("scalars")
            per_traj = [name for name, spec in parameters.items() if not spec.shared]
            scalars.attrs["field_names"] = [*layout.scalars, *per_traj]
            for name in layout.scalars:
                ds = scalars.create_dataset(
                    name, (n_traj, len(times)), "f8", chunks=(1, len(times)), fillvalue=np.nan, dcpl=_early_dcpl()
                )
                _flags(ds, sample=True, time=True)
            for name in per_traj:
                spec = parameters[name]
                ds = scalars.create_dataset(name, data=_parameter_column(spec, [row.get(name) for row in table]))
                _flags(ds, sample=True, time=False)
                ds.attrs["units"] = spec.unit
                ds.attrs["long_name"] = spec.help
                if spec.categories is not None:
                    ds.attrs["categories"] = list(spec.categories)

            t0 = f.create_group("t0_fields")
            names, complex_pairs = [], {}
            for spec in layout.fields:
                parts = [f"{spec.name}_real", f"{spec.name}_imag"] if spec.complex else [spec.name]
                if spec.complex:
                    complex_pairs[spec.name] = parts
                full = (n_traj, len(times), *shape) if spec.time_varying else (n_traj, *shape)
                chunks = (1, 1, *shape) if spec.time_varying else (1, *shape)
                for part in parts:
                    # Allocated, not filled: creating a large store costs no write of its size (the file is sparse
                    # until trajectories arrive). Unwritten trajectories read as zeros; `completed` says which.
                    ds = t0.create_dataset(
                        part, full, dtype, chunks=chunks, fillvalue=np.nan, fill_time="never", dcpl=_early_dcpl()
                    )
                    ds.attrs["dim_varying"] = [True] * len(shape)
                    ds.attrs["units"] = spec.unit
                    ds.attrs["long_name"] = spec.description + (
                        f" ({part.rsplit('_', 1)[1]} part)" if spec.complex else ""
                    )
                    _flags(ds, sample=True, time=spec.time_varying)
                    names.append(part)
            t0.attrs["field_names"] = names
            for rank in ("t1_fields", "t2_fields"):
                f.create_group(rank).attrs["field_names"] = []

            meta = f.create_group("physml")
            meta.attrs["schema_version"] = SCHEMA_VERSION
            meta.attrs["family"] = family
            meta.attrs["compression"] = compression
            meta.attrs["complex_fields"] = _json_attr(complex_pairs)
            meta.attrs["config"] = config if isinstance(config, str) else _json_attr(config)
            meta.attrs["fingerprint"] = fingerprint
            meta.attrs["card"] = _json_attr(card or {})
            meta.attrs["parameters"] = _json_attr(
                {
                    name: {"unit": s.unit, "help": s.help, "categories": s.categories, "shared": s.shared}
                    for name, s in parameters.items()
                }
            )
            for key, value in provenance().items():
                meta.attrs[key] = value
            meta.create_dataset("completed", (n_traj,), "u1", fillvalue=0, dcpl=_early_dcpl())
            # Created with its value (h5py ignores an early-allocation dcpl for scalars): setting it later
            # then rewrites one byte of raw data and nothing else.
            meta.create_dataset("complete", data=np.uint8(0))
            meta.create_dataset("split", data=np.array(list(splits), dtype=h5py.string_dtype()))
            moments = meta.create_dataset(
                "moments", (n_traj, len(names), 2 * N_MOMENTS), "f8", chunks=(1, len(names), 2 * N_MOMENTS),
                fillvalue=np.nan, dcpl=_early_dcpl(),
            )  # fmt: skip
            moments.attrs["fields"] = names
            moments.attrs["columns"] = [
                f"{m}{k}" for k in ("", "_delta") for m in ("count", "mean", "m2", "min", "max")
            ]
            stats = meta.create_dataset(
                "statistics", (len(names), len(STAT_COLUMNS)), "f8", fillvalue=np.nan, dcpl=_early_dcpl()
            )
            stats.attrs["fields"] = names
            stats.attrs["columns"] = list(STAT_COLUMNS)
            stats.attrs["split"] = "train" if "train" in splits else "all"
            verification = meta.create_group("verification")
            for check in checks.values():
                ds = verification.create_dataset(check.name, (n_traj,), "f8", fillvalue=np.nan, dcpl=_early_dcpl())
                ds.attrs["threshold"] = check.threshold
                ds.attrs["description"] = check.description
    except OSError as exc:
        raise DataFileError(f"cannot create {path}: {exc}") from None
    return path


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool | str):
        return False
    return bool(np.issubdtype(np.asarray(value).dtype, np.number))


# -- filling ----------------------------------------------------------------------


@dataclass
class StoredTrajectory:
    """A trajectory laid out for the file: stored dataset name -> contiguous array in the storage dtype.

    Building one (:func:`prepare_trajectory`) is the costly part of writing, so builds do it in the
    worker processes and the writing process only copies bytes.
    """

    parts: dict[str, np.ndarray]
    moments: dict[str, np.ndarray]
    scalars: dict[str, np.ndarray]
    verification: dict[str, float]


def prepare_trajectory(
    trajectory: Trajectory, *, complex_fields: Mapping[str, Sequence[str]], dtype: str, ndim: int
) -> StoredTrajectory:
    """Split complex fields into parts, cast to ``dtype`` and take the moments behind the statistics."""
    parts, moments = {}, {}
    for name, data in trajectory.fields.items():
        data = np.asarray(data)
        split = zip(complex_fields[name], (data.real, data.imag)) if name in complex_fields else [(name, data)]
        for part, values in split:
            parts[part] = np.ascontiguousarray(values, dtype=dtype)
            moments[part] = field_moments(parts[part], time_varying=values.ndim > ndim)
    return StoredTrajectory(parts, moments, dict(trajectory.scalars), dict(trajectory.verification))


class StoreWriter:
    """Fill trajectories of a store being built. Use as a context manager.

    Each :meth:`write` flushes the trajectory's data before marking it
    completed, so a kill at any point leaves only whole trajectories marked.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        info = read_info(self.path)
        if info.status != "building":
            raise DataFileError(f"{self.path} has status {info.status!r}; only a store being built can be written")
        self._file: h5py.File | None = None
        self._datasets: dict[str, dict[str, h5py.Dataset]] | None = None
        self._order: dict[str, int] = {}
        self.info = info

    def __enter__(self) -> StoreWriter:
        try:
            self._file = h5py.File(self.path, "r+")
        except OSError as exc:
            raise DataFileError(
                f"{self.path} cannot be opened for writing; if another process (a notebook, an xarray view) has "
                f"it open, close it there first ({exc})"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._datasets = None

    @property
    def completed(self) -> np.ndarray:
        """Boolean mask of trajectories already written."""
        assert self._file is not None, "use StoreWriter as a context manager"
        return self._file["physml/completed"][:].astype(bool)

    def write(self, index: int, trajectory: Trajectory) -> None:
        """Write trajectory ``index`` and mark it completed."""
        self.write_many([(index, trajectory)])

    def write_many(self, items: Sequence[tuple[int, Trajectory | StoredTrajectory]]) -> None:
        """Write several trajectories, flush, then mark them all completed (two flushes in all)."""
        f = self._file
        assert f is not None, "use StoreWriter as a context manager"
        if self._datasets is None:
            self._datasets = {
                group: {name: obj for name, obj in f[group].items() if isinstance(obj, h5py.Dataset)}
                for group in ("t0_fields", "scalars", "physml/verification")
            }
            self._order = {as_str(n): k for k, n in enumerate(f["physml/moments"].attrs["fields"])}
        fields, scalars, checks = (self._datasets[g] for g in ("t0_fields", "scalars", "physml/verification"))
        moments = f["physml/moments"]
        for index, trajectory in items:
            if isinstance(trajectory, Trajectory):
                trajectory = prepare_trajectory(
                    trajectory, complex_fields=self.info.complex_fields, dtype=self.dtype, ndim=len(self.info.shape)
                )
            row = np.full(moments.shape[1:], np.nan)
            for part, values in trajectory.parts.items():
                ds = fields[part]
                if values.shape != ds.shape[1:]:
                    raise ValueError(
                        f"field {part} of trajectory {index} has shape {values.shape}; expected {ds.shape[1:]}"
                    )
                ds.write_direct(values, dest_sel=np.s_[index])
                row[self._order[part]] = trajectory.moments[part]
            moments[index] = row
            for name, series in trajectory.scalars.items():
                scalars[name][index] = series
            for name, value in trajectory.verification.items():
                checks[name][index] = value
        f.flush()
        completed = f["physml/completed"]
        for index, _ in items:
            completed[index] = 1
        f.flush()

    @property
    def dtype(self) -> str:
        """Storage dtype of the fields."""
        f = self._file
        assert f is not None, "use StoreWriter as a context manager"
        names = [as_str(n) for n in f["physml/moments"].attrs["fields"]]
        return str(f["t0_fields"][names[0]].dtype) if names else "float64"


def compression_options(compression: str) -> dict[str, Any]:
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression.startswith("gzip-") and compression[5:] in tuple("123456789"):
        return {"compression": "gzip", "compression_opts": int(compression[5:]), "shuffle": True}
    raise ValueError(f"compression = {compression!r} is invalid: use none, lzf or gzip-1 ... gzip-9")
