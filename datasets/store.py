"""The HDF5 store: The Well's layout plus physml's ``physml/`` group, written so a kill never corrupts it.

Life of a file (``docs/data_format.md`` has the schema):

1. :func:`create_store` writes the whole structure at once (temporary file,
   then rename), with every dataset allocated up front and filled with NaN,
   and ``physml/@status = "building"``.
2. :class:`StoreWriter` fills trajectory ``i`` in place and then sets
   ``physml/completed[i]``. Because the space was allocated at creation and
   nothing is compressed yet, these writes change raw data only, never HDF5
   metadata; a process killed at any moment (SIGKILL included) leaves a file
   that opens, in which every trajectory marked completed is whole. A resumed
   build redoes the others.
3. :func:`finalize` computes the normalisation statistics, then rewrites the
   file with the chosen compression and ``status = "complete"`` (temporary
   file, then rename), so an interruption here loses nothing either.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    times = np.asarray(times, dtype=np.float64)
    shape = layout.shape
    tmp = path.with_name(f".{path.name}.partial")
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
                ds = t0.create_dataset(part, full, dtype, chunks=chunks, fillvalue=np.nan, dcpl=_early_dcpl())
                ds.attrs["dim_varying"] = [True] * len(shape)
                ds.attrs["units"] = spec.unit
                ds.attrs["long_name"] = spec.description + (f" ({part.rsplit('_', 1)[1]} part)" if spec.complex else "")
                _flags(ds, sample=True, time=spec.time_varying)
                names.append(part)
        t0.attrs["field_names"] = names
        for rank in ("t1_fields", "t2_fields"):
            f.create_group(rank).attrs["field_names"] = []

        meta = f.create_group("physml")
        meta.attrs["schema_version"] = SCHEMA_VERSION
        meta.attrs["status"] = "building"
        meta.attrs["family"] = family
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
        meta.create_dataset("split", data=np.array(list(splits), dtype=h5py.string_dtype()))
        verification = meta.create_group("verification")
        for check in checks.values():
            ds = verification.create_dataset(check.name, (n_traj,), "f8", fillvalue=np.nan, dcpl=_early_dcpl())
            ds.attrs["threshold"] = check.threshold
            ds.attrs["description"] = check.description
    os.replace(tmp, path)
    return path


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool | str):
        return False
    return bool(np.issubdtype(np.asarray(value).dtype, np.number))


# -- filling ----------------------------------------------------------------------


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
        self.info = info

    def __enter__(self) -> StoreWriter:
        try:
            self._file = h5py.File(self.path, "r+")
        except OSError as exc:
            raise DataFileError(f"{self.path} cannot be opened for writing: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def completed(self) -> np.ndarray:
        """Boolean mask of trajectories already written."""
        assert self._file is not None, "use StoreWriter as a context manager"
        return self._file["physml/completed"][:].astype(bool)

    def write(self, index: int, trajectory: Trajectory) -> None:
        """Write trajectory ``index`` and mark it completed."""
        f = self._file
        assert f is not None, "use StoreWriter as a context manager"
        t0 = f["t0_fields"]
        complex_pairs = self.info.complex_fields
        for name, data in trajectory.fields.items():
            data = np.asarray(data)
            parts = dict(zip(complex_pairs[name], (data.real, data.imag))) if name in complex_pairs else {name: data}
            for part, values in parts.items():
                ds = t0[part]
                if values.shape != ds.shape[1:]:
                    raise ValueError(
                        f"field {part} of trajectory {index} has shape {values.shape}; expected {ds.shape[1:]}"
                    )
                ds[index] = values
        for name, series in trajectory.scalars.items():
            f["scalars"][name][index] = series
        for name, value in trajectory.verification.items():
            f["physml/verification"][name][index] = value
        f.flush()
        f["physml/completed"][index] = 1
        f.flush()


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
    """Read and check a file's header: Well layout present, physml schema not newer than this code."""
    path = Path(path)
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
        info.status = _str(meta.attrs.get("status", "complete"))
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
            info.statistics = {
                name: {k: float(v) for k, v in group.attrs.items()} for name, group in meta["statistics"].items()
            }
    return info


# -- statistics and finalisation ----------------------------------------------------------


