"""The HDF5 store: The Well's layout plus physml's ``physml/`` group, written so a kill never corrupts it.

Life of a file (``docs/data_format.md`` has the schema):

1. :func:`create_store` writes the whole structure at once (temporary file,
   then rename), with every dataset allocated up front and filled with NaN,
   including the statistics table and the ``physml/complete`` flag (0).
2. :class:`StoreWriter` fills trajectory ``i`` in place (fields, scalars,
   verification figures and the partial moments from which the statistics
   are combined) and then sets ``physml/completed[i]``. Because the space
   was allocated at creation and nothing is compressed yet, these writes
   change raw data only, never HDF5 metadata: a process killed at any moment
   (SIGKILL included) leaves a file that opens, in which every trajectory
   marked completed is whole. A resumed build redoes the others.
3. :func:`finalize` combines the moments of the training split into the
   statistics table, then sets ``physml/complete`` -- in place, again raw
   data only -- or, when compression is asked for, writes a compressed copy
   and renames it over the file, so an interruption here loses nothing either.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physml.datasets.families.base import Check, Layout, ParameterSpec, Trajectory
from physml.provenance import provenance

__all__ = [
    "FIELD_GROUPS",
    "SCHEMA_VERSION",
    "DataFileError",
    "StoreInfo",
    "StoreWriter",
    "ValidationReport",
    "create_store",
    "finalize",
    "read_info",
    "validate",
]

#: Version of the physml additions; files with a newer major or minor version are refused.
SCHEMA_VERSION = "0.2"
#: Columns of ``physml/statistics`` (one row per stored field; ``*_delta`` of differences between saves).
STAT_COLUMNS = ("mean", "std", "rms", "min", "max", "mean_delta", "std_delta", "rms_delta", "count")
_MOMENTS = 5  # count, mean, sum of squared deviations, min, max
FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")
_WELL_ROOT_ATTRS = ("dataset_name", "grid_type", "n_spatial_dims", "n_trajectories")
_WELL_GROUPS = ("dimensions", "boundary_conditions", "scalars", *FIELD_GROUPS)


class DataFileError(ValueError):
    """A data file that cannot be used: missing, truncated, corrupted, foreign or too new."""


def _version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        raise DataFileError(f"schema_version = {text!r} is not a version number") from None


@contextmanager
def open_h5(path: str | os.PathLike[str], mode: str = "r") -> Iterator[h5py.File]:
    """``h5py.File`` whose open errors become :class:`DataFileError` naming the file."""
    path = Path(path)
    if mode == "r" and not path.exists():
        raise DataFileError(f"{path}: no such file")
    try:
        handle = h5py.File(path, mode)
    except OSError as exc:
        raise DataFileError(
            f"{path} cannot be opened as HDF5 (truncated, corrupted, not HDF5, or open for writing "
            f"by another process): {exc}"
        ) from None
    with handle:
        yield handle


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
    """Create an empty store for ``len(table)`` trajectories (atomic: temporary file, then rename).

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
    _compression_kwargs(compression)  # validates
    times = np.asarray(times, dtype=np.float64)
    shape = layout.shape
    if path.is_dir():
        raise ValueError(f"output {path} is a directory; give a file name such as {path / 'data.h5'}")
    tmp = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(tmp, "w") as f:
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
                "moments", (n_traj, len(names), 2 * _MOMENTS), "f8", chunks=(1, len(names), 2 * _MOMENTS),
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
        tmp.unlink(missing_ok=True)
        raise DataFileError(f"cannot create {path}: {exc}") from None
    os.replace(tmp, path)
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
            moments[part] = _field_moments(parts[part], time_varying=values.ndim > ndim)
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
            self._order = {_str(n): k for k, n in enumerate(f["physml/moments"].attrs["fields"])}
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
        names = [_str(n) for n in f["physml/moments"].attrs["fields"]]
        return str(f["t0_fields"][names[0]].dtype) if names else "float64"


# -- reading the header ---------------------------------------------------------------


