"""Progress of long loops: a bar on a terminal, plain lines in logs.

A tqdm bar redraws itself with carriage returns, which in a file (CI, SLURM, ``> log.txt``)
become one long line of frames. :func:`progress` shows the bar only when the stream is a
terminal; otherwise it writes a plain line each time another ~10 % of the total is done, or
30 s have passed since the last line, saying what runs, how far (``n/total``), the rate and the
time left, and a last line when the loop ends::

    building schrodinger-1d: 26/256 traj (10%), 3.1 traj/s, ETA 0:01:14
    ...
    building schrodinger-1d: 256/256 traj (100%) in 0:01:23, 3.1 traj/s

Every physml loop that reports progress goes through this module; the command-line option that
switches it is ``--progress/--no-progress`` (:func:`physml.cli.arguments.add_progress`).
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, TextIO

__all__ = ["LINE_FRACTION", "LINE_SECONDS", "LineProgress", "Progress", "progress"]

#: A plain line each time this fraction of the total is done ...
LINE_FRACTION = 0.1
#: ... or when this many seconds have passed since the last line (checked at each update).
LINE_SECONDS = 30.0


class Progress(Protocol):
    """What a loop may do with its progress display (a tqdm bar satisfies it)."""

    def update(self, n: int = 1) -> Any: ...

    def set_postfix(self, **values: Any) -> Any: ...

    def close(self) -> Any: ...

    def __enter__(self) -> Progress: ...

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> Any: ...


def progress(
    *,
    total: int,
    desc: str,
    unit: str = "it",
    initial: int = 0,
    enabled: bool = True,
    leave: bool = True,
    stream: TextIO | None = None,
) -> Progress:
    """A progress display for a loop of ``total`` units, ``initial`` of them already done.

    Parameters
    ----------
    total
        Units of work in all (steps, trajectories), >= 0.
    desc
        What runs, e.g. ``"building schrodinger-1d"``.
    unit
        Name of a unit, e.g. ``"step"``.
    initial
        Units done before this display starts (a resumed build).
    enabled
        ``False`` shows nothing (``--no-progress``).
    leave
        On a terminal, keep the finished bar (an inner loop's bar is best removed).
    stream
        Where to write (default: standard error). A terminal gets a tqdm bar, anything else
        plain lines (:class:`LineProgress`).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with progress(total=4, desc="demo", unit="step", stream=out) as bar:
    ...     for _ in range(4):
    ...         bar.update(1)
    >>> out.getvalue().splitlines()[-1].startswith("demo: 4/4 step (100%) in 0:00:00")
    True
    """
    if not enabled:
        return _Silent()
    given = total
    try:  # any whole number: NumPy's too, and 10.0 (a count that passed through float arithmetic)
        total = int(total) if isinstance(total, float) and total.is_integer() else operator.index(total)
    except TypeError:
        total = -1
    if isinstance(given, bool) or total < 0:
        raise ValueError(f"total = {given!r} is invalid: must be an integer >= 0")
    stream = sys.stderr if stream is None else stream
    if _is_terminal(stream):
        from tqdm.auto import tqdm  # only terminals draw bars

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, leave=leave, file=stream)
    return LineProgress(total=total, desc=desc, unit=unit, initial=initial, stream=stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LineProgress:
    """Plain progress lines, no carriage returns: every :data:`LINE_FRACTION` of the total or
    :data:`LINE_SECONDS` seconds, whichever comes first, and one at the end.

    ``clock`` (seconds, monotonic) is replaceable for tests.
    """

    def __init__(
        self,
        *,
        total: int,
        desc: str,
        unit: str = "it",
        initial: int = 0,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.desc, self.unit, self.stream, self.clock = total, desc, unit, stream, clock
        self.n = self.initial = initial
        self.start = self.last_time = clock()
        self.step = max(1, round(LINE_FRACTION * total))
        self.next_mark = (initial // self.step + 1) * self.step
        self.postfix = ""
        self.closed = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; write a line when another step of the total is reached or time is up."""
        self.n += n
        now = self.clock()
        if self.n >= self.total:  # the closing line says it
            return
        if self.n >= self.next_mark or now - self.last_time >= LINE_SECONDS:
            self._write(self._line(now))
            self.next_mark = (self.n // self.step + 1) * self.step
            self.last_time = now

    def set_postfix(self, **values: Any) -> None:
        """Extra ``key=value`` pairs for the following lines (e.g. the current loss)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        """Write the last line: the time taken, or where the loop stopped."""
        if self.closed:
            return
        self.closed = True
        now = self.clock()
        elapsed = now - self.start
        if self.n >= self.total:
            line = f"{self.desc}: {self.n}/{self.total} {self.unit} (100%) in {_clock(elapsed)}, {self._rate(now)}"
            self._write(line + (f", {self.postfix}" if self.postfix else ""))
        else:
            self._write(f"{self._line(now)} -- stopped after {_clock(elapsed)}")

    def _rate(self, now: float) -> str:
        elapsed = now - self.start
        done = self.n - self.initial
        if elapsed <= 0 or done <= 0:
            return f"? {self.unit}/s"
        rate = done / elapsed
        return f"{rate:.3g} {self.unit}/s" if rate >= 1 else f"{1 / rate:.3g} s/{self.unit}"

    def _line(self, now: float) -> str:
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        elapsed, done = now - self.start, self.n - self.initial
        eta = _clock((self.total - self.n) * elapsed / done) if done > 0 and elapsed > 0 else "?"
        line = f"{self.desc}: {self.n}/{self.total} {self.unit}{percent}, {self._rate(now)}, ETA {eta}"
        return line + (f", {self.postfix}" if self.postfix else "")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class _Silent:
    """Progress switched off."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        pass


def _clock(seconds: float) -> str:
    """``H:MM:SS``."""
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
