"""A process killed (SIGKILL) at a random moment while it saves checkpoints leaves the last complete one loadable.

The saver (``checkpoint_saver.py``) writes checkpoint ``i`` with every weight equal to ``i`` and prints ``i``
once the save has returned. The test reads its lines to know which saves completed, then kills it at a random
point; only where the kill lands depends on the random delay, never what is asserted.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from physml.models import load_checkpoint

SAVER = Path(__file__).with_name("checkpoint_saver.py")


def run_and_kill(path: Path, first: int, rng: random.Random) -> list[int]:
    """Run the saver from counter ``first``; SIGKILL it after 2-4 completed saves plus a random delay.

    Returns the counters it printed, each a save that had returned before the kill.
    """
    saver = subprocess.Popen(
        [sys.executable, str(SAVER), str(path), str(first)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = [saver.stdout.readline()]
        tic = time.perf_counter()
        lines.append(saver.stdout.readline())
        one_save = time.perf_counter() - tic
        lines += [saver.stdout.readline() for _ in range(rng.randrange(3))]
        time.sleep(rng.uniform(0.0, 1.5 * one_save))  # lands anywhere in the next save, or between two
        saver.send_signal(signal.SIGKILL)
    finally:
        saver.kill()
        rest, errors = saver.communicate()
    assert saver.returncode == -signal.SIGKILL, errors[-2000:]
    assert all(lines), f"the saver stopped by itself: {errors[-2000:]}"
    return [int(line) for line in [*lines, *rest.splitlines()]]


def kill_repeatedly(path: Path, kills: int, seed: int) -> int:
    """Kill the saver ``kills`` times; after each kill the checkpoint must load and be the last save or the next.

    Returns how many kills landed inside a save (they left the temporary file behind).
    """
    rng, first, inside = random.Random(seed), 1, 0
    for _ in range(kills):
        printed = run_and_kill(path, first, rng)
        assert printed == list(range(first, printed[-1] + 1))
        inside += path.with_name(f".{path.name}.partial").exists()
        model, extra = load_checkpoint(path)  # never raises: the file is always a whole checkpoint
        # The last printed save is on disk, or the next one if the kill fell between its rename and its print.
        assert extra["counter"] in (printed[-1], printed[-1] + 1)
        for name, weight in model.state_dict().items():  # one save's weights, never a mix of two
            assert torch.all(weight == extra["counter"]), name
        first = extra["counter"] + 1  # the next saver writes over the temporary file a kill may have left
    return inside


def test_three_kills_during_checkpoint_saves_leave_the_previous_checkpoint(tmp_path):
    kill_repeatedly(tmp_path / "last.pt", kills=3, seed=0)


@pytest.mark.slow
def test_twenty_kills_during_checkpoint_saves_leave_the_previous_checkpoint(tmp_path):
    inside = kill_repeatedly(tmp_path / "last.pt", kills=20, seed=1)
    print(f"20 kills, {inside} inside a save (temporary file left behind), every checkpoint loaded")
