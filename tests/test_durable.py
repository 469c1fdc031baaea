"""Durable writes: data flushed before the rename, the directory after it; a failure leaves the old file."""

from __future__ import annotations

import errno
import os
import stat

import h5py
import numpy as np
import pytest

from physml import durable
from physml.datasets import read_info
from physml.datasets.families.base import FieldSpec, Layout, Trajectory
from physml.datasets.finalize import finalize
from physml.datasets.store import StoreWriter, create_store
from physml.models import FNO, load_checkpoint, save_checkpoint
from physml.models.fno import FNOConfig


@pytest.fixture
def events(monkeypatch):
    """Every ``fsync`` and ``os.replace`` from here on, as ``("fsync", kind, inode)`` and ``("replace", src, dst)``."""
    seen = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        info = os.fstat(fd)
        seen.append(("fsync", "dir" if stat.S_ISDIR(info.st_mode) else "file", info.st_ino))
        fsync(fd)

    def spy_replace(src, dst):
        seen.append(("replace", os.fspath(src), os.fspath(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    return seen


def test_the_file_is_flushed_then_renamed_then_the_directory_flushed(tmp_path, events):
    target = tmp_path / "out.txt"
    with durable.atomic_path(target) as tmp:
        tmp.write_text("new")
        inode = os.stat(tmp).st_ino
    assert events == [
        ("fsync", "file", inode),
        ("replace", str(tmp_path / ".out.txt.partial"), str(target)),
        ("fsync", "dir", os.stat(tmp_path).st_ino),
    ]
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("failure", ["in the block", "in fsync"])
def test_a_failure_before_the_rename_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch, failure):
    target = tmp_path / "out.txt"
    target.write_text("old")
    if failure == "in fsync":

        def broken_fsync(fd):
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(RuntimeError if failure == "in the block" else OSError), durable.atomic_path(target) as tmp:
        tmp.write_text("new, half written")
        if failure == "in the block":
            raise RuntimeError("simulated")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_directories_that_cannot_be_flushed_are_skipped_and_io_errors_are_not(tmp_path, monkeypatch):
    def fsync_failing_with(code):
        def fsync(fd):
            raise OSError(code, os.strerror(code))

        return fsync

    monkeypatch.setattr(os, "fsync", fsync_failing_with(errno.EINVAL))  # e.g. a file system without directory fsync
    durable.fsync_directory(tmp_path)
    monkeypatch.setattr(os, "fsync", fsync_failing_with(errno.EIO))
    with pytest.raises(OSError, match="Input/output"):
        durable.fsync_directory(tmp_path)


def test_checkpoints_are_flushed_before_they_replace_the_previous_one(tmp_path, events):
    model = FNO(FNOConfig(in_channels=1, out_channels=1, modes=(4,), width=4, n_layers=1))
    path = save_checkpoint(tmp_path / "last.pt", model, step=1)
    kinds = [event[:2] for event in events]
    assert kinds == [("fsync", "file"), ("replace", str(tmp_path / ".last.pt.partial")), ("fsync", "dir")]
    assert events[1][2] == str(path) and load_checkpoint(path)[1] == {"step": 1}


def unfinished_store(path, compression="none"):
    """A store with its two trajectories written, not yet finalised (``complete`` = 0)."""
    x = np.linspace(0.0, 1.0, 8, endpoint=False)
    layout = Layout(axes={"x": x}, fields=(FieldSpec("u"),), scalars=())
    create_store(
        path, dataset_name="wave", family="wave", layout=layout, times=np.arange(3.0), parameters={},
        table=[{}, {}], shared={}, splits=["train", "train"], checks={}, config={}, compression=compression,
    )  # fmt: skip
    with StoreWriter(path) as writer:
        for i in range(2):
            writer.write(i, Trajectory(fields={"u": (i + 1) * np.sin(2 * np.pi * x) * np.ones((3, 1))}, scalars={}))
    return path


def test_dataset_files_are_flushed_before_every_rename(tmp_path, events):
    path = finalize(unfinished_store(tmp_path / "wave.h5", compression="gzip-4"))
    renames = [event for event in events if event[0] == "replace"]
    # The empty store is renamed into place at creation, the compressed copy over it at finalisation.
    assert [(os.path.basename(src), os.path.basename(dst)) for _, src, dst in renames] == [
        (".wave.h5.partial", "wave.h5"),
        (".wave.h5.final", "wave.h5"),
    ]
    for rename in renames:
        before, after = events[events.index(rename) - 1], events[events.index(rename) + 1]
        assert before[:2] == ("fsync", "file") and after == ("fsync", "dir", os.stat(tmp_path).st_ino)
    assert read_info(path).status == "complete"


@pytest.mark.parametrize("compression", ["none", "gzip-4"])
def test_a_store_is_not_marked_complete_unless_its_data_reached_the_disk(tmp_path, monkeypatch, compression):
    path = unfinished_store(tmp_path / "wave.h5", compression)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        finalize(path)
    monkeypatch.undo()
    assert read_info(path).status == "building" and sorted(os.listdir(tmp_path)) == ["wave.h5"]
    if compression != "none":  # the copy never replaced the file
        assert path.read_bytes() == before
    finalize(path)
    assert read_info(path).status == "complete"


def test_in_place_finalisation_flushes_the_data_before_and_after_setting_complete(tmp_path, monkeypatch):
    path = unfinished_store(tmp_path / "wave.h5")
    with h5py.File(path) as f:  # where the flag and the first statistic lie in the file (contiguous datasets)
        flag_at, stat_at = f["physml/complete"].id.get_offset(), f["physml/statistics"].id.get_offset()
    seen = []
    fsync = os.fsync

    def spy(fd):  # what the flush is about to write: the file as the kernel holds it
        seen.append((os.pread(fd, 1, flag_at)[0], np.frombuffer(os.pread(fd, 8, stat_at), "<f8")[0]))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    finalize(path)
    # First flush: the statistics written, the flag still 0; second: the flag set.
    assert len(seen) == 2 and [flag for flag, _ in seen] == [0, 1]
    assert all(np.isfinite(first_stat) for _, first_stat in seen)
    with h5py.File(path) as f:
        assert f["physml/statistics"][0, 0] == seen[0][1]
