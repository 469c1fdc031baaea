"""Interrupted builds: SIGKILL at any moment, Ctrl-C (also inside a destructor), resume to identical data.

Tests that wait on a build in another process synchronise on its progress lines (a build writing to a
file prints one every tenth of the build), never on the clock; where a kill lands is the only thing left
to chance, and nothing asserted depends on it.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import assert_same_fields

from physml.datasets import BuildConfig, build_dataset, open_dataset, read_info, validate

#: Upper bound on how long a build may take to reach its first progress line or to stop: a hang guard
#: that fails the test instead of blocking the suite, never a measurement.
HANG_GUARD = 300


def _kill_setup(config: dict, folder: Path, *, n_trajectories: int, workers: int) -> tuple[list[str], Path]:
    """A 2D build slow enough to be killed mid-way (``config`` is updated in place), and its command."""
    config.update(
        n_trajectories=n_trajectories,
        fixed={"ndim": 2, "n": [96, 96], "length": [24.0, 24.0], "dt": 0.005},
        time={"t_final": 1.0, "n_saves": 5},
        cases=[c for c in config["cases"] if c["fixed"]["potential_kind"] in ("harmonic", "gaussian-barrier")],
    )
    path = folder / "kill.yaml"
    path.write_text(yaml.safe_dump(config))
    out = folder / "killed.h5"
    command = [sys.executable, "-m", "physml", "dataset", "build", str(path), "--out", str(out)]
    return [*command, "--workers", str(workers)], out


def _progress(stderr: Path) -> int:
    """Trajectories written, from the build's plain progress lines (``building NAME: 6/60 traj (10%), ...``: one
    every tenth of the build, its output being a file)."""
    counts = re.findall(r": (\d+)/\d+ traj ", stderr.read_text(errors="replace"))
    return int(counts[-1]) if counts else 0


def _wait_for_progress(stderr: Path, process: subprocess.Popen, count: int) -> int:
    """Wait until the build has reported ``count`` trajectories written (its first progress line); return it."""
    deadline = time.monotonic() + HANG_GUARD
    while _progress(stderr) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no progress line for {count} trajectories: {stderr.read_text()[-2000:]}")
        time.sleep(0.02)
    return _progress(stderr)


def test_killed_build_leaves_a_valid_file_and_resumes_to_identical_data(tmp_path, tiny_config):
    # Enough work (2D, 60 trajectories) that the kill lands mid-build.
    command, out = _kill_setup(tiny_config, tmp_path, n_trajectories=60, workers=1)
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        process = subprocess.Popen(command, stderr=err, stdout=subprocess.DEVNULL)
        _wait_for_progress(stderr, process, 6)  # the first line
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    info = read_info(out)  # opens, readable header
    assert info.status == "building"
    assert 6 <= info.n_completed < 60, "the kill should land mid-build"
    report = validate(out)
    assert report.ok, report.problems
    assert "unfinished build" in report.notes[0]

    reference = tmp_path / "reference.h5"
    build_dataset(BuildConfig.from_dict(tiny_config), reference, workers=1, progress=False)
    done = np.flatnonzero(info.completed)
    assert_same_fields(out, reference, done)  # what was marked complete is whole
    view = open_dataset(out)  # trajectories not yet written read as NaN in the xarray view
    missing = int(np.flatnonzero(~info.completed)[0])
    assert np.isnan(view.psi.isel(trajectory=missing).values).all()
    assert np.isfinite(view.psi.isel(trajectory=int(done[0])).values).all()
    view.close()  # an open view holds a read lock; the build could not resume under it

    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{60 - info.n_completed} built, {info.n_completed} resumed" in resumed.stdout
    assert read_info(out).status == "complete"
    assert_same_fields(out, reference)


# Timed against the clock: never beside the suite's other multi-process jobs (torchrun, the demo), whose
# start-up on a 2-core machine can hold this build's shutdown past its limit.
def test_ctrl_c_exits_130_keeps_what_was_written_and_prints_no_traceback(tmp_path, tiny_config):
    """The command as a user runs it: SIGINT to a two-process build after its first progress line."""
    command, out = _kill_setup(tiny_config, tmp_path, n_trajectories=200, workers=2)
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        process = subprocess.Popen(command, stderr=err, stdout=subprocess.DEVNULL)
        seen = _wait_for_progress(stderr, process, 20)  # the first line
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(stderr.read_text()[-3000:]) from None
    text = stderr.read_text()
    assert process.returncode == 130, text[-3000:]
    assert "interrupted; what was written is kept" in text
    assert "Traceback" not in text  # neither ours nor loky's manager thread
    assert "\r" not in text  # a log file gets plain lines, not a bar's frames
    info = read_info(out)
    assert info.status == "building" and seen <= info.n_completed < 200
    assert validate(out).ok
    assert not out.with_name(f".{out.name}.spool").exists()


def test_ctrl_c_stops_a_parallel_build_before_its_next_batch(tmp_path, tiny_config, monkeypatch):
    """Promptly, counted in batches: SIGINT raised while this process hands batch k of a two-process build
    to the file lets that write finish and stops the build before the next (where it lands is chosen, not
    timed): exactly k batches written."""
    from physml.datasets import build as build_module

    written: list[int] = []
    unspool = build_module.unspool

    def unspool_then_interrupt(results):
        results = unspool(results)
        written.append(len(results))
        if len(written) == 3:
            signal.raise_signal(signal.SIGINT)  # as a Ctrl-C would, between receiving a batch and writing it
        return results

    monkeypatch.setattr(build_module, "unspool", unspool_then_interrupt)
    tiny_config["n_trajectories"] = 40
    out = tmp_path / "interrupted.h5"
    with pytest.raises(KeyboardInterrupt):
        build_dataset(BuildConfig.from_dict(tiny_config), out, workers=2, progress=False)
    info = read_info(out)
    assert info.status == "building" and info.n_completed == sum(written[:3])
    assert validate(out).ok
    assert not out.with_name(f".{out.name}.spool").exists()  # the workers' spool is cleared
    assert not out.with_name(f".{out.name}.lock").exists()  # and the build's lock released


def test_loky_still_queues_work_ids_where_an_interrupted_build_empties_them():
    """An interrupted build empties loky's private queue of submitted work ids before killing its workers
    (``parallel._kill``), or loky's manager thread prints a ``KeyError`` traceback. Pinned here so that a
    joblib upgrade that renames it fails this test, not a user's Ctrl-C."""
    from joblib.externals import loky

    pool = loky.ProcessPoolExecutor(max_workers=1)
    try:
        assert isinstance(pool._work_ids, queue.Queue)
    finally:
        pool.shutdown(wait=True)


