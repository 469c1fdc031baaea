"""Shared pieces of the fuzz tests: hypothesis profiles, hostile values, HDF5 object lists, the CLI in process."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Examples the same on every run (no flaky suite), no example database written into the checkout.
FUZZ = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: ``-m slow``: many more examples, drawn afresh each run.
FUZZ_SLOW = settings(FUZZ, max_examples=400, derandomize=False)

_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40)  # HDF5-storable


def numbers():
    """Integers and floats at and beyond every sensible range: 0, negatives, huge, NaN, ±inf."""
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([0, -1, 1, 2**31, 10**18, 0.0, -0.0, 1e-300, 1e300, float("nan"), float("inf"), -float("inf")]),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def values():
    """What a careless or hostile writer might put where physml expects something else."""
    arrays = st.tuples(
        st.sampled_from(["int8", "int64", "float32", "float64", "bool"]),
        st.lists(st.integers(0, 5), min_size=0, max_size=3),
    ).map(lambda t: np.zeros(t[1], dtype=t[0]))
    return st.one_of(
        numbers(),
        st.booleans(),
        _TEXT,
        st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"")),
        st.binary(min_size=1, max_size=40).map(np.void),  # opaque bytes
        st.lists(_TEXT, min_size=0, max_size=4).map(lambda v: np.array(v, dtype=h5py.string_dtype())),
        arrays,
    )


def hdf5_objects(path: Path) -> list[tuple[str, str | None]]:
    """Every group and dataset (``(name, None)``) and every attribute (``(name, attribute)``) of a file."""
    found: list[tuple[str, str | None]] = []
    with h5py.File(path, "r") as f:
        found += [("/", a) for a in f.attrs]

        def visit(name: str, obj) -> None:
            found.append((name, None))
            found.extend((name, a) for a in obj.attrs)

        f.visititems(visit)
    return found


def run_cli(argv: Sequence[str]) -> tuple[int, str]:
    """``physml ARGV`` in this process: ``(exit status, what it wrote to stderr)``; any traceback propagates."""
    from physml.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return int(code or 0), err.getvalue()
