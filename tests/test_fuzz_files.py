"""Corrupted data files: truncated, bit-flipped and wrong-schema HDF5 against every reader.

Each reader (``read_info``, ``validate``, ``open_dataset`` and loading its values, ``WindowDataset`` and its
samples, ``physml dataset info/validate``) either works or fails with a :class:`DataFileError` naming the
file (the CLI: exit status 1 or 2 and a one-line message); never another exception, never a change to the
file or its folder. Examples are derandomised (the same every run); ``-m slow`` tries many more.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from fuzzing import FUZZ, FUZZ_SLOW, hdf5_objects, run_cli, values
from hypothesis import given, settings
from hypothesis import strategies as st

from physml.datasets import DataFileError, WindowDataset, open_dataset, read_info, validate


def _read_everything(path: Path) -> None:
    """Every reader on ``path``; each may raise only DataFileError naming it."""
    readers = {
        "read_info": lambda: read_info(path),
        "validate": lambda: validate(path),
        "open_dataset": lambda: _load(path),
        "WindowDataset": lambda: _samples(path),
    }
    for name, read in readers.items():
        try:
            read()
        except DataFileError as exc:
            assert str(path) in str(exc), (name, str(exc))
    for action in ("info", "validate"):
        code, err = run_cli(["dataset", action, str(path)])
        assert code in (0, 1, 2), (action, code, err)
        if code == 2:
            assert err.startswith("physml: error: ") and err.count("\n") == 1, err


def _load(path: Path) -> None:
    with open_dataset(path) as ds:
        ds.load()


def _samples(path: Path) -> None:
    for normalize in (None, "rms"):
        windows = WindowDataset(path, n_input=1, n_output=1, normalize=normalize)
        for i in {0, len(windows) // 2, len(windows) - 1} if len(windows) else ():
            windows[i]


def _corrupt_and_read(source: Path, folder: Path, damage) -> None:
    """Damage a copy of ``source``, read it with everything, check that nothing changed.

    ``damage``: ``bytes -> bytes``, or ``(object, attribute or None, new value or None to delete)``.
    """
    folder.mkdir(exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    path = folder / "damaged.h5"
    shutil.copy(source, path)
    if isinstance(damage, tuple):  # (object path, attribute or None, new value or None to delete)
        _rewrite(path, *damage)
    else:
        path.write_bytes(damage(path.read_bytes()))
    before = path.read_bytes()
    _read_everything(path)
    assert path.read_bytes() == before, "a reader changed the file"
    assert sorted(p.name for p in folder.iterdir()) == ["damaged.h5"], "a reader wrote beside the file"


def _rewrite(path: Path, name: str, attribute: str | None, value) -> None:
    with h5py.File(path, "r+") as f:
        owner = f[name]
        if attribute is not None:
            if value is None:
                del owner.attrs[attribute]
            else:
                owner.attrs[attribute] = value
            return
        parent, leaf = owner.parent, name.rsplit("/", 1)[-1]
        del parent[leaf]
        if value is not None:
            parent[leaf] = value


@pytest.fixture(scope="module")
def source(tiny_dataset) -> Path:
    return tiny_dataset


def truncations(size: int):
    return st.integers(0, size - 1).map(lambda n: lambda data: data[:n])


def bit_flips(size: int):
    flips = st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 7)), min_size=1, max_size=64)

    def apply(pairs):
        def damage(data: bytes) -> bytes:
            out = bytearray(data)
            for offset, bit in pairs:
                out[offset] ^= 1 << bit
            return bytes(out)

        return damage

    return flips.map(apply)


def schema_changes(path: Path):
    """(object, attribute or None, new value or None = delete) over every group, dataset and attribute."""
    objects = hdf5_objects(path)
    return st.tuples(st.sampled_from(objects), st.one_of(st.none(), values())).map(lambda t: (*t[0], t[1]))


def _fuzz(kind: str, slow: bool):
    profile = FUZZ_SLOW if slow else FUZZ

    @settings(profile)
    @given(data=st.data())
    def check(source, tmp_path_factory, data):
        size = source.stat().st_size
        strategy = {"truncate": truncations(size), "flip": bit_flips(size), "schema": schema_changes(source)}[kind]
        _corrupt_and_read(source, tmp_path_factory.getbasetemp() / f"fuzz-{kind}", data.draw(strategy))

    return check


test_truncated_files_give_clear_errors = _fuzz("truncate", slow=False)
test_bit_flipped_files_give_clear_errors = _fuzz("flip", slow=False)
test_wrong_schema_files_give_clear_errors = _fuzz("schema", slow=False)
test_truncated_files_many = pytest.mark.slow(_fuzz("truncate", slow=True))
test_bit_flipped_files_many = pytest.mark.slow(_fuzz("flip", slow=True))
test_wrong_schema_files_many = pytest.mark.slow(_fuzz("schema", slow=True))


def test_not_hdf5_empty_and_directory_inputs(tmp_path):
    cases = {
        "empty.h5": b"",
        "text.h5": "ψ not HDF5 at all\n".encode(),
        "random.h5": np.random.default_rng(0).bytes(4096),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        _read_everything(tmp_path / name)
    folder = tmp_path / "folder.h5"
    folder.mkdir()
    _read_everything(folder)
    _read_everything(tmp_path / "missing.h5")


def test_damage_found_only_when_values_are_read_names_the_file(tiny_dataset, tmp_path):
    """The xarray view is lazy: a file cut short after it was opened fails at ``load()``, naming file and field."""
    path = tmp_path / "cut.h5"
    shutil.copy(tiny_dataset, path)
    with open_dataset(path) as ds:
        path.write_bytes(tiny_dataset.read_bytes()[: path.stat().st_size // 2])
        with pytest.raises(DataFileError, match=re.escape(str(path)) + r".*t0_fields/psi_(real|imag)"):
            ds.psi.load()