class _Moments:
    """Count, mean, sum of squared deviations (Chan et al. pairwise update), min and max."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.min, self.max = math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        n, mean = values.size, float(values.mean())
        m2 = float(np.sum((values - mean) ** 2))
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta**2 * self.n * n / total
        self.n = total
        self.min, self.max = min(self.min, float(values.min())), max(self.max, float(values.max()))

    def summary(self, suffix: str = "") -> dict[str, float]:
        var = self.m2 / self.n if self.n else math.nan
        out = {"mean": self.mean if self.n else math.nan, "std": math.sqrt(var), "rms": math.sqrt(var + self.mean**2)}
        if not suffix:
            out.update(min=self.min, max=self.max)
        return {f"{k}{suffix}": v for k, v in out.items()}


def compute_statistics(f: h5py.File, trajectories: np.ndarray) -> dict[str, dict[str, float]]:
    """Per stored field: mean, std, rms, min, max of values and mean, std, rms of time differences.

    Over all points and times of ``trajectories`` (the training split), like The Well's ``stats.yaml``.
    """
    stats = {}
    for group in FIELD_GROUPS:
        for name in f[group].attrs.get("field_names", []):
            name = _str(name)
            ds = f[group][name]
            values, deltas = _Moments(), _Moments()
            time_varying = bool(ds.attrs.get("time_varying", True))
            for i in trajectories:
                block = ds[i]
                values.add(block)
                if time_varying and block.shape[0] > 1:
                    deltas.add(np.diff(block, axis=0))
            stats[name] = values.summary()
            if time_varying:
                stats[name].update(deltas.summary("_delta"))
            stats[name]["count"] = float(values.n)
    return stats


def _compression_kwargs(compression: str) -> dict[str, Any]:
    if compression == "none":
        return {}
    if compression == "lzf":
        return {"compression": "lzf", "shuffle": True}
    if compression.startswith("gzip-"):
        return {"compression": "gzip", "compression_opts": int(compression.split("-")[1]), "shuffle": True}
    raise ValueError(f"compression = {compression!r} is invalid: use none, lzf or gzip-1 ... gzip-9")


def finalize(
    path: str | os.PathLike[str], *, compression: str = "none", progress: Callable[[int], None] | None = None
) -> Path:
    """Finish a fully written store: statistics, compression, ``status = "complete"`` (atomic rewrite)."""
    path = Path(path)
    info = read_info(path)
    if info.status != "building":
        raise DataFileError(f"{path} has status {info.status!r}; nothing to finalise")
    if not info.completed.all():
        raise DataFileError(f"{path}: {info.n_completed}/{info.n_trajectories} trajectories written; cannot finalise")
    options = _compression_kwargs(compression)
    train = np.flatnonzero(info.splits == "train")
    tmp = path.with_name(f".{path.name}.final")
    with open_h5(path) as src, h5py.File(tmp, "w") as dst:
        stats = compute_statistics(src, train if train.size else np.arange(info.n_trajectories))
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name, obj in src.items():
            if name in FIELD_GROUPS:
                group = dst.create_group(name)
                for key, value in obj.attrs.items():
                    group.attrs[key] = value
                for field_name, ds in obj.items():
                    out = group.create_dataset(field_name, ds.shape, ds.dtype, chunks=ds.chunks, **options)
                    for key, value in ds.attrs.items():
                        out.attrs[key] = value
                    for i in range(ds.shape[0]):
                        out[i] = ds[i]
                        if progress is not None:
                            progress(1)
            else:
                src.copy(obj, dst, name=name)
        meta = dst["physml"]
        meta.attrs["status"] = "complete"
        meta.attrs["compression"] = compression
        statistics = meta.create_group("statistics")
        statistics.attrs["split"] = "train" if train.size else "all"
        for name, values in stats.items():
            group = statistics.create_group(name)
            for key, value in values.items():
                group.attrs[key] = value
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


def validate(path: str | os.PathLike[str], *, check_data: bool = True) -> ValidationReport:
    """Check the schema, every completed trajectory's verification figures and (optionally) that its data is finite.

    An unfinished build validates (its completed trajectories are whole) with a
    note saying how far it got.
    """
    path = Path(path)
    info = read_info(path)  # raises DataFileError for unreadable, foreign or too-new files
    report = ValidationReport(path)
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
            return report
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
                    bad = [int(i) for i in done if not np.all(np.isfinite(ds[i]))]
                    if bad:
                        report.problems.append(f"{group}/{name} has non-finite values in trajectories {_ranges(bad)}")
    return report


def _ranges(indices: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")
