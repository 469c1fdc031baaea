"""Ctrl-C that is neither lost nor raised in the middle of something: the first stops at the next safe point.

CPython turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main
thread happens to be. When that is inside a destructor or a weakref or GC
callback (h5py, loky and torch run many), the exception cannot propagate:
CPython prints ``Exception ignored in ...`` with a traceback and drops it. A
dataset build or a training run would then carry on to its end and exit 0, and
a script chaining ``physml dataset build ... && physml train ...`` would go on
with what it believes is a complete result. (Measured: a 2-core machine under
load lost the Ctrl-C of a build that way, the signal landing in a weakref
callback.)

Within :func:`interruptible`, the first SIGINT only records the request and
says so on standard error; the long-running loop calls the ``check`` it yields
at each safe point (before writing a batch, between training steps, while
waiting for workers), which raises ``KeyboardInterrupt`` there. A second SIGINT
raises at once, wherever the main thread is, as Python's default does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["interruptible"]

_NOTICE = b"\nphysml: stopping at the next safe point (Ctrl-C again to stop at once)\n"


@contextmanager
def interruptible() -> Iterator[Callable[[], None]]:
    """Within the block, the first SIGINT is held for ``check()``; a second one raises at once.

    ``check()`` raises ``KeyboardInterrupt`` if SIGINT arrived since the block began. The
    handler is installed only where Python's default one is in place, in the main thread: a
    SIGINT that the caller ignores (``nohup``, background jobs) or handles itself (Jupyter)
    keeps its meaning, and ``check()`` then never raises.

    Examples
    --------
    >>> with interruptible() as check:
    ...     for batch in range(3):
    ...         check()  # raises here, between batches, after a Ctrl-C
    """
    received = threading.Event()

    def check() -> None:
        if received.is_set():
            raise KeyboardInterrupt

    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield check
        return

    def handler(signum: int, frame: object) -> None:
        if received.is_set():  # the second: now, wherever we are
            raise KeyboardInterrupt
        received.set()
        # A raw write: a signal handler must not re-enter Python's buffered streams. A captured stream
        # (no file descriptor) gets no notice.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.write(sys.stderr.fileno(), _NOTICE)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
