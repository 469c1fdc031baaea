"""Checking a file: its layout, every written trajectory's data and verification figures."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physml.datasets.schema import DAMAGE, DataFileError, StoreInfo, open_h5, read_info

__all__ = ["ValidationReport", "validate"]


@dataclass
class ValidationReport:
    """Problems (the file fails validation) and notes (worth knowing, not failures)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(
    path: str | os.PathLike[str], *, check_data: bool = True, require_complete: bool = False
) -> ValidationReport:
    """Check the schema, every completed trajectory's verification figures and (optionally) that its data is finite.

    An unfinished build validates (its completed trajectories are whole) with a
    note saying how far it got, unless ``require_complete``.
    """
    path = Path(path)
    info = read_info(path)  # raises DataFileError for unreadable, foreign or too-new files
    report = ValidationReport(path)
    if require_complete and info.status != "complete":
        report.problems.append(f"unfinished build: {info.n_completed}/{info.n_trajectories} trajectories written")
    try:
        _validate(path, info, report, check_data=check_data)
    except DataFileError:
        raise
    except DAMAGE as exc:
        report.problems.append(f"the file's structure cannot be read: {type(exc).__name__}: {exc}")
    return report


def _validate(path: Path, info: StoreInfo, report: ValidationReport, *, check_data: bool) -> None:
    with open_h5(path) as f:
        n, n_t, shape = info.n_trajectories, info.n_times, info.shape
        for group, names in info.field_names.items():
            rank = int(group[1])
            for name in names:
                ds = f[group][name]
                expected = (n, *((n_t,) if info.time_varying[name] else ()), *shape, *(len(shape),) * rank)
                if ds.attrs.get("sample_varying", True) and ds.shape != expected:
                    report.problems.append(f"{group}/{name} has shape {ds.shape}; expected {expected}")
        for name in info.scalar_names:
            if name not in f["scalars"]:
                report.problems.append(f"scalars/{name} is listed in field_names but missing")
        if not info.is_physml:
            report.notes.append("plain Well file (no physml/ group): only the layout was checked")
            return
        if info.status == "building":
            report.notes.append(
                f"unfinished build: {info.n_completed}/{n} trajectories written; "
                "run the same `physml dataset build` command again to resume"
            )
        elif not info.statistics:
            report.problems.append("complete file without normalisation statistics (physml/statistics)")
        done = np.flatnonzero(info.completed)
        meta = f["physml"]
        for name, threshold in info.checks.items():
            values = meta["verification"][name][:]
            bad = [int(i) for i in done if not (values[i] <= threshold)]
            if bad:
                worst = float(np.nanmax(values[bad])) if np.isfinite(values[bad]).any() else math.nan
                report.problems.append(
                    f"{len(bad)} trajectories fail {name} <= {threshold:g} (worst {worst:.3g}; "
                    f"trajectories {_ranges(bad)})"
                )
        if check_data:
            for group, names in info.field_names.items():
                for name in names:
                    ds = f[group][name]
                    bad, unreadable = [], []
                    for i in done:
                        try:
                            if not np.all(np.isfinite(ds[i])):
                                bad.append(int(i))
                        except DAMAGE:  # e.g. a corrupted compressed chunk
                            unreadable.append(int(i))
                    if bad:
                        report.problems.append(f"{group}/{name} has non-finite values in trajectories {_ranges(bad)}")
                    if unreadable:
                        report.problems.append(f"{group}/{name} cannot be read in trajectories {_ranges(unreadable)}")


def _ranges(indices: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in indices[:limit])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")
