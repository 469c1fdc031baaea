"""Ctrl-C that cannot be lost.

CPython turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main
thread happens to be. When that is inside a destructor or a weakref or GC
callback (h5py, loky and torch run many), the exception cannot propagate:
CPython prints ``Exception ignored in ...`` and drops it. A dataset build or a
training run would then carry on to its end and exit 0, and a script chaining
``physml dataset build ... && physml train ...`` would go on with what it
believes is a complete result.

:func:`remembered_interrupts` keeps the usual immediate ``KeyboardInterrupt``
and also records the signal; the long-running loop calls the ``check`` it
yields at each safe point (between batches, between steps), which raises
again if an interrupt arrived and was swallowed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["remembered_interrupts"]


@contextmanager
def remembered_interrupts() -> Iterator[Callable[[], None]]:
    """Within the block, SIGINT raises ``KeyboardInterrupt`` and is remembered; yields ``check()``.

    ``check()`` raises ``KeyboardInterrupt`` if SIGINT arrived since the block began. The
    handler is installed only where Python's default one is in place, in the main thread: a
    SIGINT that the caller ignores (``nohup``, background jobs) or handles itself (Jupyter)
    keeps its meaning, and ``check()`` then never raises.

    Examples
    --------
    >>> with remembered_interrupts() as check:
    ...     for batch in range(3):
    ...         check()  # raises here if a Ctrl-C was swallowed during the previous batch
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
        received.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, previous)
