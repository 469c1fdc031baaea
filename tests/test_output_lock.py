"""One build per output file: a second is refused at once and touches nothing; a killed build blocks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from physml.cli import main
from physml.datasets import BuildConfig, build_dataset, read_info
from physml.locks import exclusive_output, lock_path

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fcntl: builds go unlocked")

#: Holds the lock of argv[1] (as a build does), says so, then waits to be killed.
HOLDER = """
import sys
from physml.locks import exclusive_output
with exclusive_output(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_second_build_of_the_same_file_is_refused_and_touches_nothing(tmp_path, tiny_config):
    out = tmp_path / "data.h5"
    with exclusive_output(out):  # another build holds it (flock: even in this process, a second open is refused)
        with pytest.raises(
            ValueError, match=rf"{out} is being built by process {os.getpid()} \(it holds .*\.data\.h5\.lock\)"
        ):
            build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)
        assert not out.exists()
    build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)  # released: builds
    before, stamp = out.read_bytes(), out.stat().st_mtime_ns
    with exclusive_output(out):
        for options in ({}, {"overwrite": True}, {"resume": True}):
            with pytest.raises(ValueError, match="is being built by process"):
                build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False, **options)
    assert out.read_bytes() == before and out.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.h5"]  # the lock file went with the lock


def test_the_cli_refuses_with_a_one_line_error(tmp_path, tiny_config, capsys):
    import yaml

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config))
    out = tmp_path / "data.h5"
    with exclusive_output(out), pytest.raises(SystemExit) as stop:
        main(["dataset", "build", str(config), "--out", str(out), "--workers", "1", "--no-progress"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("physml: error: ") and "is being built by process" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_killed_build_leaves_a_lock_file_that_blocks_nothing(tmp_path, tiny_config):
    out = tmp_path / "data.h5"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"  # synchronised on its word, not on time
        with pytest.raises(ValueError, match=rf"being built by process {holder.pid}\b"):
            build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    assert holder.returncode == -signal.SIGKILL
    assert lock_path(out).read_text() == f"{holder.pid}\n"  # the stale file a killed build leaves behind
    report = build_dataset(BuildConfig.from_dict(tiny_config), out, workers=1, progress=False)
    assert report.n_built == 12 and read_info(out).status == "complete" and not lock_path(out).exists()


def test_the_lock_is_released_and_removed_when_the_block_raises(tmp_path):
    out = tmp_path / "data.h5"
    with pytest.raises(RuntimeError), exclusive_output(out):
        assert lock_path(out).read_text() == f"{os.getpid()}\n"
        raise RuntimeError("simulated")
    assert not lock_path(out).exists()
    with exclusive_output(out):  # free again
        pass
    lock_path(out).write_text("not a pid")  # a left-over file, held by no one
    with exclusive_output(out):
        assert lock_path(out).read_text() == f"{os.getpid()}\n"
