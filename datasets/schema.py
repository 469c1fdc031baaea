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

__all__ = ["FIELD_GROUPS", "SCHEMA_VERSION", "DataFileError", "StoreInfo", "as_str", "open_h5", "read_info"]

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
        spatial = [as_str(d) for d in dims.attrs["spatial_dims"]]
        n_traj = int(f.attrs["n_trajectories"])
        field_names = {g: [as_str(n) for n in f[g].attrs.get("field_names", [])] for g in FIELD_GROUPS}
        time_varying = {}
        for group, names in field_names.items():
            for name in names:
                if name not in f[group]:
                    raise DataFileError(f"{path}: {group}/{name} is listed in field_names but missing")
                time_varying[name] = bool(f[group][name].attrs.get("time_varying", True))
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
        if _version_tuple(version)[:2] > _version_tuple(SCHEMA_VERSION)[:2]:
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
        if "statistics" in meta:
            table = meta["statistics"]
            columns = [as_str(c) for c in table.attrs["columns"]]
            for name, values in zip(table.attrs["fields"], table[...]):
                if np.isfinite(values[columns.index("count")]):
                    info.statistics[as_str(name)] = {
                        c: float(v) for c, v in zip(columns, values) if not (c.endswith("_delta") and np.isnan(v))
                    }
    return info
