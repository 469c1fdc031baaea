"""Rank 0's record of a training run: ``log.csv``, TensorBoard scalars and the progress bar."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from types import TracebackType

from physml.durable import atomic_path
from physml.progress import progress as progress_display

__all__ = ["RunLog"]


class RunLog:
    """Rank 0's outputs: ``log.csv``, TensorBoard scalars and the progress bar; on the other ranks, nothing.

    Opening it keeps only the log rows up to ``step`` (the checkpoint resumed
    from) and hides TensorBoard events past it, so a resumed curve continues
    without duplicated steps.
    """

    def __init__(self, out: Path, columns: list[str], *, step: int, total: int, main: bool, progress: bool) -> None:
        self.main = main
        self.bar = progress_display(total=total, initial=step, enabled=main and progress, desc="training", unit="step")
        if not main:
            return
        path, rows = out / "log.csv", []
        if path.exists():
            with path.open() as f:
                rows = [row for row in csv.DictReader(f) if int(row["step"]) <= step]
        with atomic_path(path) as tmp, tmp.open("w", newline="") as f:  # a kill never loses the rows logged
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        self.handle = path.open("a", newline="")
        self.csv = csv.DictWriter(self.handle, fieldnames=columns)
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
        """The validation loss after an epoch (and a joint run's, per dataset), as TensorBoard scalars."""
        if not self.main:
            return
        self.board.add_scalar("val/loss", loss, step)
        for name, value in (datasets or {}).items():
            self.board.add_scalar(f"val/loss/{name}", value, step)

    def flush(self) -> None:
        """Write everything so far to the disk: called before each checkpoint, which the log must not lag behind."""
        if self.main:
            self.handle.flush()
            os.fsync(self.handle.fileno())  # a power loss may keep the checkpoint: then the rows before it too
            self.board.flush()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.bar.close()
        if self.main:
            self.handle.close()
            self.board.close()
