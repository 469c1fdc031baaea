"""HDF5 datasets as lazy dask arrays whose reads report a damaged file as :class:`DataFileError`.

A lazy view reads when the user computes, long after the file was opened: a
corrupted chunk then surfaces from inside dask's scheduler as h5py's bare
``OSError`` ("Can't synchronously read data (bad coordinate offset)"), naming
no file. Reading through :class:`H5Array` names the file and the field instead.
It is also all the view needs from a backend: one read-only handle per process,
slices of one dataset per chunk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from physml.datasets.schema import reading

__all__ = ["FileHandle", "H5Array", "lazy_array"]


class FileHandle:
    """One read-only ``h5py.File`` per process for a path, opened on first read; picklable (reopens there)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def get(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_file": None, "_pid": None}


class H5Array:
    """The dataset ``name`` of a file, sliced on demand (what :func:`dask.array.from_array` needs)."""

    def __init__(self, handle: FileHandle, name: str, shape: Sequence[int], dtype: np.dtype) -> None:
        self.handle, self.name = handle, name
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        with reading(self.handle.path, self.name):
            return self.handle.get()[self.name][key]


def lazy_array(
    handle: FileHandle, dataset: h5py.Dataset, dims: Sequence[str], chunks: Mapping[str, int] | None = None
) -> Any:
    """``dataset`` as a dask array: its on-disk chunks (the whole array if stored contiguously), or ``chunks``
    by dimension name where given."""
    import dask.array as da  # here: the torch windows share FileHandle and need no dask
    from dask.base import tokenize

    disk = dataset.chunks or dataset.shape
    sizes = tuple((chunks or {}).get(d, c) for d, c in zip(dims, disk))
    array = H5Array(handle, dataset.name, dataset.shape, dataset.dtype)
    name = "h5-" + tokenize(str(handle.path), dataset.name, os.stat(handle.path).st_mtime_ns, sizes)
    return da.from_array(array, chunks=sizes, name=name, fancy=False, meta=np.empty((0,) * array.ndim, array.dtype))
