"""Statistics for normalisation, combined from per-trajectory partial moments.

Each written trajectory stores, per field, ``(count, mean, M2, min, max)`` of its
values and of its differences between saves; the file's statistics are combined
from those rows with the pairwise formulas of Chan, Golub and LeVeque (exact,
and stable where a single pass of sums would lose precision).
"""

from __future__ import annotations

import math

import h5py
import numpy as np

__all__ = ["N_MOMENTS", "STAT_COLUMNS", "field_moments", "statistics_table"]

#: Columns of ``physml/statistics`` (one row per stored field; ``*_delta`` of differences between saves).
STAT_COLUMNS = ("mean", "std", "rms", "min", "max", "mean_delta", "std_delta", "rms_delta", "count")
N_MOMENTS = 5  # count, mean, sum of squared deviations, min, max


def _moments(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.array([0.0, np.nan, np.nan, np.nan, np.nan])
    mean = values.mean()
    return np.array([values.size, mean, np.sum((values - mean) ** 2), values.min(), values.max()])


def field_moments(values: np.ndarray, *, time_varying: bool) -> np.ndarray:
    """Partial moments of one trajectory's field: of its values and of its differences between saves."""
    delta = _moments(np.diff(values, axis=0)) if time_varying and len(values) > 1 else np.full(N_MOMENTS, np.nan)
    return np.concatenate([_moments(values), delta])


def _combine(partials: np.ndarray) -> dict[str, float]:
    """Mean, std, rms, min, max from per-trajectory ``(count, mean, m2, min, max)`` rows (Chan et al.)."""
    partials = partials[np.nan_to_num(partials[:, 0]) > 0]
    if partials.size == 0:
        return {"mean": np.nan, "std": np.nan, "rms": np.nan, "min": np.nan, "max": np.nan, "count": 0.0}
    n, mean, m2 = partials[:, 0], partials[:, 1], partials[:, 2]
    total = n.sum()
    grand = float(np.sum(n * mean) / total)
    var = float((m2.sum() + np.sum(n * (mean - grand) ** 2)) / total)
    return {
        "mean": grand,
        "std": math.sqrt(var),
        "rms": math.sqrt(var + grand**2),
        "min": float(partials[:, 3].min()),
        "max": float(partials[:, 4].max()),
        "count": float(total),
    }


def statistics_table(f: h5py.File, trajectories: np.ndarray) -> np.ndarray:
    """``physml/statistics`` rows combined from the moments of ``trajectories``."""
    moments = f["physml/moments"][...][trajectories]
    table = np.full((moments.shape[1], len(STAT_COLUMNS)), np.nan)
    for k in range(moments.shape[1]):
        values = _combine(moments[:, k, :N_MOMENTS])
        deltas = _combine(moments[:, k, N_MOMENTS:])
        row = {**values, **{f"{key}_delta": deltas[key] for key in ("mean", "std", "rms")}}
        table[k] = [row[c] for c in STAT_COLUMNS]
    return table