@dataclass
class StoreInfo:
    """What a file holds, read from its attributes (no field data)."""

    path: Path
    dataset_name: str
    n_trajectories: int
    n_times: int
    spatial_dims: list[str]
    shape: tuple[int, ...]
    field_names: dict[str, list[str]]
    time_varying: dict[str, bool]
    scalar_names: list[str]
    is_physml: bool
    schema_version: str = ""
    status: str = "complete"
    family: str = ""
    complex_fields: dict[str, list[str]] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: str = "{}"
    fingerprint: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    completed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    splits: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    checks: dict[str, float] = field(default_factory=dict)
    statistics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def n_completed(self) -> int:
        return int(self.completed.sum())

    @property
    def per_trajectory_parameters(self) -> list[str]:
        return [name for name, p in self.parameters.items() if not p.get("shared")]


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_info(path: str | os.PathLike[str]) -> StoreInfo:
    """Read and check a file's header: Well layout present, physml schema not newer than this code.

    Raises :class:`DataFileError` for a missing, truncated, corrupted, foreign or too-new file.
    """
    path = Path(path)
    try:
        return _read_info(path)
    except (OSError, KeyError, RuntimeError, TypeError, IndexError) as exc:
        raise DataFileError(
            f"{path} is corrupted or not a valid Well-layout file: {type(exc).__name__}: {exc}"
        ) from None


def _read_info(path: Path) -> StoreInfo:
    with open_h5(path) as f:
        missing = [a for a in _WELL_ROOT_ATTRS if a not in f.attrs] + [g for g in _WELL_GROUPS if g not in f]
        if missing:
            raise DataFileError(f"{path} is not a Well-layout file: missing {', '.join(missing)}")
        dims = f["dimensions"]
        spatial = [_str(d) for d in dims.attrs["spatial_dims"]]
        n_traj = int(f.attrs["n_trajectories"])
        field_names = {g: [_str(n) for n in f[g].attrs.get("field_names", [])] for g in FIELD_GROUPS}
        time_varying = {}
        for group, names in field_names.items():
            for name in names:
                if name not in f[group]:
                    raise DataFileError(f"{path}: {group}/{name} is listed in field_names but missing")
                time_varying[name] = bool(f[group][name].attrs.get("time_varying", True))
        info = StoreInfo(
            path=path,
            dataset_name=_str(f.attrs["dataset_name"]),
            n_trajectories=n_traj,
            n_times=int(dims["time"].shape[-1]),
            spatial_dims=spatial,
            shape=tuple(int(dims[d].shape[-1]) for d in spatial),
            field_names=field_names,
            time_varying=time_varying,
            scalar_names=[_str(n) for n in f["scalars"].attrs.get("field_names", [])],
            is_physml="physml" in f,
            completed=np.ones(n_traj, bool),
        )
        if not info.is_physml:
            return info
        meta = f["physml"]
        version = _str(meta.attrs.get("schema_version", "0"))
        if _version_tuple(version)[:2] > _version_tuple(SCHEMA_VERSION)[:2]:
            raise DataFileError(
                f"{path} uses physml schema {version}, newer than the {SCHEMA_VERSION} this physml reads; "
                "upgrade physml to read it"
            )
        info.schema_version = version
        info.status = "building" if "complete" in meta and not meta["complete"][()] else "complete"
        info.family = _str(meta.attrs.get("family", ""))
        info.complex_fields = json.loads(meta.attrs.get("complex_fields", "{}"))
        info.parameters = json.loads(meta.attrs.get("parameters", "{}"))
        info.config = _str(meta.attrs.get("config", "{}"))
        info.fingerprint = _str(meta.attrs.get("fingerprint", ""))
        info.card = json.loads(meta.attrs.get("card", "{}"))
        info.provenance = {
            k: _str(meta.attrs[k]) for k in ("physml_version", "git_commit", "created", "host") if k in meta.attrs
        }
        if "completed" in meta:
            info.completed = meta["completed"][:].astype(bool)
        if "split" in meta:
            info.splits = np.array([_str(s) for s in meta["split"][:]], dtype=object)
        if "verification" in meta:
            info.checks = {name: float(ds.attrs["threshold"]) for name, ds in meta["verification"].items()}
        if "statistics" in meta:
            table = meta["statistics"]
            columns = [_str(c) for c in table.attrs["columns"]]
            for name, values in zip(table.attrs["fields"], table[...]):
                if np.isfinite(values[columns.index("count")]):
                    info.statistics[_str(name)] = {
                        c: float(v) for c, v in zip(columns, values) if not (c.endswith("_delta") and np.isnan(v))
                    }
    return info


