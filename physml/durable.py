"""Durable file replacement: a finished file reaches the disk before its name does.

Writing to a temporary name and renaming it over the target (``os.replace``)
already protects against a killed process: the target is either the old file
or the new one. It does not protect against a power loss or an OS crash. The
kernel may write the rename (a directory entry) to disk before the file's
data, so the new name can survive while the data do not, leaving an empty or
truncated file where a good one stood. The order that rules this out is:
flush the data of the temporary file (``fsync``), rename, then flush the
directory, so that the rename itself is on disk when the call returns.

Every file physml finishes (checkpoints, dataset stores, the training log)
goes through :func:`atomic_path` or :func:`replace_durably`. This module
imports nothing beyond the standard library, so any layer can use it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "fsync_directory", "fsync_file", "replace_durably"]

#: ``fsync`` of a directory is refused on some platforms and file systems with these: nothing to do there.
_NO_DIRECTORY_FSYNC = {errno.EINVAL, errno.EBADF, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM}


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush the data of the file at ``path`` to the disk.

    The file may be open elsewhere in this process (an h5py file after its
    ``flush()``): on POSIX systems ``fsync`` flushes the file, whichever
    descriptor names it. Errors (``EIO``: the data did not reach the disk)
    propagate.
    """
    # Windows' fsync (_commit) needs a descriptor open for writing.
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Flush the directory ``path`` (its entries: a rename into it) to the disk, where the platform can.

    Windows cannot open a directory, and some file systems refuse to flush one;
    there it does nothing.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        if exc.errno in _NO_DIRECTORY_FSYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIRECTORY_FSYNC:
            raise
    finally:
        os.close(fd)


def replace_durably(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Move the finished file ``tmp`` onto ``path``: ``fsync(tmp)``, ``os.replace``, ``fsync`` of the directory.

    ``tmp`` must be closed (or flushed) and in the same directory as ``path``.
    """
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_directory(Path(path).parent)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, tag: str = "partial") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (``.NAME.TAG``); when the block ends, it replaces ``path``.

    Write and close the file inside the block. On leaving it normally the file
    is moved into place with :func:`replace_durably`. If the block raises
    (a ``KeyboardInterrupt`` included), ``path`` is left as it was and the
    temporary file is removed. A process killed inside the block leaves the
    temporary file behind; the next write to ``path`` overwrites it.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "numbers.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("1 2 3")
    >>> target.read_text()
    '1 2 3'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{tag}")
    try:
        yield tmp
        replace_durably(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
