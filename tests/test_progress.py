"""The progress helper: plain lines off a terminal (format and cadence, on a fake clock), a tqdm bar on one."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from physml.progress import LINE_SECONDS, LineProgress, progress

LINE = re.compile(r"^build: (\d+)/(\d+) traj \((\d+)%\), ([\d.]+) traj/s, ETA (\d+:\d\d:\d\d)$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(out: io.StringIO) -> list[str]:
    text = out.getvalue()
    assert "\r" not in text
    return text.splitlines()


def test_a_line_every_tenth_of_the_total_with_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(total=60, desc="build", unit="traj", stream=out, clock=clock)
    for _ in range(60):
        clock.now += 0.5  # 2 trajectories per second
        bar.update(1)
    bar.close()
    lines = _lines(out)
    assert len(lines) == 10  # 6/60, 12/60, ..., 54/60, then the closing line
    first = LINE.match(lines[0])
    assert first is not None, lines[0]
    assert first.groups() == ("6", "60", "10", "2", "0:00:27")  # 54 left at 2/s
    assert [int(LINE.match(line).group(1)) for line in lines[:9]] == list(range(6, 60, 6))
    assert lines[-1] == "build: 60/60 traj (100%) in 0:00:30, 2 traj/s"


def test_a_line_after_thirty_seconds_without_a_tenth_done():
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(total=1000, desc="build", unit="traj", stream=out, clock=clock)
    clock.now += LINE_SECONDS - 1
    bar.update(1)
    assert _lines(out) == []  # neither 10 % nor 30 s yet
    clock.now += 1
    bar.update(1)
    (line,) = _lines(out)
    assert line.startswith("build: 2/1000 traj (0%), 15 s/traj, ETA 4:09:30")
    clock.now += 10
    bar.update(1)
    assert len(_lines(out)) == 1  # the 30 s restart from the last line


def test_a_resumed_loop_counts_its_rate_from_where_it_started_and_says_where_it_stopped():
    clock, out = FakeClock(), io.StringIO()
    with (
        pytest.raises(KeyboardInterrupt),
        LineProgress(total=100, desc="build", unit="traj", initial=35, stream=out, clock=clock) as bar,
    ):
        clock.now += 5
        bar.update(5)  # 40: the next tenth
        bar.set_postfix(loss="0.25")
        clock.now += 5
        bar.update(1)
        raise KeyboardInterrupt
    lines = _lines(out)
    assert lines[0] == "build: 40/100 traj (40%), 1 traj/s, ETA 0:01:00"
    assert lines[1] == "build: 41/100 traj (41%), 1.67 s/traj, ETA 0:01:38, loss=0.25 -- stopped after 0:00:10"


def test_switched_off_it_writes_nothing_and_a_bad_total_is_refused():
    out = io.StringIO()
    with progress(total=10, desc="x", enabled=False, stream=out) as bar:
        bar.update(10)
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match="total = -1 is invalid"):
        progress(total=-1, desc="x")
    with pytest.raises(ValueError, match=r"total = 2\.5 is invalid"):
        progress(total=2.5, desc="x", stream=out)
    for whole in (np.int64(3), 3.0):  # counts from NumPy or float arithmetic, as simulate() may pass them
        with progress(total=whole, desc="x", stream=out) as bar:
            bar.update(3)


def test_a_terminal_gets_a_tqdm_bar_and_a_file_gets_lines(tmp_path):
    from tqdm.auto import tqdm

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    with progress(total=3, desc="sim", unit="step", stream=terminal) as bar:
        assert isinstance(bar, tqdm)
        bar.update(3)
    assert "\r" in terminal.getvalue() and "3/3" in terminal.getvalue()
    with (tmp_path / "log.txt").open("w") as log, progress(total=3, desc="sim", unit="step", stream=log) as bar:
        assert isinstance(bar, LineProgress)
        bar.update(3)
    assert (tmp_path / "log.txt").read_text().splitlines()[-1].startswith("sim: 3/3 step (100%) in ")