# -- statistics and finalisation ----------------------------------------------------------


def _moments(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, np.nan, np.nan, np.nan, np.nan])
    mean = values.mean()
    return np.array([values.size, mean, np.sum((values - mean) ** 2), values.min(), values.max()])


def _field_moments(values: np.ndarray, *, time_varying: bool) -> np.ndarray:
    """Partial moments of one trajectory's field: of its values and of its differences between saves."""
    delta = _moments(np.diff(values, axis=0)) if time_varying and len(values) > 1 else np.full(_MOMENTS, np.nan)
    return np.concatenate([_moments(values), delta])


def _combine(partials: np.ndarray) -> dict[str, float]:
    """Mean, std, rms, min, max from per-trajectory ``(count, mean, m2, min, max)`` rows (Chan et al.)."""
    partials = partials[np.nan_to_num(partials[:, 0]) > 0]
    if partials.size == 0:
        return {"mean": np.nan, "std": np.nan, "rms": np.nan, "min": np.nan, "max": np.nan, "count": 0.0}
    n, mean, m2 = partials[:, 0], partials[:, 1], partials[:, 2]
    total = n.sum()
    grand = float(np.sum(n * mean) / total)
    var = float((m2.sum() + np.sum(n * (mean - grand) ** 2)) / total)
    return {
        "mean": grand,
        "std": math.sqrt(var),
        "rms": math.sqrt(var + grand**2),
        "min": float(partials[:, 3].min()),
        "max": float(partials[:, 4].max()),
        "count": float(total),
    }


def _statistics_table(f: h5py.File, trajectories: np.ndarray) -> np.ndarray:
    """``physml/statistics`` rows combined from the moments of ``trajectories``."""
    moments = f["physml/moments"][...][trajectories]
    table = np.full((moments.shape[1], len(STAT_COLUMNS)), np.nan)
    for k in range(moments.shape[1]):
        values = _combine(moments[:, k, :_MOMENTS])
        deltas = _combine(moments[:, k, _MOMENTS:])
        row = {**values, **{f"{key}_delta": deltas[key] for key in ("mean", "std", "rms")}}
        table[k] = [row[c] for c in STAT_COLUMNS]
    return table


def _compression_kwargs(compression: str) -> dict[str, Any]:
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression.startswith("gzip-") and compression[5:] in tuple("123456789"):
        return {"compression": "gzip", "compression_opts": int(compression[5:]), "shuffle": True}
    raise ValueError(f"compression = {compression!r} is invalid: use none, lzf or gzip-1 ... gzip-9")


