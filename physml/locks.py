"""One writer per output file: a lock beside it that the kernel releases when its holder dies.

Two builds writing the same file would interleave their trajectories, clear
each other's spool and race to rename their temporary stores into place.
:func:`exclusive_output` takes an advisory ``flock`` on ``.NAME.lock`` beside
the output and refuses at once when another process holds it. The kernel
drops a ``flock`` when the process that took it exits, however it exits, so a
killed build leaves at most a stale lock *file*, which blocks nothing. On
platforms without ``fcntl`` (Windows), or file systems that refuse locks,
writes go unlocked, as before.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["exclusive_output", "lock_path"]

_UNSUPPORTED = {errno.ENOLCK, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of output ``path``: ``.NAME.lock`` in the same directory."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextmanager
def exclusive_output(path: str | os.PathLike[str], *, action: str = "written") -> Iterator[None]:
    """Hold the lock of output ``path`` for the block; ``ValueError`` at once if another process holds it.

    Creates the output's directory if needed. The lock file holds the holder's
    process id (named in the refusal) and is removed when the block ends.

    Parameters
    ----------
    path
        The output file the block writes.
    action
        What the holder is doing, for the refusal message (``"built"``: "X is being built by process N").
    """
    path = Path(path)
    lock = lock_path(path)
    fd = None
    if fcntl is not None:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = _acquire(lock, path, action)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:  # else: no locks on this file system, write unlocked
                raise ValueError(f"cannot create the lock file {lock} for {path}: {exc.strerror or exc}") from None
    if fd is None:
        yield
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        # Removed while still held: a process that opened the old file and locks it after this one lets go
        # finds it unlinked (the identity check in _acquire) and starts over on a fresh one.
        lock.unlink(missing_ok=True)
        os.close(fd)


def _acquire(lock: Path, path: Path, action: str) -> int:
    """A descriptor of ``lock`` holding its ``flock``; ``ValueError`` if another process holds it."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise ValueError(
                f"{path} is being {action} by {who} (it holds {lock}); wait for it to finish or choose another "
                "output file"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # locked a file its last holder had just removed: take the current one
