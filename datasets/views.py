"""Open a Well-layout file as a labelled, lazy ``xarray.Dataset``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
import xarray as xr

from physml.datasets.lazy import FileHandle, lazy_array
from physml.datasets.schema import FIELD_GROUPS, StoreInfo, open_h5, read_info, reading

__all__ = ["open_dataset"]

_TENSOR_DIMS = {0: (), 1: ("component",), 2: ("component_i", "component_j")}


def _attrs(obj: h5py.HLObject) -> dict[str, Any]:
    out = {}
    for key, value in obj.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OS":
            value = [v.decode() if isinstance(v, bytes) else str(v) for v in value]
        out[key] = value
    return out


def _dims(ds_attrs: Mapping[str, Any], spatial: list[str], rank: int) -> tuple[str, ...]:
    dims: list[str] = []
    if ds_attrs.get("sample_varying", True):
        dims.append("trajectory")
    if ds_attrs.get("time_varying", True):
        dims.append("time")
    varying = ds_attrs.get("dim_varying", [True] * len(spatial))
    dims += [d for d, used in zip(spatial, varying) if used]
    return (*dims, *_TENSOR_DIMS[rank])


def open_dataset(path: str | os.PathLike[str], *, chunks: Mapping[str, int] | None = None) -> xr.Dataset:
    """Open ``path`` lazily (dask-backed) with named dimensions and coordinates.

    Dimensions are ``trajectory, time, x[, y]`` (plus ``component`` axes for
    vector and tensor fields). Complex fields stored as ``<name>_real`` /
    ``<name>_imag`` come back as one complex variable. Per-trajectory
    parameters, the split and whether each trajectory is complete are
    coordinates along ``trajectory`` (categorical parameters as strings);
    scalar time series and verification figures are variables. The file's
    root and ``physml/`` attributes are carried over (``config``, ``card`` and
    ``statistics`` as JSON strings). Plain Well files open too.

    Parameters
    ----------
    path
        A Well-layout HDF5 file.
    chunks
        Dask chunk sizes by dimension; default: the on-disk chunks (one time
        step of one trajectory), so that selecting a few reads only those.

    The view keeps the file open for reading (HDF5 then refuses writers):
    ``close()`` it, or use it in a ``with`` block, before resuming a build.

    Examples
    --------
    >>> ds = open_dataset("schrodinger-1d.h5")  # doctest: +SKIP
    >>> ds.psi.sel(trajectory=ds.potential_kind == "harmonic").isel(time=-1)  # doctest: +SKIP
    """
    info = read_info(path)
    with reading(path):  # a damaged file can still have a readable header
        return _open(path, info, chunks)


def _open(path: str | os.PathLike[str], info: StoreInfo, chunks: Mapping[str, int] | None) -> xr.Dataset:
    spatial = info.spatial_dims
    coords: dict[str, Any] = {"trajectory": np.arange(info.n_trajectories)}
    variables: dict[str, xr.DataArray] = {}
    with open_h5(path) as f:
        attrs = _attrs(f)
        dims_group = f["dimensions"]
        time = dims_group["time"]
        if time.attrs.get("sample_varying", False):  # times differ per trajectory: a 2D coordinate `t`
            coords["t"] = (("trajectory", "time"), time[...])
        else:
            coords["time"] = time[...]
        for d in spatial:
            coords[d] = (d, dims_group[d][...]) if dims_group[d].ndim == 1 else (("trajectory", d), dims_group[d][...])
        for name in info.scalar_names:
            ds = f["scalars"][name]
            a = _attrs(ds)
            values = ds[...]
            if "categories" in a:
                labels = np.array(a.pop("categories"), dtype=object)
                values = np.where(values >= 0, labels[np.clip(values, 0, None)], "")
            dims = tuple(
                d for d, on in (("trajectory", a.get("sample_varying")), ("time", a.get("time_varying"))) if on
            )
            if dims == ("trajectory",):
                coords[name] = (dims, values, a)
            else:
                variables[name] = xr.DataArray(values, dims=dims, attrs=a)
        if info.is_physml:
            meta = f["physml"]
            attrs.update(_attrs(meta))
            attrs["status"] = info.status
            if info.statistics:
                attrs["statistics"] = json.dumps(info.statistics, sort_keys=True)
            coords["split"] = ("trajectory", info.splits.astype(str)) if info.splits.size else None
            coords["completed"] = ("trajectory", info.completed)
            if "verification" in meta:
                for name, ds in meta["verification"].items():
                    variables[name] = xr.DataArray(ds[...], dims=("trajectory",), attrs=_attrs(ds))
        handle = FileHandle(path)
        for group in FIELD_GROUPS:
            rank = int(group[1])
            for name in info.field_names[group]:
                ds = f[group][name]
                a = _attrs(ds)
                dims = _dims(a, spatial, rank)
                variables[name] = xr.DataArray(lazy_array(handle, ds, dims, chunks), dims=dims, attrs=a)
                for dim in _TENSOR_DIMS[rank]:
                    coords.setdefault(dim, (dim, np.array(spatial)))
    coords = {k: v for k, v in coords.items() if v is not None}
    for name, (real, imag) in info.complex_fields.items():
        if real in variables and imag in variables:
            re, im = variables.pop(real), variables.pop(imag)
            a = {k: v for k, v in re.attrs.items() if k != "long_name"}
            a["long_name"] = str(re.attrs.get("long_name", name)).replace(" (real part)", "")
            variables[name] = xr.DataArray(re.data + 1j * im.data, dims=re.dims, attrs=a)
    ds = xr.Dataset(variables, coords=coords, attrs=attrs)
    # close() (or a with-block) releases the file, which an unfinished build needs to resume.
    ds.set_close(handle.close)
    if not info.completed.all():  # an unfinished build: trajectories not yet written read as NaN
        written = xr.DataArray(info.completed, dims="trajectory")
        for name in list(ds.data_vars):
            if "trajectory" in ds[name].dims:
                ds[name] = ds[name].where(written)
    return ds
