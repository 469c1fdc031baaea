"""Finishing a store: statistics of the training split, then the ``complete`` flag (and optional compression)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from physml.datasets.moments import statistics_table
from physml.datasets.schema import FIELD_GROUPS, DataFileError, as_str, open_h5, read_info
from physml.datasets.store import compression_options
from physml.durable import atomic_path, fsync_file

__all__ = ["finalize"]


def finalize(path: str | os.PathLike[str]) -> Path:
    """Finish a fully written store: statistics of the training split, then ``complete``.

    Uncompressed stores are finished in place with raw-data writes only (kill-safe),
    the data flushed to disk before ``complete`` is set and again after it; with
    compression (``physml/@compression``) a compressed copy replaces the file
    (flushed, renamed, the rename flushed: see :mod:`physml.durable`). Either way,
    a file reported complete is complete on disk, power loss included.
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
        compression = as_str(f["physml"].attrs.get("compression", "none"))
    options = compression_options(compression)
    if not options:
        with h5py.File(path, "r+") as f:
            f["physml/statistics"][...] = statistics_table(f, chosen)
            f.flush()
            fsync_file(path)  # every trajectory and the statistics on disk before the flag that vouches for them
            f["physml/complete"][()] = 1
            f.flush()
        fsync_file(path)
        return path
    with atomic_path(path, tag="final") as tmp, open_h5(path) as src, h5py.File(tmp, "w") as dst:
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
        dst["physml/statistics"][...] = statistics_table(dst, chosen)
        dst["physml/complete"][()] = 1
    return path