def test_a_ctrl_c_inside_a_destructor_is_neither_lost_nor_printed(tmp_path, tiny_config, monkeypatch):
    """A KeyboardInterrupt raised inside a destructor is dropped by CPython ("Exception ignored in ...",
    with a traceback) and the build would run on to report success; the build's handler raises nothing
    there, and the build stops at its next batch."""
    from physml.datasets import parallel

    class RaisesSigintWhenCollected:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # the handler runs here, inside __del__: the exception is dropped

    calls = []
    simulate = parallel.simulate_batch

    def simulate_batch(family, batch, *args):
        calls.append(len(batch))
        if len(calls) == 3:
            RaisesSigintWhenCollected()  # collected at once
        return simulate(family, batch, *args)

    swallowed = []
    monkeypatch.setattr(parallel, "simulate_batch", simulate_batch)
    monkeypatch.setattr(sys, "unraisablehook", lambda report: swallowed.append(report.exc_type))
    out = tmp_path / "swallowed.h5"
    with pytest.raises(KeyboardInterrupt):
        build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)
    assert swallowed == []  # nothing raised inside __del__: nothing dropped, no traceback printed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    info = read_info(out)
    assert info.status == "building" and info.n_completed == sum(calls[:2])  # the third batch is not written
    assert validate(out).ok


def test_the_first_ctrl_c_waits_for_a_safe_point_and_the_second_stops_at_once():
    from physml.interrupts import interruptible

    with interruptible() as check:
        check()  # nothing yet
        signal.raise_signal(signal.SIGINT)  # held
        with pytest.raises(KeyboardInterrupt):
            check()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)  # the second: at once
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.slow
def test_repeated_kills_at_random_moments_never_corrupt_the_file(tmp_path, tiny_config):
    """Full version of the kill test: 12 SIGKILLs at random moments, including creation and finalisation."""
    command, out = _kill_setup(tiny_config, tmp_path, n_trajectories=150, workers=2)
    rng = np.random.default_rng(0)
    kills: list[int] = []
    for _ in range(12):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        if out.exists():
            info = read_info(out)
            assert validate(out).ok
            kills.append(info.n_completed)
            if info.status == "complete":
                break
    assert len(kills) >= 6 and kills == sorted(kills), kills  # progress is kept across kills
    subprocess.run([*command, "--resume"], check=True, capture_output=True)
    reference = tmp_path / "reference.h5"
    build_dataset(BuildConfig.from_dict(tiny_config), reference, workers=1, progress=False)
    assert_same_fields(out, reference)
    assert read_info(out).statistics == read_info(reference).statistics