def finalize(path: str | os.PathLike[str]) -> Path:
    """Finish a fully written store: statistics of the training split, then ``complete``.

    Uncompressed stores are finished in place with raw-data writes only (kill-safe);
    with compression (``physml/@compression``) a compressed copy replaces the file.
    """
    path = Path(path)
    info = read_info(path)
    if info.status != "building":
        raise DataFileError(f"{path} has status {info.status!r}; nothing to finalise")
    if not info.completed.all():
        raise DataFileError(f"{path}: {info.n_completed}/{info.n_trajectories} trajectories written; cannot finalise")
    train = np.flatnonzero(info.splits == "train")
    chosen = train if train.size else np.arange(info.n_trajectories)
    with open_h5(path) as f:
        compression = _str(f["physml"].attrs.get("compression", "none"))
    options = _compression_kwargs(compression)
    if not options:
        with h5py.File(path, "r+") as f:
            f["physml/statistics"][...] = _statistics_table(f, chosen)
            f.flush()
            f["physml/complete"][()] = 1
            f.flush()
        return path
    tmp = path.with_name(f".{path.name}.final")
    with open_h5(path) as src, h5py.File(tmp, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name, obj in src.items():
            if name not in FIELD_GROUPS:
                src.copy(obj, dst, name=name)
                continue
            group = dst.create_group(name)
            for key, value in obj.attrs.items():
                group.attrs[key] = value
            for field_name, ds in obj.items():
                out = group.create_dataset(field_name, ds.shape, ds.dtype, chunks=ds.chunks, **options)
                for key, value in ds.attrs.items():
                    out.attrs[key] = value
                for i in range(ds.shape[0]):
                    out[i] = ds[i]
        dst["physml/statistics"][...] = _statistics_table(dst, chosen)
        dst["physml/complete"][()] = 1
    os.replace(tmp, path)
    return path


# -- validation -------------------------------------------------------------------------


@dataclass
class ValidationReport:
    """Problems (the file fails validation) and notes (worth knowing, not failures)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    path: str | os.PathLike[str], *, check_data: bool = True, require_complete: bool = False
) -> ValidationReport:
    """Check the schema, every completed trajectory's verification figures and (optionally) that its data is finite.

    An unfinished build validates (its completed trajectories are whole) with a
    note saying how far it got, unless ``require_complete``.
    """
    path = Path(path)
    info = read_info(path)  # raises DataFileError for unreadable, foreign or too-new files
    report = ValidationReport(path)
    if require_complete and info.status != "complete":
        report.problems.append(f"unfinished build: {info.n_completed}/{info.n_trajectories} trajectories written")
    try:
        _validate(path, info, report, check_data=check_data)
    except (OSError, KeyError, RuntimeError) as exc:
        report.problems.append(f"the file's structure cannot be read: {type(exc).__name__}: {exc}")
    return report


def _validate(path: Path, info: StoreInfo, report: ValidationReport, *, check_data: bool) -> None:
    with open_h5(path) as f:
        n, n_t, shape = info.n_trajectories, info.n_times, info.shape
        for group, names in info.field_names.items():
            rank = int(group[1])
            for name in names:
                ds = f[group][name]
                expected = (n, *((n_t,) if info.time_varying[name] else ()), *shape, *(len(shape),) * rank)
                if ds.attrs.get("sample_varying", True) and ds.shape != expected:
                    report.problems.append(f"{group}/{name} has shape {ds.shape}; expected {expected}")
        for name in info.scalar_names:
            if name not in f["scalars"]:
                report.problems.append(f"scalars/{name} is listed in field_names but missing")
        if not info.is_physml:
            report.notes.append("plain Well file (no physml/ group): only the layout was checked")
            return
        if info.status == "building":
            report.notes.append(
                f"unfinished build: {info.n_completed}/{n} trajectories written; "
                "run the same `physml dataset build` command again to resume"
            )
        elif not info.statistics:
            report.problems.append("complete file without normalisation statistics (physml/statistics)")
        done = np.flatnonzero(info.completed)
        meta = f["physml"]
        for name, threshold in info.checks.items():
            values = meta["verification"][name][:]
            bad = [int(i) for i in done if not (values[i] <= threshold)]
            if bad:
                worst = float(np.nanmax(values[bad])) if np.isfinite(values[bad]).any() else math.nan
                report.problems.append(
                    f"{len(bad)} trajectories fail {name} <= {threshold:g} (worst {worst:.3g}; "
                    f"trajectories {_ranges(bad)})"
                )
        if check_data:
            for group, names in info.field_names.items():
                for name in names:
                    ds = f[group][name]
                    bad, unreadable = [], []
                    for i in done:
                        try:
                            if not np.all(np.isfinite(ds[i])):
                                bad.append(int(i))
                        except OSError:  # e.g. a corrupted compressed chunk
                            unreadable.append(int(i))
                    if bad:
                        report.problems.append(f"{group}/{name} has non-finite values in trajectories {_ranges(bad)}")
                    if unreadable:
                        report.problems.append(f"{group}/{name} cannot be read in trajectories {_ranges(unreadable)}")


def _ranges(indices: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")
