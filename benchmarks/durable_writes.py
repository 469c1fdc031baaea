"""What durable writes cost: fsync before and after each rename, against the rename alone.

Every finished file (checkpoint, dataset store) is flushed to the disk before
it is renamed into place, and the directory after (``physml.durable``). The
reference is the same code with ``os.fsync`` replaced by a no-op, i.e. the
rename-only scheme that protects against a killed process but not against a
power loss. Measured, in one run, with the variants timed in turn:

  * ``save_checkpoint`` of an FNO, small (0.5 MB) and larger (~17 MB);
  * a small store written in one go (``physml simulate``'s way: create, fill,
    finalise under a temporary name, rename);
  * a whole ``build_dataset`` of a shipped configuration (store creation,
    simulation, writing, finalisation), in this process.

fsync's cost is the disk's: run it in a directory on the disk the runs write
to (``--dir``, default the current directory; a tmpfs makes fsync free).

    python benchmarks/durable_writes.py [--dir DIR] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _report import best_of, machine, markdown_table

from physml.datasets.build import build_dataset
from physml.datasets.config import load_config
from physml.datasets.families.base import FieldSpec, Layout, Trajectory
from physml.datasets.finalize import finalize
from physml.datasets.store import StoreWriter, create_store
from physml.durable import atomic_path
from physml.models import build_model, save_checkpoint


@contextmanager
def no_fsync() -> Iterator[None]:
    """The rename-only reference: ``os.fsync`` does nothing inside the block."""
    fsync = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = fsync


def one_shot_store(path: Path, u: np.ndarray) -> None:
    """``u`` ``(n_traj, n_t, n_x)`` as a finished store, written under a temporary name and renamed."""
    x = np.linspace(0.0, 1.0, u.shape[2], endpoint=False)
    with atomic_path(path, tag="writing") as tmp:
        create_store(
            tmp, dataset_name="bench", family="bench", layout=Layout({"x": x}, (FieldSpec("u"),), ()),
            times=np.arange(float(u.shape[1])), parameters={}, table=[{}] * len(u), shared={},
            splits=["train"] * len(u), checks={}, config={},
        )  # fmt: skip
        with StoreWriter(tmp) as writer:
            for i, series in enumerate(u):
                writer.write(i, Trajectory(fields={"u": series}, scalars={}))
        finalize(tmp)


def variants(run: Callable[[], object]) -> dict[str, Callable[[], object]]:
    def reference() -> None:
        with no_fsync():
            run()

    return {"durable": run, "rename only": reference}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("."), help="where to write (the disk to measure)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="durable-bench-") as folder:
        out = Path(folder)
        cases: list[tuple[str, Callable[[], object], int, int]] = []
        for label, width, modes in (("checkpoint, FNO 0.5 MB", 32, 16), ("checkpoint, FNO 17 MB", 128, 32)):
            model = build_model("fno", {"in_channels": 2, "out_channels": 2, "modes": [modes], "width": width})
            cases.append((label, lambda model=model: save_checkpoint(out / "last.pt", model, step=1), 10, args.repeats))
        u = np.random.default_rng(0).normal(size=(16, 20, 256))  # 16 trajectories x 20 saves x 256 points: 0.6 MB
        cases.append(("one-shot store, 0.6 MB", lambda: one_shot_store(out / "run.h5", u), 5, args.repeats))
        config = load_config("schrodinger-1d").with_trajectories(8)
        cases.append((
            "build_dataset, schrodinger-1d, 8 trajectories", lambda: build_dataset(
                config, out / "data.h5", workers=1, overwrite=True, progress=False
            ), 1, max(2, args.repeats // 2),
        ))  # fmt: skip
        for label, run, n_calls, repeats in cases:
            best = best_of(variants(run), n_calls, repeats)
            durable, reference = best["durable"], best["rename only"]
            rows.append([label, f"{1e3 * durable:.2f} ms", f"{1e3 * reference:.2f} ms",
                         f"{1e3 * (durable - reference):+.2f} ms", f"**{durable / reference:.2f}**"])  # fmt: skip
    print(markdown_table(["write", "durable", "rename only", "difference", "durable / rename only"], rows))


if __name__ == "__main__":
    main()
