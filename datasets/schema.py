"""Reading a file's header: The Well's layout, physml's schema version, and what the file holds."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physml.errors import one_line

__all__ = [
    "FIELD_GROUPS",
    "SCHEMA_VERSION",
    "DataFileError",
    "StoreInfo",
    "as_str",
    "open_h5",
    "read_info",
    "reading",
]

#: Version of the physml additions; files with a newer major or minor version are refused.
SCHEMA_VERSION = "0.2"
FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")
_WELL_ROOT_ATTRS = ("dataset_name", "grid_type", "n_spatial_dims", "n_trajectories")
_WELL_GROUPS = ("dimensions", "boundary_conditions", "scalars", *FIELD_GROUPS)


class DataFileError(ValueError):
    """A data file that cannot be used: missing, truncated, corrupted, foreign or too new."""


#: What h5py, numpy and json raise on a damaged or foreign file: broken links and headers (KeyError,
#: RuntimeError, OSError), objects of the wrong kind or shape (AttributeError, TypeError, IndexError,
#: ValueError), undecodable attributes (UnicodeDecodeError, json.JSONDecodeError: both ValueErrors).
DAMAGE = (OSError, KeyError, RuntimeError, AttributeError, TypeError, IndexError, ValueError, OverflowError)


@contextmanager
def reading(path: str | os.PathLike[str], what: str = "") -> Iterator[None]:
    """Turn what a damaged or foreign file raises while ``path`` is read into :class:`DataFileError` naming it.

    Wrap only code that reads the file: a ``ValueError`` raised there means the file's
    content is not what physml writes, never a bad argument.
    """
    try:
        yield
    except DataFileError:
        raise
    except DAMAGE as exc:
        where = f" ({what})" if what else ""
        raise DataFileError(
            f"{path} is corrupted or not a valid Well-layout file{where}: {type(exc).__name__}: {one_line(exc)}"
        ) from None


def _version_tuple(text: str, path: Path | None = None) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        where = f"{path}: " if path is not None else ""
        raise DataFileError(f"{where}schema_version = {text!r} is not a version number") from None


@contextmanager
def open_h5(path: str | os.PathLike[str], mode: str = "r") -> Iterator[h5py.File]:
    """``h5py.File`` whose open errors become :class:`DataFileError` naming the file."""
    path = Path(path)
    if mode == "r" and not path.exists():
        raise DataFileError(f"{path}: no such file")
    if path.is_dir():
        raise DataFileError(f"{path} is a directory, not an HDF5 file")
    try:
        handle = h5py.File(path, mode)
    except OSError as exc:
        raise DataFileError(
            f"{path} cannot be opened as HDF5 (truncated, corrupted, not HDF5, or open for writing "
            f"by another process): {one_line(exc)}"
        ) from None
    with handle:
        yield handle


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


def as_str(value: Any) -> str:
    """An HDF5 string attribute (bytes or str) as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def read_info(path: str | os.PathLike[str]) -> StoreInfo:
    """Read and check a file's header: Well layout present, physml schema not newer than this code.

    Raises :class:`DataFileError` for a missing, truncated, corrupted, foreign or too-new file.
    """
    path = Path(path)
    with reading(path):
        return _read_info(path)


def _read_info(path: Path) -> StoreInfo:
    with open_h5(path) as f:
        missing = [a for a in _WELL_ROOT_ATTRS if a not in f.attrs] + [g for g in _WELL_GROUPS if g not in f]
        if missing:
            raise DataFileError(f"{path} is not a Well-layout file: missing {', '.join(missing)}")
        dims = f["dimensions"]
        spatial = [as_str(d) for d in dims.attrs["spatial_dims"]]
        n_traj = int(f.attrs["n_trajectories"])
        field_names = {g: [as_str(n) for n in f[g].attrs.get("field_names", [])] for g in FIELD_GROUPS}
        time_varying = {}
        for group, names in field_names.items():
            for name in names:
                if name not in f[group]:
                    raise DataFileError(f"{path}: {group}/{name} is listed in field_names but missing")
                ds = f[group][name]
                time_varying[name] = bool(ds.attrs.get("time_varying", True))
                if ds.attrs.get("sample_varying", True) and (ds.ndim == 0 or ds.shape[0] != n_traj):
                    raise DataFileError(
                        f"{path}: {group}/{name} has shape {ds.shape}, but the file says n_trajectories = {n_traj}"
                    )
        info = StoreInfo(
            path=path,
            dataset_name=as_str(f.attrs["dataset_name"]),
            n_trajectories=n_traj,
            n_times=int(dims["time"].shape[-1]),
            spatial_dims=spatial,
            shape=tuple(int(dims[d].shape[-1]) for d in spatial),
            field_names=field_names,
            time_varying=time_varying,
            scalar_names=[as_str(n) for n in f["scalars"].attrs.get("field_names", [])],
            is_physml="physml" in f,
            completed=np.ones(n_traj, bool),
        )
        if not info.is_physml:
            return info
        meta = f["physml"]
        version = as_str(meta.attrs.get("schema_version", "0"))
        if _version_tuple(version, path)[:2] > _version_tuple(SCHEMA_VERSION)[:2]:
            raise DataFileError(
                f"{path} uses physml schema {version}, newer than the {SCHEMA_VERSION} this physml reads; "
                "upgrade physml to read it"
            )
        info.schema_version = version
        info.status = "building" if "complete" in meta and not meta["complete"][()] else "complete"
        info.family = as_str(meta.attrs.get("family", ""))
        info.complex_fields = json.loads(meta.attrs.get("complex_fields", "{}"))
        info.parameters = json.loads(meta.attrs.get("parameters", "{}"))
        info.config = as_str(meta.attrs.get("config", "{}"))
        info.fingerprint = as_str(meta.attrs.get("fingerprint", ""))
        info.card = json.loads(meta.attrs.get("card", "{}"))
        info.provenance = {
            k: as_str(meta.attrs[k]) for k in ("physml_version", "git_commit", "created", "host") if k in meta.attrs
        }
        if "completed" in meta:
            info.completed = meta["completed"][:].astype(bool)
        if "split" in meta:
            info.splits = np.array([as_str(s) for s in meta["split"][:]], dtype=object)
        if "verification" in meta:
            info.checks = {name: float(ds.attrs["threshold"]) for name, ds in meta["verification"].items()}
        for name, values in (("completed", info.completed), ("split", info.splits)):
            if len(values) not in (0, n_traj) or (name == "completed" and len(values) != n_traj):
                raise DataFileError(f"{path}: physml/{name} has {len(values)} entries for {n_traj} trajectories")
        if "statistics" in meta:
            table = meta["statistics"]
            columns = [as_str(c) for c in table.attrs["columns"]]
            for name, values in zip(table.attrs["fields"], table[...]):
                if np.isfinite(values[columns.index("count")]):
                    info.statistics[as_str(name)] = {
                        c: float(v) for c, v in zip(columns, values) if not (c.endswith("_delta") and np.isnan(v))
                    }
    return info
