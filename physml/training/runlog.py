"""Rank 0's record of a training run: ``log.csv`` and ``val.csv``, TensorBoard scalars and the progress bar."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from types import TracebackType
from typing import TextIO

from physml.durable import atomic_path
from physml.progress import progress as progress_display

__all__ = ["RunLog"]


class RunLog:
    """Rank 0's outputs: ``log.csv`` (a row per step), ``val.csv`` (a row per validation; a joint run's
    ``datasets`` each get a column), TensorBoard scalars and the progress bar; on the other ranks, nothing.

    Opening it keeps only the log rows up to ``step`` (the checkpoint resumed
    from) and hides TensorBoard events past it, so a resumed curve continues
    without duplicated steps.
    """

    def __init__(
        self, out: Path, columns: list[str], *, step: int, total: int, main: bool, progress: bool,
        datasets: list[str] | None = None,
    ) -> None:  # fmt: skip
        self.main = main
        self.bar = progress_display(total=total, initial=step, enabled=main and progress, desc="training", unit="step")
        if not main:
            return
        self.handle, self.csv = _table(out / "log.csv", columns, step)
        val_columns = ["step", "loss", *(f"loss_{name}" for name in datasets or ())]
        self.val_handle, self.val_csv = _table(out / "val.csv", val_columns, step)
        from torch.utils.tensorboard import SummaryWriter  # imported here: it is slow, and only rank 0 needs it

        # Steps are logged from 1 after the update, so the checkpoint's own step is kept and later ones purged.
        self.board = SummaryWriter(out / "tensorboard", purge_step=step + 1)

    def step(self, row: dict[str, float]) -> None:
        """One training step's row: ``step``, ``epoch``, ``lr``, ``loss`` and ``loss_<term>`` (and ``dataset``, the
        batch's, in a joint run)."""
        self.bar.update(1)
        if not self.main:
            return
        self.bar.set_postfix(loss=f"{row['loss']:.3g}")
        self.csv.writerow(row)
        for name, value in row.items():
            if name not in ("step", "epoch", "dataset"):
                self.board.add_scalar(f"train/{name}", value, row["step"])
        if "dataset" in row:  # a joint run: each dataset's own curve too
            self.board.add_scalar(f"train/loss/{row['dataset']}", row["loss"], row["step"])

    def validation(self, step: int, loss: float, datasets: dict[str, float] | None = None) -> None:
        """A validation loss (and a joint run's, per dataset): a row of ``val.csv``, TensorBoard scalars."""
        if not self.main:
            return
        self.val_csv.writerow({"step": step, "loss": loss, **{f"loss_{k}": v for k, v in (datasets or {}).items()}})
        self.board.add_scalar("val/loss", loss, step)
        for name, value in (datasets or {}).items():
            self.board.add_scalar(f"val/loss/{name}", value, step)

    def flush(self) -> None:
        """Write everything so far to the disk: called before each checkpoint, which the log must not lag behind."""
        if self.main:
            for handle in (self.handle, self.val_handle):
                handle.flush()
                os.fsync(handle.fileno())  # a power loss may keep the checkpoint: then the rows before it too
            self.board.flush()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.bar.close()
        if self.main:
            self.handle.close()
            self.val_handle.close()
            self.board.close()


def _table(path: Path, columns: list[str], step: int) -> tuple[TextIO, csv.DictWriter]:
    """``path`` kept up to ``step`` (the rows after the checkpoint resumed from are dropped), open to append."""
    rows = []
    if path.exists():
        with path.open() as f:
            rows = [row for row in csv.DictReader(f) if int(row["step"]) <= step]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:  # a kill never loses the rows logged
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    handle = path.open("a", newline="")
    return handle, csv.DictWriter(handle, fieldnames=columns)
